import { EmulatorError } from '../errors';

/**
 * Cloud-storage names as the platform writes them. A fileID is
 * `cloud://<envId>.<bucket>/<cloud path>`, the bucket being `<hex of the env id's first two
 * characters>-<envId>-<Tencent Cloud APPID>` (e.g. `cloud://test-f97abe.7465-test-f97abe-1258350000/a.png`,
 * the shape every fileID the console and SDKs show has). The numeric APPID belongs to the
 * Tencent Cloud account; the emulator uses a fixed fake one.
 */
export const EMULATED_TENCENT_APPID = '1250000000';

/** COS object keys are at most 850 bytes (COS "对象键" naming rules). */
export const MAX_CLOUD_PATH_BYTES = 850;

export function bucketFor(envId: string): string {
  const prefix = Buffer.from(envId.slice(0, 2), 'utf8').toString('hex');
  return `${prefix}-${envId}-${EMULATED_TENCENT_APPID}`;
}

export function fileIdFor(envId: string, cloudPath: string): string {
  return `cloud://${envId}.${bucketFor(envId)}/${cloudPath}`;
}

/**
 * The cloud path a fileID names in this env, or undefined when the fileID is malformed or names
 * another env's bucket (the platform answers such an ID as a file that does not exist).
 */
export function cloudPathOf(envId: string, fileId: string): string | undefined {
  const prefix = `cloud://${envId}.${bucketFor(envId)}/`;
  if (!fileId.startsWith(prefix)) return undefined;
  const cloudPath = fileId.slice(prefix.length);
  return checkCloudPath(cloudPath) === undefined ? cloudPath : undefined;
}

/** Why a cloud path is refused, or undefined when it is acceptable. */
export function checkCloudPath(cloudPath: unknown): string | undefined {
  if (typeof cloudPath !== 'string' || !cloudPath) return 'cloudPath must be a non-empty string';
  if (cloudPath.startsWith('/')) return `cloudPath "${cloudPath}" must not start with "/"`;
  if (Buffer.byteLength(cloudPath, 'utf8') > MAX_CLOUD_PATH_BYTES) {
    return `cloudPath is longer than ${MAX_CLOUD_PATH_BYTES} bytes`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(cloudPath)) return 'cloudPath must not hold control characters';
  const segments = cloudPath.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    return `cloudPath "${cloudPath}" has an empty, "." or ".." segment`;
  }
  return undefined;
}

export function requireCloudPath(cloudPath: unknown): string {
  const problem = checkCloudPath(cloudPath);
  if (problem) throw new EmulatorError('INVALID_PARAM', problem);
  return cloudPath as string;
}

const TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  mp4: 'video/mp4',
  mp3: 'audio/mpeg',
  zip: 'application/zip',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The Content-Type the object store answers with, from the extension (as COS does by default). */
export function contentTypeOf(cloudPath: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(cloudPath)?.[1]?.toLowerCase();
  return (ext && TYPES[ext]) ?? 'application/octet-stream';
}
