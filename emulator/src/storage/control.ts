import type { Context, Hono } from 'hono';
import { controlEnv } from '../envs';
import { EmulatorError } from '../errors';
import { requireCloudPath } from './file-id';
import type { StorageService } from './index';
import { STORAGE_MAX_FILE_BYTES } from './index';
import type { FileMeta } from './store';

/**
 * Control API for cloud storage, under /emulator/v1 (documented in emulator/docs/storage.md):
 * - `GET    /storage/files?prefix=` → `{files: [{fileID, path, size, owner, contentType, uploadedAt, etag}]}`
 * - `GET    /storage/files/<path>`  → the bytes (Content-Type from the extension); 404 when missing
 * - `PUT    /storage/files/<path>`  raw body → `{file: {...}}`; owner from `x-wxcloud-openid` (else none)
 * - `DELETE /storage/files/<path>`  → `{deleted: true}`; 404 when missing
 * Like the console, these bypass storage permissions. Inspection routes have no side effects.
 * Each takes `?env=` (a hosted env; the default when omitted): every env has its own files.
 */
export function storageControlRoutes(app: Hono, storage: StorageService): void {
  const envOf = (c: Context): string => controlEnv(storage.ctx.config, c.req.query('env'));
  const describe =
    (env: string) =>
    (meta: FileMeta): Record<string, unknown> => ({
      fileID: storage.fileId(meta.path, env),
      ...meta,
    });
  const pathOf = (c: Context): string => {
    const pathname = new URL(c.req.url).pathname;
    const marker = '/storage/files/';
    const raw = pathname.slice(pathname.indexOf(marker) + marker.length);
    let decoded: string;
    try {
      decoded = raw.split('/').map(decodeURIComponent).join('/');
    } catch {
      throw new EmulatorError('INVALID_PARAM', `cannot decode the path ${raw}`);
    }
    return requireCloudPath(decoded);
  };

  app.get('/storage/files', (c) => {
    const env = envOf(c);
    const files = storage.envFiles(env).files.list(c.req.query('prefix') ?? '');
    return c.json({ files: files.map(describe(env)) });
  });

  app.get('/storage/files/*', (c) => {
    const cloudPath = pathOf(c);
    const file = storage.envFiles(envOf(c)).files.get(cloudPath);
    if (!file) throw new EmulatorError('STORAGE_FILE_NONEXIST', `no file ${cloudPath}`, 404);
    c.header('content-type', file.meta.contentType);
    c.header('x-wxcloud-file-owner', file.meta.owner ?? '');
    return c.body(new Uint8Array(file.bytes), 200);
  });

  app.put('/storage/files/*', async (c) => {
    const cloudPath = pathOf(c);
    const env = envOf(c);
    if (Number(c.req.header('content-length') ?? 0) > STORAGE_MAX_FILE_BYTES) {
      throw new EmulatorError(
        'STORAGE_REQUEST_FAIL',
        `wxcloud-emulator stores at most ${STORAGE_MAX_FILE_BYTES} bytes per file`,
      );
    }
    const bytes = Buffer.from(await c.req.arrayBuffer());
    const owner = c.req.header('x-wxcloud-openid') || null;
    return c.json({ file: describe(env)(storage.write(cloudPath, bytes, owner, 'control', env)) });
  });

  app.delete('/storage/files/*', (c) => {
    const cloudPath = pathOf(c);
    const env = envOf(c);
    if (!storage.envFiles(env).files.delete(cloudPath)) {
      throw new EmulatorError('STORAGE_FILE_NONEXIST', `no file ${cloudPath}`, 404);
    }
    storage.ctx.events.emit('storage.operation', {
      action: 'delete',
      via: 'control',
      fileID: storage.fileId(cloudPath, env),
      path: cloudPath,
    });
    return c.json({ deleted: true });
  });
}
