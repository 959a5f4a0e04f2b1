// `npm run deploy -- --content`: the project's `content/` (the same folder the emulator loads at
// start) sent to the real env through WeChat's server API (appid + AppSecret):
// - every file under content/storage/ to its relative path: POST /tcb/uploadfile {env, path},
//   then the form POST to the answered COS url (key, Signature, x-cos-security-token,
//   x-cos-meta-fileid, file), as the 云开发 HTTP API documents;
// - every document of content/database/<COLLECTION>.json written by `_id`, each
//   {"$fileID": "<path>"} replaced by the fileID the upload answered: /tcb/databasedelete of that
//   `_id`, then /tcb/databaseadd. Delete-then-add leaves exactly the file's document (an update
//   would merge and keep stale fields), at the cost of a moment without it.
// Idempotent: a second run overwrites the same paths and rewrites the same documents.
// Not verified against the live API (no account here): the request shapes follow the HTTP API
// docs (uploadfile, databaseadd, databasedelete); the dry run prints every request.
import fs from 'node:fs';
import path from 'node:path';
import { PlanError } from './plan';
import { accessToken, ok, post, WechatApiError, type ApiOptions } from './wechat-api';

export interface ContentFilePlan {
  cloudPath: string;
  file: string;
  size: number;
}

export interface ContentRecordPlan {
  collection: string;
  id: string;
  /** As written in the file: `{"$fileID": path}` placeholders still in place. */
  doc: Record<string, unknown>;
  file: string;
}

export interface ContentPlan {
  files: ContentFilePlan[];
  records: ContentRecordPlan[];
}

/** The form POST to COS; tests pass a recording fake. */
export type UploadForm = (
  url: string,
  fields: Record<string, string>,
  file: { name: string; bytes: Buffer },
) => Promise<{ status: number; text(): Promise<string> }>;

function walk(dir: string, root: string, out: ContentFilePlan[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, root, out);
    else if (entry.isFile()) {
      const cloudPath = path.relative(root, full).split(path.sep).join('/');
      out.push({ cloudPath, file: full, size: fs.statSync(full).size });
    }
  }
}

/** Every `$fileID` path a value refers to. */
function fileRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) fileRefs(v, out);
  else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === '$fileID') out.push(String(record.$fileID));
    else for (const v of Object.values(record)) fileRefs(v, out);
  }
  return out;
}

/** Reads content/ into a plan; a document naming a file that is not there stops everything. */
export function planContent(root: string): ContentPlan {
  const base = path.join(root, 'content');
  const files: ContentFilePlan[] = [];
  const storage = path.join(base, 'storage');
  if (fs.existsSync(storage)) walk(storage, storage, files);
  files.sort((a, b) => a.cloudPath.localeCompare(b.cloudPath));
  const known = new Set(files.map((f) => f.cloudPath));
  const records: ContentRecordPlan[] = [];
  const database = path.join(base, 'database');
  const names = fs.existsSync(database)
    ? fs
        .readdirSync(database)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];
  for (const name of names) {
    const file = path.join(database, name);
    const collection = path.basename(name, '.json');
    if (!fs.existsSync(path.join(root, 'database', name))) {
      throw new PlanError(`${file}: no database/${name} declares the collection ${collection}`);
    }
    let docs: unknown;
    try {
      docs = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new PlanError(`${file}: not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(docs)) throw new PlanError(`${file}: must hold an array of documents`);
    docs.forEach((doc: unknown, i) => {
      const id = (doc as { _id?: unknown } | null)?._id;
      if (!doc || typeof doc !== 'object' || typeof id !== 'string' || !id) {
        throw new PlanError(`${file}: [${i}] must be an object with a string _id`);
      }
      for (const ref of fileRefs(doc)) {
        if (!known.has(ref)) {
          throw new PlanError(
            `${file}: [${i}] refers to "${ref}", which is not under content/storage/`,
          );
        }
      }
      records.push({ collection, id, doc: doc as Record<string, unknown>, file });
    });
  }
  return { files, records };
}

function resolveRefs(value: unknown, fileIds: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, fileIds));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === '$fileID') {
      return fileIds.get(String(record.$fileID)) ?? `<fileID of ${String(record.$fileID)}>`;
    }
    return Object.fromEntries(keys.map((k) => [k, resolveRefs(record[k], fileIds)]));
  }
  return value;
}

/** The two database queries that write one record (the HTTP API's `query` strings). */
export function recordQueries(
  record: ContentRecordPlan,
  fileIds: Map<string, string>,
): { remove: string; add: string } {
  const collection = JSON.stringify(record.collection);
  const doc = resolveRefs(record.doc, fileIds);
  return {
    remove: `db.collection(${collection}).where({_id: ${JSON.stringify(record.id)}}).remove()`,
    add: `db.collection(${collection}).add({data: ${JSON.stringify(doc)}})`,
  };
}

/** The dry run's lines: every file and every query, fileIDs shown as placeholders. */
export function formatContentPlan(plan: ContentPlan, envId: string): string[] {
  const lines = [`Content (content/ → env ${envId}, WeChat server API, needs WX_APPSECRET):`];
  for (const f of plan.files) lines.push(`  upload ${f.cloudPath} (${f.size} bytes)`);
  for (const r of plan.records) {
    const q = recordQueries(r, new Map());
    lines.push(`  POST /tcb/databasedelete ${q.remove}`, `  POST /tcb/databaseadd ${q.add}`);
  }
  return lines;
}

export async function applyContent(
  options: ApiOptions & { uploadForm: UploadForm },
  plan: ContentPlan,
): Promise<{ uploaded: string[]; written: string[] }> {
  const token = await accessToken(options);
  const fileIds = new Map<string, string>();
  for (const f of plan.files) {
    const meta = await post(
      options,
      '/tcb/uploadfile',
      { env: options.envId, path: f.cloudPath },
      token,
    );
    if (!ok(meta) || typeof meta.url !== 'string' || typeof meta.file_id !== 'string') {
      throw new WechatApiError(
        '/tcb/uploadfile',
        meta.errcode,
        `${meta.errmsg ?? 'no url'} (${f.cloudPath})`,
      );
    }
    const res = await options.uploadForm(
      meta.url,
      {
        key: f.cloudPath,
        Signature: String(meta.authorization),
        'x-cos-security-token': String(meta.token),
        'x-cos-meta-fileid': String(meta.cos_file_id),
      },
      { name: path.basename(f.cloudPath), bytes: fs.readFileSync(f.file) },
    );
    if (res.status < 200 || res.status >= 300) {
      const text = await res.text();
      const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
      throw new WechatApiError(
        'COS upload',
        undefined,
        `HTTP ${res.status} ${message} (${f.cloudPath})`,
      );
    }
    fileIds.set(f.cloudPath, meta.file_id);
    options.log(`  + ${f.cloudPath} → ${meta.file_id}`);
  }
  const written: string[] = [];
  for (const r of plan.records) {
    const q = recordQueries(r, fileIds);
    for (const [apiPath, query] of [
      ['/tcb/databasedelete', q.remove],
      ['/tcb/databaseadd', q.add],
    ] as const) {
      const reply = await post(options, apiPath, { env: options.envId, query }, token);
      if (!ok(reply)) {
        throw new WechatApiError(
          apiPath,
          reply.errcode,
          `${reply.errmsg ?? ''} (${r.collection}/${r.id})`,
        );
      }
    }
    written.push(`${r.collection}/${r.id}`);
    options.log(`  + ${r.collection}/${r.id}`);
  }
  return { uploaded: [...fileIds.keys()], written };
}
