// `npm run deploy -- --dry-run` as a user runs it, on this repository: it must change nothing.
// It used to run the production build into cloudfunctions/, leaving production bundles there
// (`npm start` then answered "配置错误: no merchant id" until the next `npm run build`). The
// production bundles now go to a temporary folder used only for the upload.

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Every file under cloudfunctions/ (built bundles included: git ignores those) with its hash and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string): void => {
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const file = path.join(abs, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(file);
        continue;
      }
      const hash = crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');
      out[path.relative(ROOT, file)] = `${hash} ${fs.statSync(file).mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

const gitStatus = (): string =>
  execFileSync('git', ['status', '--porcelain', '--ignored', '--', 'cloudfunctions', 'deploy'], {
    cwd: ROOT,
    encoding: 'utf8',
  });

test('deploy --dry-run builds production bundles elsewhere and leaves the tree as it was', () => {
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dry-run-key-'));
  try {
    const keyPath = path.join(keyDir, 'private.wx1234567890abcdef.key');
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    fs.writeFileSync(keyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const before = { status: gitStatus(), files: snapshot(path.join(ROOT, 'cloudfunctions')) };

    const run = spawnSync(process.execPath, [path.join(ROOT, 'scripts/deploy.mjs'), '--dry-run'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        PATH: process.env.PATH ?? '',
        WX_APPID: 'wx1234567890abcdef',
        WX_UPLOAD_KEY_PATH: keyPath,
        CLOUDPAY_ENV_ID: 'prod-8g2k3abc1234',
        CLOUDPAY_SUB_MCH_ID: '1230000109',
      },
    });

    expect(run.stdout).toContain('Dry run: nothing is sent');
    // The plan lists the production bundle it would upload, from the temporary build.
    expect(run.stdout).toMatch(/userpay \(\d+ files, .*\)[\s\S]*index\.js {2}\d/);
    expect({ status: gitStatus(), files: snapshot(path.join(ROOT, 'cloudfunctions')) }).toEqual(
      before,
    );
  } finally {
    fs.rmSync(keyDir, { recursive: true, force: true });
  }
}, 150_000);
