import crypto from 'node:crypto';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { EmulatorError } from '../errors';
import type { StorageService } from './index';
import { STORAGE_MAX_FILE_BYTES } from './index';

/**
 * The object store the storage actions point at, served by the emulator itself in place of COS
 * (`https://<bucket>.tcb.qcloud.la/<path>` and the upload host on the cloud):
 * - `PUT  /tcb-storage/<bucket>/<path>`: the node SDK's upload, with the ticket from
 *   getUploadMetadata in `x-cos-security-token` and `authorization` (node-sdk storage/index.ts).
 * - `POST /tcb-storage/<bucket>`: the form upload of the HTTP API / mini-program side, fields
 *   `key`, `Signature`, `x-cos-security-token`, `x-cos-meta-fileid`, `file`.
 * - `GET|HEAD /tcb-storage/<bucket>/<path>?sign=&t=`: a temporary link; refused once `t` (expiry,
 *   epoch seconds) has passed on the emulated clock or when the signature does not match.
 * Errors are COS's XML `<Error><Code>..</Code><Message>..</Message>...</Error>`, which the node
 * SDK parses; success of a PUT is an empty body, as COS answers.
 */
export const OBJECT_STORE_PREFIX = '/tcb-storage';

function xmlError(
  c: Context,
  status: 400 | 403 | 404 | 413,
  code: string,
  message: string,
): Response {
  const id = crypto.randomBytes(12).toString('base64url');
  const escape = (s: string): string =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  c.header('content-type', 'application/xml');
  return c.body(
    `<?xml version='1.0' encoding='utf-8' ?>\n<Error>\n<Code>${escape(code)}</Code>\n<Message>${escape(message)}</Message>\n<Resource>${escape(c.req.path)}</Resource>\n<RequestId>${id}</RequestId>\n<TraceId>${id}</TraceId>\n</Error>`,
    status,
  );
}

/** The cloud path after `/tcb-storage/<bucket>/`, decoded; undefined for another bucket. */
function pathAfterBucket(c: Context, bucket: string): string | undefined {
  const pathname = new URL(c.req.url).pathname;
  const prefix = `${OBJECT_STORE_PREFIX}/${bucket}/`;
  if (!pathname.startsWith(prefix)) return undefined;
  try {
    return pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

function tooLarge(c: Context): boolean {
  const length = Number(c.req.header('content-length') ?? 0);
  return length > STORAGE_MAX_FILE_BYTES;
}

export function objectStoreRoutes(app: Hono, storage: StorageService): void {
  // Bodies sent without a Content-Length (chunked) are cut off at the limit too, unread beyond it.
  app.use(
    `${OBJECT_STORE_PREFIX}/*`,
    bodyLimit({
      maxSize: STORAGE_MAX_FILE_BYTES,
      onError: (c) =>
        xmlError(
          c,
          413,
          'EntityTooLarge',
          `wxcloud-emulator stores at most ${STORAGE_MAX_FILE_BYTES} bytes per file`,
        ),
    }),
  );
  const upload = (
    c: Context,
    cloudPath: string,
    token: string | undefined,
    authorization: string | undefined,
    bytes: Buffer,
    env: string,
  ): Response | undefined => {
    try {
      const ticket = storage.takeTicket(token, authorization, cloudPath, env);
      storage.write(cloudPath, bytes, ticket.owner, ticket.owner ? 'client' : 'server', env);
      return undefined;
    } catch (err) {
      if (err instanceof EmulatorError) {
        return err.code === 'STORAGE_REQUEST_FAIL'
          ? xmlError(c, 413, 'EntityTooLarge', err.message)
          : xmlError(c, 403, err.code, err.message);
      }
      throw err;
    }
  };

  // Each hosted env has its own bucket; the URL names it, and with it the env.
  app.put(`${OBJECT_STORE_PREFIX}/:bucket/*`, async (c) => {
    const target = storage.envOfBucket(c.req.param('bucket'));
    const cloudPath = target && pathAfterBucket(c, target.bucket);
    if (!target || cloudPath === undefined)
      return xmlError(c, 404, 'NoSuchBucket', 'The specified bucket does not exist.');
    if (tooLarge(c)) {
      return xmlError(
        c,
        413,
        'EntityTooLarge',
        `wxcloud-emulator stores at most ${STORAGE_MAX_FILE_BYTES} bytes per file`,
      );
    }
    const bytes = Buffer.from(await c.req.arrayBuffer());
    const failed = upload(
      c,
      cloudPath,
      c.req.header('x-cos-security-token'),
      c.req.header('authorization'),
      bytes,
      target.env,
    );
    return failed ?? c.body(null, 200);
  });

  app.post(`${OBJECT_STORE_PREFIX}/:bucket`, async (c) => {
    const target = storage.envOfBucket(c.req.param('bucket'));
    if (!target) {
      return xmlError(c, 404, 'NoSuchBucket', 'The specified bucket does not exist.');
    }
    if (tooLarge(c)) {
      return xmlError(
        c,
        413,
        'EntityTooLarge',
        `wxcloud-emulator stores at most ${STORAGE_MAX_FILE_BYTES} bytes per file`,
      );
    }
    const form = await c.req.parseBody().catch(() => undefined);
    const file = form?.file;
    if (!form || typeof form.key !== 'string' || !(file instanceof Blob)) {
      return xmlError(
        c,
        400,
        'MalformedPOSTRequest',
        'The body of your POST request is not well-formed multipart/form-data.',
      );
    }
    const token =
      typeof form['x-cos-security-token'] === 'string' ? form['x-cos-security-token'] : undefined;
    const signature = typeof form.Signature === 'string' ? form.Signature : undefined;
    const bytes = Buffer.from(await file.arrayBuffer());
    const failed = upload(c, form.key, token, signature, bytes, target.env);
    if (failed) return failed;
    const status = Number(form.success_action_status);
    return c.body(null, status === 200 || status === 201 ? status : 204);
  });

  const download = (c: Context, headOnly: boolean): Response => {
    const target = storage.envOfBucket(c.req.param('bucket') ?? '');
    const cloudPath = target && pathAfterBucket(c, target.bucket);
    if (!target || cloudPath === undefined)
      return xmlError(c, 404, 'NoSuchBucket', 'The specified bucket does not exist.');
    const refused = storage.checkTempUrl(
      target.bucket,
      cloudPath,
      c.req.query('sign'),
      c.req.query('t'),
    );
    if (refused) {
      storage.ctx.events.emit('storage.denied', {
        action: 'download',
        operation: 'read',
        fileID: storage.fileId(cloudPath, target.env),
        path: cloudPath,
        reason: refused,
      });
      return xmlError(c, 403, 'AccessDenied', refused);
    }
    const file = target.files.get(cloudPath);
    if (!file) return xmlError(c, 404, 'NoSuchKey', 'The specified key does not exist.');
    c.header('content-type', file.meta.contentType);
    c.header('content-length', String(file.meta.size));
    c.header('etag', `"${file.meta.etag}"`);
    // Pages in the preview load images and files from another origin than the console.
    c.header('access-control-allow-origin', '*');
    return headOnly ? c.body(null, 200) : c.body(new Uint8Array(file.bytes), 200);
  };
  app.get(`${OBJECT_STORE_PREFIX}/:bucket/*`, (c) => download(c, c.req.method === 'HEAD'));
}
