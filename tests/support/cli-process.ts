import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';

/**
 * The emulator's bin as users run it, in a real child process: bundled into a temporary folder
 * (the same esbuild options as scripts/build.mjs) so a test never races another build of
 * emulator/dist; started and killed by pid only.
 */

const root = path.resolve(__dirname, '../..');

export interface CliBin {
  /** The bundled cli.js. */
  file: string;
  /** Starts it and resolves with its URL once it prints the ready line (bounded wait). */
  start(args: string[], cwd: string): Promise<{ child: ChildProcess; url: string }>;
  /** Runs one command to its end (export, import...), with stdout and stderr together. */
  run(args: string[], cwd: string): Promise<{ code: number | null; out: string }>;
  /** SIGKILLs every child still running (afterAll). */
  killAll(): void;
}

// The bundle leaves packages external; they resolve from this repository's node_modules.
const childEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '',
  NODE_PATH: path.join(root, 'node_modules'),
});

export async function bundleCli(): Promise<CliBin> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-cli-'));
  await esbuild.build({
    entryPoints: ['cli', 'functions/worker'].map((n) => path.join(root, 'emulator/src', `${n}.ts`)),
    outdir,
    outbase: path.join(root, 'emulator/src'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
  });
  const file = path.join(outdir, 'cli.js');
  const children = new Set<ChildProcess>();
  const spawnBin = (args: string[], cwd: string): ChildProcess => {
    const child = spawn(process.execPath, [file, ...args], {
      cwd,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  return {
    file,
    start: (args, cwd) => {
      const child = spawnBin(args, cwd);
      return new Promise((resolve, reject) => {
        let out = '';
        let err = '';
        const timer = setTimeout(
          () => reject(new Error(`no ready line within 15 s; stderr: ${err}`)),
          15000,
        );
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /^wxcloud-emulator ready at (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve({ child, url: match[1] });
          }
        });
        child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`cli exited with ${code} before ready: ${err}`));
        });
      });
    },
    run: (args, cwd) =>
      new Promise((resolve) => {
        const child = spawnBin(args, cwd);
        let out = '';
        child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
        child.once('exit', (code) => resolve({ code, out }));
      }),
    killAll: () => {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}

/** SIGKILLs `child` (no clean stop) and resolves once it has exited. */
export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
