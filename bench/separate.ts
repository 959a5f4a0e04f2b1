// An emulator in its own process (`wxcloud-emulator start`, as a developer runs it), so the load
// generator's CPU is not counted as the emulator's. Its CPU time (every thread: main and function
// workers) and memory are read from /proc, which is how the figures were measured. The
// emulator may come from another checkout (`--baseline DIR`, e.g. a worktree of main), so a
// before/after comparison runs both in one bench run without touching this tree.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const TICKS_PER_SECOND = 100;

export interface SeparateEmulator {
  url: string;
  pid: number;
  /** Which checkout the emulator was built from (its root). */
  tree: string;
  /** CPU time the emulator process has used so far, all threads, user + system (ms). */
  cpuMs(): number;
  /** Resident memory now (MB). */
  rssMb(): number;
  /**
   * Heaps now (MB), from GET /emulator/v1/memory: the main thread's used heap and the sum over
   * function instances (worker threads, part of the RSS). Undefined for an emulator without the
   * route (a baseline from before it).
   */
  heapMb(): Promise<HeapMb | undefined>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface HeapMb {
  main: number;
  instances: number;
  instanceCount: number;
}

async function readHeaps(url: string): Promise<HeapMb | undefined> {
  const res = await fetch(`${url}/emulator/v1/memory`);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET /emulator/v1/memory answered ${res.status}`);
  const body = (await res.json()) as { heapUsedMb: number; instances: { heapUsedMb: number }[] };
  return {
    main: body.heapUsedMb,
    instances: body.instances.reduce((sum, i) => sum + i.heapUsedMb, 0),
    instanceCount: body.instances.length,
  };
}

export async function startSeparate(
  tree: string,
  projectDir: string,
  extraArgs: string[] = [],
  /** Flags for node itself (e.g. --cpu-prof), before the CLI's path. */
  nodeArgs: string[] = [],
): Promise<SeparateEmulator> {
  const cli = path.join(tree, 'emulator/dist/cli.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run "node scripts/build.mjs" there`);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...nodeArgs,
      cli,
      'start',
      '--in-memory',
      '--port',
      '0',
      '--functions',
      path.join(projectDir, 'cloudfunctions'),
      ...extraArgs,
    ],
    { cwd: projectDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${cli}`);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${cli} not ready in 30 s: ${err}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /ready at (http:\/\/\S+)/.exec(out);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    });
    // Keep only the tail: a long run's function logs would otherwise pile up here.
    child.stderr?.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-2000)));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cli} exited with ${code}: ${err}`));
    });
  });
  // Function logs keep flowing to stdout: drain them so the pipe never blocks the emulator.
  child.stdout?.resume();
  return {
    url,
    pid,
    tree,
    cpuMs: () => processCpuMs(pid),
    rssMb: () => processRssMb(pid),
    heapMb: () => readHeaps(url),
    reset: async () => {
      const res = await fetch(`${url}/emulator/v1/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`reset answered ${res.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function processCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

function processRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** The machine's load right now (1, 5, 15 minutes), as /proc/loadavg gives it. */
export function loadAverage(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
