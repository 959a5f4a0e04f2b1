// The small project every deploy test starts from: two functions (one with a timer trigger), one
// collection with indexes, and a real RSA upload key, in a fresh temp dir per test.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const APPID = 'wx1234567890abcdef';
export const ENV_ID = 'prod-8g2k3abc1234';
export const SECRET = '0123456789abcdef0123456789abcdef';
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** The current test's project: set by useDeployProject's beforeEach. */
export const project = { root: '', keyPath: '', keyPem: '' };

export function write(rel: string, content: string): void {
  const file = path.join(project.root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** Registers the per-test project set-up and clean-up in the calling suite. */
export function useDeployProject(): void {
  beforeEach(() => {
    project.root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-test-'));
    write('project.config.json', JSON.stringify({ appid: 'wx0000000000000000' }));
    write('cloudfunctions/alpha/index.js', 'exports.main = 1;\n'); // 18 bytes
    write('cloudfunctions/alpha/package.json', '{}'); // 2 bytes
    write(
      'cloudfunctions/alpha/config.json',
      JSON.stringify({
        timeout: 60,
        triggers: [{ name: 'tick', type: 'timer', config: '0 */5 * * * * *' }],
      }),
    );
    write('cloudfunctions/alpha/node_modules/dep/index.js', 'ignored');
    write('cloudfunctions/alpha/lib/util.js', 'x'); // 1 byte
    write('cloudfunctions/beta/index.js', 'b');
    write('cloudfunctions/beta/package.json', '{}');
    write('cloudfunctions/notafunction/readme.txt', 'no package.json here');
    write(
      'database/ORDERS.json',
      JSON.stringify({
        rules: { read: 'doc._openid == auth.openid', write: false },
        indexes: [
          { name: 'tradeno_unique', keys: { tradeno: 1 }, unique: true },
          { name: 'owner_time', keys: { _openid: 1, at: -1 } },
        ],
      }),
    );
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    project.keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    project.keyPath = path.join(project.root, `private.${APPID}.key`);
    fs.writeFileSync(project.keyPath, project.keyPem);
  });
  afterEach(() => fs.rmSync(project.root, { recursive: true, force: true }));
}

export const goodEnv = (): Record<string, string> => ({
  WX_APPID: APPID,
  WX_UPLOAD_KEY_PATH: project.keyPath,
  CLOUDPAY_ENV_ID: ENV_ID,
  WX_APPSECRET: SECRET,
});
