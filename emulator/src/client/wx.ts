// createWx: a `wx` for pages, scripts and tests that acts as one mini-program user against a
// running emulator. Browser-safe: no Node imports; a Node host injects `WebSocket` (the `ws`
// package) and a host without `fetch` injects one.

import { withCallbacks, wxError, type WxCallbacks, type WxReturn } from './callbacks';
import { createDatabase, type MiniDatabase, type RealtimeSlot } from './database';
import { HttpClient, isRecord, type FetchLike } from './http';
import { requestPayment, type DecideFn, type PaymentParams } from './pay';
import {
  deleteFile,
  downloadFile,
  fetchToTemp,
  getTempFileURL,
  LocalFiles,
  uploadFile,
  USER_DATA_PATH,
  type LocalFile,
  type StorageDeps,
} from './storage';

export type Platform = 'devtools' | 'ios' | 'android';

export interface CreateWxOptions {
  /** The emulator's base address, e.g. http://127.0.0.1:8787. */
  url: string;
  /** The user this `wx` acts as: becomes the functions' OPENID and the rules' auth.openid. */
  openid: string;
  /** Decides every pay sheet at once; without it requestPayment waits for an outside decision. */
  decide?: DecideFn;
  /** What getSystemInfoSync()/getDeviceInfo() report. Default 'devtools'. */
  platform?: Platform;
  /** Env id used until cloud.init({env}) names one. Default: the emulator's default env. */
  envId?: string;
  /** A fetch for hosts without one (e.g. jest's jsdom environment). Default: globalThis.fetch. */
  fetch?: FetchLike;
  /** A WebSocket class for realtime watch (Node: the `ws` package). Default: the global one. */
  WebSocket?: unknown;
  /** Longest wait for a pay sheet decision made outside, in ms. Default 10 minutes. */
  payTimeoutMs?: number;
  /** Follows wx.navigateTo / redirectTo (the preview loads the page named by the url). */
  onNavigate?: (url: string) => void;
  /** Shows a file wx.openDocument opened (the preview opens it in a browser tab). */
  onOpenDocument?: (file: LocalFile & { filePath: string }) => void;
}

export interface CallFunctionResult {
  result: unknown;
  errMsg: 'cloud.callFunction:ok';
  requestID: string;
}

/** A UI call the emulated wx received (showToast, showLoading, ...): recorded, shows nothing. */
export interface UiCall {
  api: string;
  options: unknown;
}

export interface EmulatedWx {
  cloud: {
    init(options?: {
      env?: string | { database?: string; functions?: string };
      traceUser?: boolean;
    }): void;
    callFunction<
      O extends { name: string; data?: Record<string, unknown> } & WxCallbacks<CallFunctionResult>,
    >(
      param: O,
    ): WxReturn<O, CallFunctionResult>;
    database(options?: { env?: string }): MiniDatabase;
    uploadFile(
      param: { cloudPath: string; filePath: string } & WxCallbacks<UploadResult>,
    ): Promise<UploadResult>;
    getTempFileURL(
      param: {
        fileList: (string | { fileID: string; maxAge?: number })[];
      } & WxCallbacks<TempUrlResult>,
    ): Promise<TempUrlResult>;
    downloadFile(param: { fileID: string } & WxCallbacks<DownloadResult>): Promise<DownloadResult>;
    deleteFile(param: { fileList: string[] } & WxCallbacks<DeleteResult>): Promise<DeleteResult>;
  };
  /** Downloads any URL (a temporary link) into a local temporary file. */
  downloadFile(param: { url: string } & WxCallbacks<DownloadResult>): Promise<DownloadResult>;
  /** Opens a local file; recorded in uiCalls and shown through onOpenDocument. */
  openDocument(
    param: { filePath: string; fileType?: string; showMenu?: boolean } & WxCallbacks<{
      errMsg: string;
    }>,
  ): Promise<{ errMsg: string }>;
  navigateTo(param: { url: string } & WxCallbacks<{ errMsg: string }>): Promise<{ errMsg: string }>;
  getFileSystemManager(): {
    readFileSync(filePath: string, encoding?: 'utf8' | 'utf-8'): string | ArrayBuffer;
    writeFileSync(
      filePath: string,
      data: string | ArrayBuffer | Uint8Array,
      encoding?: 'utf8',
    ): void;
  };
  env: { USER_DATA_PATH: string };
  requestPayment(
    param: PaymentParams & WxCallbacks<{ errMsg: string }>,
  ): Promise<{ errMsg: string }>;
  getSystemInfoSync(): SystemInfo;
  getDeviceInfo(): { platform: Platform; system: string; brand: string; model: string };
  showToast(options: unknown): void;
  hideToast(options?: unknown): void;
  showLoading(options: unknown): void;
  hideLoading(options?: unknown): void;
  showModal(options: unknown): void;
  /** Emulator-only: the UI calls received, in order. */
  readonly uiCalls: UiCall[];
}

export interface UploadResult {
  fileID: string;
  statusCode: number;
  errMsg: string;
}
export interface TempUrlResult {
  fileList: {
    fileID: string;
    tempFileURL: string;
    maxAge: number;
    status: number;
    errMsg: string;
  }[];
  errMsg: string;
}
export interface DownloadResult {
  tempFilePath: string;
  statusCode: number;
  errMsg: string;
}
export interface DeleteResult {
  fileList: { fileID: string; status: number; errMsg: string }[];
  errMsg: string;
}

export interface SystemInfo {
  platform: Platform;
  system: string;
  brand: string;
  model: string;
  SDKVersion: string;
  version: string;
  language: string;
  pixelRatio: number;
  screenWidth: number;
  screenHeight: number;
  windowWidth: number;
  windowHeight: number;
}

const SYSTEMS: Record<Platform, string> = {
  devtools: 'Windows 10 x64',
  ios: 'iOS 17.0',
  android: 'Android 14',
};

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value)
    throw new Error(`createWx: ${what} must be a non-empty string`);
  return value;
}

export function createWx(options: CreateWxOptions): EmulatedWx {
  if (!isRecord(options)) throw new Error('createWx needs {url, openid}');
  const url = requireString(options.url, 'url').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(url))
    throw new Error(`createWx: url must start with http:// or https://, got "${url}"`);
  const openid = requireString(options.openid, 'openid');
  const platform = options.platform ?? 'devtools';
  if (!(platform in SYSTEMS))
    throw new Error(
      `createWx: platform must be devtools, ios or android, got "${String(platform)}"`,
    );
  const hostFetch = (globalThis as { fetch?: FetchLike }).fetch;
  // A browser's fetch must be called on window ("Illegal invocation" otherwise): bind it.
  const fetchImpl = options.fetch ?? hostFetch?.bind(globalThis);
  if (!fetchImpl) throw new Error('createWx: this host has no fetch; pass {fetch}');
  const http = new HttpClient(url, fetchImpl);
  const payTimeoutMs = options.payTimeoutMs ?? 10 * 60_000;
  // Empty: requests name no env and the emulator uses its default, as wx.cloud.init() without
  // an env uses the default environment.
  let env = options.envId ?? '';
  // One realtime socket per user and env (see database.ts): a socket signs in to one env, and
  // its watches read that env's data.
  const realtimeSlots = new Map<string, RealtimeSlot>();
  const realtimeFor = (forEnv: string): RealtimeSlot => {
    let slot = realtimeSlots.get(forEnv);
    if (!slot) {
      slot = { ws: undefined, WebSocket: options.WebSocket };
      realtimeSlots.set(forEnv, slot);
    }
    return slot;
  };
  const uiCalls: UiCall[] = [];
  const localFiles = new LocalFiles();
  const storage: StorageDeps = { http, openid, env: () => env, files: localFiles };
  const ui = (api: string) => (opts?: unknown) => {
    uiCalls.push({ api, options: opts });
  };

  const systemInfo = (): SystemInfo => ({
    platform,
    system: SYSTEMS[platform],
    brand: platform === 'devtools' ? 'devtools' : platform === 'ios' ? 'iPhone' : 'Android',
    model:
      platform === 'devtools' ? 'iPhone 12/13 (Pro)' : platform === 'ios' ? 'iPhone 15' : 'Pixel 8',
    SDKVersion: '3.4.0',
    version: '8.0.50',
    language: 'zh_CN',
    pixelRatio: 3,
    screenWidth: 390,
    screenHeight: 844,
    windowWidth: 390,
    windowHeight: 844,
  });

  const wx: EmulatedWx = {
    cloud: {
      init(opts) {
        // The env may be a string or per-service ids; the database one is what requests carry.
        const e = opts?.env;
        if (typeof e === 'string' && e) env = e;
        else if (isRecord(e) && typeof e.database === 'string') env = e.database;
      },
      callFunction(param) {
        return withCallbacks('cloud.callFunction', param, async () => {
          if (!isRecord(param) || typeof param.name !== 'string' || !param.name) {
            throw wxError('cloud.callFunction', 'parameter.name should be a non-empty string');
          }
          const answer = await http.request(
            'POST',
            `/emulator/v1/functions/${encodeURIComponent(param.name)}/invoke`,
            { data: param.data ?? {}, openid, source: 'wx_client', ...(env ? { envId: env } : {}) },
          );
          const body = answer.body;
          if (answer.status !== 200 || !isRecord(body)) {
            throw wxError('cloud.callFunction', `the emulator answered HTTP ${answer.status}`, -1);
          }
          if (typeof body.errCode === 'number') {
            // The functions service already words errMsg as the platform does.
            const errMsg =
              typeof body.errMsg === 'string' ? body.errMsg : 'cloud.callFunction:fail';
            throw { errCode: body.errCode, errMsg };
          }
          return {
            result: body.result,
            errMsg: 'cloud.callFunction:ok' as const,
            requestID: answer.invocationId ?? '',
          };
        });
      },
      database(opts) {
        const dbEnv = opts?.env ?? env;
        return createDatabase({ http, openid, env: dbEnv }, realtimeFor(dbEnv));
      },
      uploadFile: (param) =>
        withCallbacks('cloud.uploadFile', param, () =>
          uploadFile(storage, param),
        ) as Promise<UploadResult>,
      getTempFileURL: (param) =>
        withCallbacks('cloud.getTempFileURL', param, () =>
          getTempFileURL(storage, param),
        ) as Promise<TempUrlResult>,
      downloadFile: (param) =>
        withCallbacks('cloud.downloadFile', param, () =>
          downloadFile(storage, param),
        ) as Promise<DownloadResult>,
      deleteFile: (param) =>
        withCallbacks('cloud.deleteFile', param, () =>
          deleteFile(storage, param),
        ) as Promise<DeleteResult>,
    },
    downloadFile: (param) =>
      withCallbacks('downloadFile', param, async () => {
        if (!isRecord(param) || typeof param.url !== 'string' || !/^https?:\/\//.test(param.url)) {
          throw wxError('downloadFile', 'url must be an http(s) URL');
        }
        return { ...(await fetchToTemp(storage, param.url)), errMsg: 'downloadFile:ok' };
      }) as Promise<DownloadResult>,
    openDocument: (param) =>
      withCallbacks('openDocument', param, async () => {
        const file = isRecord(param) ? localFiles.get(String(param.filePath)) : undefined;
        if (!file) throw wxError('openDocument', `no such local file: ${String(param?.filePath)}`);
        uiCalls.push({ api: 'openDocument', options: param });
        options.onOpenDocument?.({ ...file, filePath: param.filePath });
        return { errMsg: 'openDocument:ok' };
      }) as Promise<{ errMsg: string }>,
    navigateTo: (param) =>
      withCallbacks('navigateTo', param, async () => {
        if (!isRecord(param) || typeof param.url !== 'string' || !param.url.startsWith('/')) {
          throw wxError('navigateTo', 'url must be an absolute page path such as /pages/x/x?a=1');
        }
        uiCalls.push({ api: 'navigateTo', options: param });
        options.onNavigate?.(param.url);
        return { errMsg: 'navigateTo:ok' };
      }) as Promise<{ errMsg: string }>,
    getFileSystemManager: () => ({
      readFileSync(filePath, encoding) {
        const file = localFiles.get(filePath);
        if (!file) throw new Error(`readFileSync:fail no such file or directory, open ${filePath}`);
        if (encoding) return new TextDecoder().decode(file.bytes);
        return file.bytes.slice().buffer;
      },
      writeFileSync(filePath, data) {
        const bytes =
          typeof data === 'string'
            ? new TextEncoder().encode(data)
            : new Uint8Array(data instanceof Uint8Array ? data : new Uint8Array(data));
        localFiles.write(filePath, { bytes, contentType: 'application/octet-stream' });
      },
    }),
    env: { USER_DATA_PATH },
    requestPayment(param) {
      return withCallbacks('requestPayment', param, () =>
        requestPayment(http, openid, param, {
          decide: options.decide,
          timeoutMs: payTimeoutMs,
          now: () => Date.now(),
        }),
      );
    },
    getSystemInfoSync: systemInfo,
    getDeviceInfo: () => {
      const { platform: p, system, brand, model } = systemInfo();
      return { platform: p, system, brand, model };
    },
    showToast: ui('showToast'),
    hideToast: ui('hideToast'),
    showLoading: ui('showLoading'),
    hideLoading: ui('hideLoading'),
    showModal: ui('showModal'),
    uiCalls,
  };
  return wx;
}
