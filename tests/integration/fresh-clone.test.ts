// A new user's first minutes, as the README says them: a fresh copy of the repository, one
// `npm ci` (what `npm install` does on a clone with a lockfile), then `npx wxcloud-emulator ...`.
// npm links a package's bin before `prepare` builds it, so this is the test that catches a bin
// pointing at a file only the build creates (issue 16: "sh: 1: wxcloud-emulator: not found").
//
// The copy holds what a clone of this tree would hold: tracked files plus new ones git does not
// ignore (so uncommitted work is what gets tested), none of node_modules or build output.
// `npm ci --offline` installs from the local npm cache (filled by the install that runs these
// tests), so the test needs no network and stays about as quick as an install can be.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
let clone: string;
let emulator: ChildProcess | undefined;

/** The environment of a user's shell, with npm kept off the network (the cache has everything). */
function userEnv(): NodeJS.ProcessEnv {
  // Jest and the npm script that runs it set npm_* variables; a user's shell has none of them.
  const kept = Object.entries(process.env).filter(
    ([key]) =>
      (key === 'npm_config_cache' || !key.startsWith('npm_')) &&
      key !== 'NODE_OPTIONS' &&
      key !== 'JEST_WORKER_ID',
  );
  return { ...Object.fromEntries(kept), npm_config_offline: 'true' };
}

function run(command: string, args: string[], timeoutMs: number): string {
  return execFileSync(command, args, {
    cwd: clone,
    env: userEnv(),
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

beforeAll(() => {
  clone = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-fresh-clone-'));
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
    .split('\0')
    .filter((file) => file && fs.existsSync(path.join(ROOT, file)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(clone, file));
    fs.chmodSync(path.join(clone, file), fs.statSync(path.join(ROOT, file)).mode);
  }
  expect(fs.existsSync(path.join(clone, 'node_modules'))).toBe(false);
  expect(fs.existsSync(path.join(clone, 'emulator', 'dist'))).toBe(false);
  // The README's first command (`npm install`; with a lockfile, `npm ci` is the same install).
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], 240_000);
}, 300_000);

afterAll(() => {
  emulator?.kill('SIGKILL');
  if (clone) fs.rmSync(clone, { recursive: true, force: true });
});

test('the first install links the bin: `npx wxcloud-emulator --help` prints the usage', () => {
  const out = run('npx', ['wxcloud-emulator', '--help'], 30_000);
  expect(out).toMatch(/^Usage:/m);
  expect(out).toContain('wxcloud-emulator start');
  expect(out).toContain('wxcloud-emulator pay');
});

test('`npx wxcloud-emulator start` prints the ready line, and `pay list` answers from it', async () => {
  const child = spawn('npx', ['wxcloud-emulator', 'start', '--port', '0', '--in-memory'], {
    cwd: clone,
    env: userEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so the kill below reaches node behind npx.
    detached: true,
  });
  emulator = child;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`no ready line in 30 s: ${stderr}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^wxcloud-emulator ready at (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready: ${stderr}`));
    });
  });
  try {
    const list = run('npx', ['wxcloud-emulator', 'pay', 'list', '--url', url], 30_000);
    expect(list).toBe('no orders yet\n');
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-(child.pid as number), 'SIGTERM');
    await exited;
  }
}, 60_000);
