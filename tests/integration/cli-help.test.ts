// The CLI's help and errors as a user meets them (issue 16 item 4, issue 14 item 8), through the
// package's bin on the built CLI (npm test builds it first). The wording is the emulator's own.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { COMMANDS, START } from '../../emulator/src/cli/usage';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'emulator/bin/wxcloud-emulator.js');

function cli(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

/** Starts the bin and resolves once it is ready (or exits), with what it printed; then kills it. */
function startAndStop(args: string[]): Promise<{ ready: boolean; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--in-memory', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready at')) child.kill('SIGTERM');
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve({ ready: out.includes('wxcloud-emulator ready at'), out, err });
    });
  });
}

test.each([['--help'], ['-h'], ['help'], []])(
  '`wxcloud-emulator %s` prints every command and every flag, and exits 0',
  (...args: string[]) => {
    const { code, out } = cli(...args);
    expect(code).toBe(0);
    for (const command of [...COMMANDS.map((c) => c.name), 'pay']) {
      expect(out).toContain(`wxcloud-emulator ${command}`);
    }
    for (const option of COMMANDS.flatMap((c) => c.options))
      expect(out).toContain(`--${option.name}`);
    // The pay commands too, and their options.
    for (const word of ['pay confirm', 'pay list', 'pay faults', '--url', '--json']) {
      expect(out).toContain(word);
    }
  },
);

test.each(COMMANDS.map((c) => [c.name, c] as const))(
  '`wxcloud-emulator %s --help` prints that command and its flags, and exits 0',
  (name, command) => {
    const { code, out, err } = cli(name, '--help');
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(out).toContain(`wxcloud-emulator ${name}`);
    for (const option of command.options) expect(out).toContain(`--${option.name}`);
  },
);

test('`wxcloud-emulator pay --help` prints the pay commands and exits 0', () => {
  const { code, out } = cli('pay', '--help');
  expect(code).toBe(0);
  for (const word of [
    'pay confirm',
    'pay status',
    'pay list',
    'pay resend',
    'pay faults',
    '--json',
  ])
    expect(out).toContain(word);
});

test("the README's synopsis lists every start flag", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const synopsis = /```sh\n(npx wxcloud-emulator start [\s\S]*?)```/.exec(readme)?.[1] ?? '';
  for (const option of START.options) expect(synopsis).toContain(`--${option.name}`);
});

test('a usage error names the problem and where the help is, without the whole usage', () => {
  for (const args of [
    ['start', '--bogus'],
    ['start', '--port', 'x'],
    ['explode'],
    ['pay', 'explode'],
  ]) {
    const { code, out, err } = cli(...args);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/--help lists the/);
    expect(err).not.toContain('Usage:');
    expect(err.split('\n').length).toBeLessThanOrEqual(3);
  }
});

test('a port in use says so and suggests --port 0', async () => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as net.AddressInfo).port;
    const { ready, err } = await startAndStop(['--port', String(port)]);
    expect(ready).toBe(false);
    expect(err).toContain(`port ${port} is in use`);
    expect(err).toContain('--port 0');
    expect(err).not.toContain('EADDRINUSE');
  } finally {
    taken.close();
  }
});

test('a functions folder that does not exist is an error; an empty one starts with a loud warning', async () => {
  const missing = cli('start', '--in-memory', '--port', '0', '--functions', '/does/not/exist');
  expect(missing.code).toBe(2);
  expect(missing.err).toContain('--functions /does/not/exist: no such folder');
  expect(missing.out).not.toContain('ready');

  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-no-functions-'));
  try {
    const started = await startAndStop(['--port', '0', '--functions', empty]);
    expect(started.ready).toBe(true);
    expect(started.err).toContain(`warning: no functions in ${empty}`);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
