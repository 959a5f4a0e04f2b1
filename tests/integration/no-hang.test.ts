// `npm test` must end by itself even when a suite's setup fails halfway (issue 16: with no
// Chromium, the browser launch failed inside the same Promise.all as the emulator's start, the
// emulator was never stopped, and jest hung for 16 minutes). This runs the browser suite in its
// own jest with a Chromium that does not exist and checks that jest reports the failure and
// exits on its own, with nothing left running.

import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

test('a browser that cannot launch fails the browser suite, and jest still exits by itself', async () => {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'node_modules/jest/bin/jest.js'), '--selectProjects', 'e2e', '--ci'],
    {
      cwd: ROOT,
      env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A bound on the wait, not a speed target: a hung jest would otherwise hang this one too.
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number | string>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running after 90 s');
    }, 90_000);
    child.once('exit', (exitCode) => resolve(exitCode ?? 'killed'));
  }).finally(() => clearTimeout(timer));

  expect({ code, output }).toEqual({ code: 1, output: expect.stringContaining('no Chromium at') });
  expect(output).not.toContain('did not exit');
  expect(output).not.toContain('Cannot log after tests are done');
}, 120_000);
