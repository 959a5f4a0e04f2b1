// wx.cloud's storage APIs for createWx (uploadFile, getTempFileURL, downloadFile, deleteFile) and
// the local-file APIs that go with them on a phone (wx.downloadFile, wx.openDocument,
// wx.getFileSystemManager, wx.env.USER_DATA_PATH). Storage actions go to /admin/client as the
// user, so storage.json permissions apply; bytes go to the object store the answers point at.
// Local files live in memory, keyed by the `wxfile://` paths a mini-program sees.

import { wxError } from './callbacks';
import { isRecord, rawRequest, type HttpClient } from './http';

/** The mini-program's errCodes for storage failures (wx.cloud error codes, -503xxx). */
const ERR_CODES: Record<string, number> = {
  STORAGE_REQUEST_FAIL: -503001,
  STORAGE_EXCEED_AUTHORITY: -503002,
  STORAGE_FILE_NONEXIST: -503003,
  STORAGE_SIGN_PARAM_INVALID: -503004,
  INVALID_PARAM: -501007,
};
const SYS_ERR = -501001;
const ERR_MESSAGES: Record<number, string> = {
  [-503002]: 'storage permission denied',
  [-503003]: 'storage file not exists',
};

export const USER_DATA_PATH = 'wxfile://usr';

export interface LocalFile {
  bytes: Uint8Array;
  contentType: string;
}

/** The in-memory local file system one emulated `wx` owns. */
export class LocalFiles {
  private readonly files = new Map<string, LocalFile>();
  private seq = 0;

  /** A new temporary file, named as the mini-program names them (`wxfile://tmp_...`). */
  addTemp(file: LocalFile, nameHint: string): string {
    const ext = /\.([A-Za-z0-9]{1,8})$/.exec(nameHint.split('?')[0])?.[1] ?? 'bin';
    const tempPath = `wxfile://tmp_${(++this.seq).toString(36).padStart(6, '0')}.${ext}`;
    this.files.set(tempPath, file);
    return tempPath;
  }

  get(filePath: string): LocalFile | undefined {
    return this.files.get(filePath);
  }

  write(filePath: string, file: LocalFile): void {
    if (!filePath.startsWith(`${USER_DATA_PATH}/`)) {
      throw new Error(`permission denied, open ${filePath} (write under wx.env.USER_DATA_PATH)`);
    }
    this.files.set(filePath, file);
  }
}

export interface StorageDeps {
  http: HttpClient;
  openid: string;
  env: () => string;
  files: LocalFiles;
}

interface FileResult {
  fileID: string;
  status: number;
  errMsg: string;
}

async function action(
  deps: StorageDeps,
  api: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const answer = await deps.http.request(
    'POST',
    `/admin/client?env=${encodeURIComponent(deps.env())}`,
    body,
    { 'x-wxcloud-openid': deps.openid },
  );
  if (answer.status !== 200 || !isRecord(answer.body)) {
    throw wxError(api, `the emulator answered HTTP ${answer.status}`, -1);
  }
  if (answer.body.code) {
    const code = String(answer.body.code);
    const errCode = ERR_CODES[code] ?? SYS_ERR;
    throw wxError(api, `${errCode} ${code}: ${String(answer.body.message ?? '')}`, errCode);
  }
  return isRecord(answer.body.data) ? answer.body.data : {};
}

/** A per-file result as the mini-program reports it: status 0 and 'ok', or the error code. */
function fileResult(item: Record<string, unknown>): FileResult {
  const fileID = String(item.fileID ?? '');
  const code = String(item.code ?? 'SUCCESS');
  if (code === 'SUCCESS') return { fileID, status: 0, errMsg: 'ok' };
  const status = ERR_CODES[code] ?? SYS_ERR;
  return { fileID, status, errMsg: ERR_MESSAGES[status] ?? code };
}

function requireFileList(api: string, fileList: unknown): unknown[] {
  if (!Array.isArray(fileList) || !fileList.length) {
    throw wxError(api, 'fileList must be a non-empty array');
  }
  return fileList;
}

export async function uploadFile(
  deps: StorageDeps,
  param: { cloudPath?: unknown; filePath?: unknown },
): Promise<{ fileID: string; statusCode: number; errMsg: string }> {
  const api = 'cloud.uploadFile';
  if (typeof param.cloudPath !== 'string' || !param.cloudPath) {
    throw wxError(api, 'cloudPath must be a non-empty string');
  }
  const file = typeof param.filePath === 'string' ? deps.files.get(param.filePath) : undefined;
  if (!file) throw wxError(api, `no such local file: ${String(param.filePath)}`);
  const meta = await action(deps, api, {
    action: 'storage.getUploadMetadata',
    path: param.cloudPath,
  });
  const answer = await rawRequest(deps.http.fetchImpl, 'PUT', String(meta.url), file.bytes, {
    authorization: String(meta.authorization),
    'x-cos-security-token': String(meta.token),
    'x-cos-meta-fileid': String(meta.cosFileId),
  });
  if (answer.status !== 200) {
    const text = new TextDecoder().decode(answer.bytes);
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `HTTP ${answer.status}`;
    throw wxError(api, message, ERR_CODES.STORAGE_REQUEST_FAIL);
  }
  return { fileID: String(meta.fileId), statusCode: answer.status, errMsg: `${api}:ok` };
}

export async function getTempFileURL(
  deps: StorageDeps,
  param: { fileList?: unknown },
): Promise<{
  fileList: (FileResult & { tempFileURL: string; maxAge: number })[];
  errMsg: string;
}> {
  const api = 'cloud.getTempFileURL';
  const list = requireFileList(api, param.fileList).map((entry) => {
    if (typeof entry === 'string') return { fileid: entry };
    if (isRecord(entry) && typeof entry.fileID === 'string') {
      return { fileid: entry.fileID, max_age: entry.maxAge };
    }
    throw wxError(api, 'each fileList item must be a fileID string or {fileID, maxAge}');
  });
  const data = await action(deps, api, { action: 'storage.batchGetDownloadUrl', file_list: list });
  const items = Array.isArray(data.download_list) ? data.download_list : [];
  return {
    fileList: items.filter(isRecord).map((item) => ({
      ...fileResult(item),
      tempFileURL: typeof item.tempFileURL === 'string' ? item.tempFileURL : '',
      maxAge: Number(item.maxAge ?? 0),
    })),
    errMsg: `${api}:ok`,
  };
}

export async function deleteFile(
  deps: StorageDeps,
  param: { fileList?: unknown },
): Promise<{ fileList: FileResult[]; errMsg: string }> {
  const api = 'cloud.deleteFile';
  const list = requireFileList(api, param.fileList);
  if (list.some((f) => typeof f !== 'string')) throw wxError(api, 'fileList items must be fileIDs');
  const data = await action(deps, api, { action: 'storage.batchDeleteFile', fileid_list: list });
  const items = Array.isArray(data.delete_list) ? data.delete_list : [];
  return { fileList: items.filter(isRecord).map(fileResult), errMsg: `${api}:ok` };
}

/** Fetches a URL into a new local temporary file (the body of wx.downloadFile). */
export async function fetchToTemp(
  deps: StorageDeps,
  url: string,
): Promise<{ tempFilePath: string; statusCode: number }> {
  const answer = await rawRequest(deps.http.fetchImpl, 'GET', url);
  const tempFilePath = deps.files.addTemp(
    { bytes: answer.bytes, contentType: answer.contentType },
    new URL(url).pathname,
  );
  return { tempFilePath, statusCode: answer.status };
}

export async function downloadFile(
  deps: StorageDeps,
  param: { fileID?: unknown },
): Promise<{ tempFilePath: string; statusCode: number; errMsg: string }> {
  const api = 'cloud.downloadFile';
  if (typeof param.fileID !== 'string' || !param.fileID) {
    throw wxError(api, 'fileID must be a non-empty string');
  }
  const urls = await getTempFileURL(deps, { fileList: [param.fileID] }).catch((err: unknown) => {
    throw isRecord(err) && typeof err.errMsg === 'string'
      ? { ...err, errMsg: err.errMsg.replace('cloud.getTempFileURL', api) }
      : err;
  });
  const file = urls.fileList[0];
  if (!file || file.status !== 0) {
    throw wxError(api, file?.errMsg ?? 'no answer for the fileID', file?.status ?? SYS_ERR);
  }
  const fetched = await fetchToTemp(deps, file.tempFileURL);
  if (fetched.statusCode !== 200) {
    throw wxError(api, `the object store answered HTTP ${fetched.statusCode}`, -503001);
  }
  return { ...fetched, errMsg: `${api}:ok` };
}
