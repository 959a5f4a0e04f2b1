import crypto from 'node:crypto';
import path from 'node:path';
import type { Hono } from 'hono';
import { envDataDir, rootEnv, unknownEnv } from '../envs';
import { EmulatorError } from '../errors';
import type { ActionContext, ActionHandler, EmulatorContext, EmulatorService } from '../service';
import { storageControlRoutes } from './control';
import { bucketFor, cloudPathOf, contentTypeOf, fileIdFor, requireCloudPath } from './file-id';
import { objectStoreRoutes, OBJECT_STORE_PREFIX } from './object-store';
import { loadStorageRules, type StorageOperation, type StorageRules } from './rules';
import { loadSeed } from './seed';
import { FileStore, type FileMeta } from './store';

export type { FileMeta } from './store';
export { fileIdFor, bucketFor } from './file-id';

/**
 * Size limit for one file written through the emulated object store or the control API. The
 * emulator's own bound (a local disk, a test run): COS itself takes up to 5 GB in one PUT Object
 * (COS API docs, "PUT Object"); what the mini-program side allows is not documented.
 */
export const STORAGE_MAX_FILE_BYTES = 50 * 1024 * 1024;
/** Files per getTempFileURL / deleteFile call: "一次最多 50 个" (wx.cloud.getTempFileURL, deleteFile docs). */
export const STORAGE_MAX_BATCH = 50;
/**
 * Lifetime of a temporary link: "可自定义有效期，默认一天且最大不超过一天" (wx.cloud.getTempFileURL
 * docs): one day by default, and a longer maxAge is cut to one day. The node SDK's downloadFile
 * asks for 600 s.
 */
export const DEFAULT_TEMP_URL_SECONDS = 86400;
export const MAX_TEMP_URL_SECONDS = 86400;
/** How long an upload ticket from getUploadMetadata stays valid (emulator's choice). */
export const UPLOAD_TICKET_MS = 10 * 60_000;

interface UploadTicket {
  /** The env whose bucket the upload goes to (the one getUploadMetadata was asked in). */
  env: string;
  path: string;
  owner: string | null;
  authorization: string;
  expiresAt: number;
}

/**
 * Emulated cloud storage (云存储): the SDK actions `storage.getUploadMetadata`,
 * `storage.batchGetDownloadUrl` and `storage.batchDeleteFile` on /admin, and the object store
 * those answers point at (object-store.ts), served by the emulator itself. Client requests
 * (POST /admin/client) are checked against `storage.json` (rules.ts); server requests bypass it.
 */
export class StorageService implements EmulatorService {
  readonly name = 'storage' as const;
  readonly actions: Record<string, ActionHandler>;
  rules!: StorageRules;
  /** Every hosted env's files and bucket (`--env-id a,b`), in the data dir layout of envs.ts. */
  private readonly envs = new Map<string, EnvFiles>();
  /** wx.cloud.uploadFile, getTempFileURL, downloadFile, deleteFile: checked against storage rules. */
  readonly clientActions = [
    'storage.getUploadMetadata',
    'storage.batchGetDownloadUrl',
    'storage.batchDeleteFile',
  ] as const;
  private readonly tickets = new Map<string, UploadTicket>();
  /** Signs temporary links; new on every start, so a link never outlives the emulator run. */
  private readonly secret = crypto.randomBytes(32);

  constructor(readonly ctx: EmulatorContext) {
    this.actions = {
      'storage.getUploadMetadata': (body, actionCtx) => this.uploadMetadata(body, actionCtx),
      'storage.batchGetDownloadUrl': (body, actionCtx) => this.downloadUrls(body, actionCtx),
      'storage.batchDeleteFile': (body, actionCtx) => this.deleteFiles(body, actionCtx),
    };
  }

  /** The default env's files. */
  get files(): FileStore {
    return this.envFiles().files;
  }

  /** The default env's bucket. */
  get bucket(): string {
    return this.envFiles().bucket;
  }

  /** A hosted env's files and bucket (the default env when none is named). */
  envFiles(env?: string): EnvFiles {
    const found = this.envs.get(env || this.ctx.config.envId);
    if (!found) throw unknownEnv(env ?? '', this.ctx.config.envIds);
    return found;
  }

  /** The env whose bucket this is, if hosted (the object store's URLs name the bucket). */
  envOfBucket(bucket: string): EnvFiles | undefined {
    return [...this.envs.values()].find((e) => e.bucket === bucket);
  }

  async start(): Promise<void> {
    this.rules = loadStorageRules(this.ctx.config.projectDir);
    const { dataDir, envId, envIds, inMemory } = this.ctx.config;
    // The database opened the data dir first and claimed its root (envs.ts).
    const root = inMemory ? envId : rootEnv(dataDir, envId);
    for (const env of envIds) {
      const dir = path.join(envDataDir(dataDir, root, env), 'storage');
      const files = new FileStore(this.ctx.config.inMemory ? undefined : dir);
      this.envs.set(env, { env, bucket: bucketFor(env), files });
      this.seed(env);
    }
  }

  httpRoutes(app: Hono): void {
    objectStoreRoutes(app, this);
  }

  routes(app: Hono): void {
    storageControlRoutes(app, this);
  }

  /** Empties the files and upload tickets, then writes the project's seed files again. */
  async reset(): Promise<void> {
    for (const env of this.envs.keys()) this.resetEnv(env);
  }

  /** One env's part of reset (`POST /emulator/v1/reset?env=`): its files and tickets, then its seed. */
  resetEnv(env: string): void {
    for (const [token, ticket] of this.tickets) if (ticket.env === env) this.tickets.delete(token);
    this.envFiles(env).files.clear();
    this.seed(env);
  }

  async stop(): Promise<void> {
    this.tickets.clear();
  }

  // ---- used by the object store, the control API and other services --------------------------

  /** The fileID of a path in a hosted env (the default when none is named): it names the env. */
  fileId(cloudPath: string, env?: string): string {
    return fileIdFor(this.envFiles(env).env, cloudPath);
  }

  /** Writes a file as server code or the control API would (owner null) or as `owner`. */
  write(
    cloudPath: string,
    bytes: Buffer,
    owner: string | null,
    via: string,
    env?: string,
  ): FileMeta {
    const { files } = this.envFiles(env);
    requireCloudPath(cloudPath);
    if (bytes.length > STORAGE_MAX_FILE_BYTES) {
      throw new EmulatorError(
        'STORAGE_REQUEST_FAIL',
        `file is ${bytes.length} bytes; wxcloud-emulator stores at most ${STORAGE_MAX_FILE_BYTES} bytes per file`,
      );
    }
    const meta = files.put(
      {
        path: cloudPath,
        owner,
        contentType: contentTypeOf(cloudPath),
        uploadedAt: new Date(this.ctx.clock.now()).toISOString(),
      },
      bytes,
    );
    this.ctx.events.emit('storage.operation', {
      action: 'upload',
      via,
      fileID: this.fileId(cloudPath, env),
      path: cloudPath,
      size: meta.size,
      openid: owner,
    });
    return meta;
  }

  /** Consumes an upload ticket; the error says what was wrong (the object store words it as XML). */
  takeTicket(
    token: string | undefined,
    authorization: string | undefined,
    cloudPath: string,
    env: string,
  ): UploadTicket {
    const ticket = token ? this.tickets.get(token) : undefined;
    // A ticket is for one env's bucket, as a COS upload signature is for one bucket.
    if (!ticket || ticket.authorization !== authorization || ticket.env !== env) {
      throw new EmulatorError(
        'AccessDenied',
        'no valid upload ticket: call getUploadMetadata first',
        403,
      );
    }
    if (ticket.path !== cloudPath) {
      throw new EmulatorError(
        'AccessDenied',
        `the upload ticket is for "${ticket.path}", not "${cloudPath}"`,
        403,
      );
    }
    this.tickets.delete(token as string);
    if (ticket.expiresAt <= this.ctx.clock.now()) {
      throw new EmulatorError('AccessDenied', 'the upload ticket has expired', 403);
    }
    return ticket;
  }

  /** A signed link to the object store, valid until `expiresAt` (ms, emulated clock). */
  tempUrl(cloudPath: string, expiresAt: number, env?: string): string {
    const t = Math.floor(expiresAt / 1000);
    const { bucket } = this.envFiles(env);
    // The path stays unencoded, as the platform's links do: the node SDK encodeURI()s it itself.
    return `${this.ctx.url()}${OBJECT_STORE_PREFIX}/${bucket}/${cloudPath}?sign=${this.sign(bucket, cloudPath, t)}&t=${t}`;
  }

  /** Why a temporary link is refused, or undefined when it is valid now. */
  checkTempUrl(
    bucket: string,
    cloudPath: string,
    sign: string | undefined,
    t: string | undefined,
  ): string | undefined {
    if (!sign || !t || !/^\d+$/.test(t)) return 'the link has no signature (sign and t)';
    const expected = this.sign(bucket, cloudPath, Number(t));
    if (
      sign.length !== expected.length ||
      !crypto.timingSafeEqual(Buffer.from(sign), Buffer.from(expected))
    ) {
      return 'the link signature does not match';
    }
    if (Number(t) * 1000 <= this.ctx.clock.now()) return 'Request has expired';
    return undefined;
  }

  private sign(bucket: string, cloudPath: string, t: number): string {
    return crypto
      .createHmac('sha256', this.secret)
      .update(`${bucket}/${cloudPath}\n${t}`)
      .digest('hex')
      .slice(0, 32);
  }

  /** Each env holds the project's seed files, as deploying the project to each env would give it. */
  private seed(env: string): void {
    const { files } = this.envFiles(env);
    for (const file of loadSeed(this.ctx.config.projectDir)) {
      files.put(
        {
          path: file.cloudPath,
          owner: null,
          contentType: contentTypeOf(file.cloudPath),
          uploadedAt: new Date(this.ctx.clock.now()).toISOString(),
        },
        file.bytes,
      );
    }
  }

  /** Client requests only: true when `storage.json` allows it; a denial is an event. */
  private allowed(
    op: StorageOperation,
    action: string,
    actionCtx: ActionContext,
    cloudPath: string,
    owner: string | null,
  ): boolean {
    if (!actionCtx.client) return true;
    const auth = { openid: actionCtx.client.openid };
    if (this.rules.allows(op, auth, { openid: owner, path: cloudPath })) return true;
    this.ctx.events.emit('storage.denied', {
      action,
      operation: op,
      fileID: this.fileId(cloudPath, actionCtx.env),
      path: cloudPath,
      openid: auth.openid,
      permission: this.rules.permission,
      rule: this.rules.source(op),
    });
    return false;
  }

  // ---- the SDK actions ---------------------------------------------------------------------

  private async uploadMetadata(
    body: Record<string, unknown>,
    actionCtx: ActionContext,
  ): Promise<unknown> {
    const cloudPath = requireCloudPath(body.path);
    const { env, bucket, files } = this.envFiles(actionCtx.env);
    const existing = files.head(cloudPath);
    const requester = actionCtx.client?.openid ?? null;
    // Overwriting is judged against the current owner; a new file would belong to the requester.
    const owner = existing ? existing.owner : requester;
    if (!this.allowed('write', 'storage.getUploadMetadata', actionCtx, cloudPath, owner)) {
      throw new EmulatorError(
        'STORAGE_EXCEED_AUTHORITY',
        `storage permission denied: write "${cloudPath}" (storage.json ${this.rules.permission})`,
      );
    }
    const token = crypto.randomBytes(16).toString('hex');
    const authorization = `q-sign-algorithm=sha1&q-ak=EMULATED&q-sign-time=${Math.floor(this.ctx.clock.now() / 1000)}&q-signature=${crypto.randomBytes(20).toString('hex')}`;
    this.tickets.set(token, {
      env,
      path: cloudPath,
      owner: requester,
      authorization,
      expiresAt: this.ctx.clock.now() + UPLOAD_TICKET_MS,
    });
    const fileId = this.fileId(cloudPath, env);
    const cosFileId = crypto.randomBytes(12).toString('hex');
    const url = `${this.ctx.url()}${OBJECT_STORE_PREFIX}/${bucket}/${encodePath(cloudPath)}`;
    return {
      // node-sdk reads the camelCase fields; the HTTP API documents the snake_case ones.
      data: {
        url,
        token,
        authorization,
        fileId,
        cosFileId,
        file_id: fileId,
        cos_file_id: cosFileId,
      },
      requestId: requestId(),
    };
  }

  private async downloadUrls(
    body: Record<string, unknown>,
    actionCtx: ActionContext,
  ): Promise<unknown> {
    const list = body.file_list;
    if (!Array.isArray(list) || !list.length) {
      throw new EmulatorError('INVALID_PARAM', 'file_list must be a non-empty array');
    }
    if (list.length > STORAGE_MAX_BATCH) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `file_list holds ${list.length} files; at most ${STORAGE_MAX_BATCH} per call`,
      );
    }
    const { env, files } = this.envFiles(actionCtx.env);
    const download_list = list.map((entry: unknown) => {
      const item = (entry ?? {}) as { fileid?: unknown; max_age?: unknown };
      const fileID = typeof item.fileid === 'string' ? item.fileid : String(item.fileid);
      const maxAge =
        typeof item.max_age === 'number' && Number.isFinite(item.max_age) && item.max_age > 0
          ? Math.min(Math.floor(item.max_age), MAX_TEMP_URL_SECONDS)
          : DEFAULT_TEMP_URL_SECONDS;
      // A fileID names its env: one of another env is not found here, as on the cloud, where
      // each env has its own bucket.
      const cloudPath = cloudPathOf(env, fileID);
      const meta = cloudPath === undefined ? undefined : files.head(cloudPath);
      // A denied caller gets the same answer for a missing file as for an existing one, so a
      // guessed fileID tells nothing; the rule is judged with the owner when the file exists.
      if (
        cloudPath !== undefined &&
        !this.allowed(
          'read',
          'storage.batchGetDownloadUrl',
          actionCtx,
          cloudPath,
          meta?.owner ?? null,
        )
      ) {
        return { fileID, tempFileURL: '', maxAge, code: 'STORAGE_EXCEED_AUTHORITY' };
      }
      if (!meta || cloudPath === undefined) {
        return { fileID, tempFileURL: '', maxAge, code: 'STORAGE_FILE_NONEXIST' };
      }
      const expiresAt = this.ctx.clock.now() + maxAge * 1000;
      this.ctx.events.emit('storage.operation', {
        action: 'getTempFileURL',
        via: actionCtx.client ? 'client' : 'server',
        fileID,
        path: cloudPath,
        openid: actionCtx.client?.openid ?? null,
        expiresAt: new Date(expiresAt).toISOString(),
      });
      return {
        fileID,
        tempFileURL: this.tempUrl(cloudPath, expiresAt, env),
        maxAge,
        code: 'SUCCESS',
      };
    });
    return { data: { download_list }, requestId: requestId() };
  }

  private async deleteFiles(
    body: Record<string, unknown>,
    actionCtx: ActionContext,
  ): Promise<unknown> {
    const list = body.fileid_list;
    if (!Array.isArray(list) || !list.length) {
      throw new EmulatorError('INVALID_PARAM', 'fileid_list must be a non-empty array');
    }
    if (list.length > STORAGE_MAX_BATCH) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `fileid_list holds ${list.length} files; at most ${STORAGE_MAX_BATCH} per call`,
      );
    }
    const { env, files } = this.envFiles(actionCtx.env);
    const delete_list = list.map((entry: unknown) => {
      const fileID = String(entry);
      const cloudPath = cloudPathOf(env, fileID);
      const meta = cloudPath === undefined ? undefined : files.head(cloudPath);
      if (
        cloudPath !== undefined &&
        !this.allowed('write', 'storage.batchDeleteFile', actionCtx, cloudPath, meta?.owner ?? null)
      ) {
        return { fileID, code: 'STORAGE_EXCEED_AUTHORITY' };
      }
      if (!meta || cloudPath === undefined) return { fileID, code: 'STORAGE_FILE_NONEXIST' };
      files.delete(cloudPath);
      this.ctx.events.emit('storage.operation', {
        action: 'delete',
        via: actionCtx.client ? 'client' : 'server',
        fileID,
        path: cloudPath,
        openid: actionCtx.client?.openid ?? null,
      });
      return { fileID, code: 'SUCCESS' };
    });
    return { data: { delete_list }, requestId: requestId() };
  }
}

/** One env's cloud storage: its bucket (named in fileIDs and object-store URLs) and files. */
export interface EnvFiles {
  env: string;
  bucket: string;
  files: FileStore;
}

let seq = 0;
function requestId(): string {
  return `local-storage-${Date.now().toString(36)}-${(++seq).toString(36)}`;
}

export function encodePath(cloudPath: string): string {
  return cloudPath.split('/').map(encodeURIComponent).join('/');
}
