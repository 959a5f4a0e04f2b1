// `npm run bench -- --throughput [--separate] [--baseline DIR] [--growth N]`: the issue-18
// figures. The users (createWx, the real database client, the pay sheet) run in this process;
// with --separate the emulator runs in its own (`wxcloud-emulator start`), so its CPU per paid
// order is its own. With --baseline DIR (a checkout built with `node scripts/build.mjs`, e.g.
// `git worktree add /tmp/perf-base <commit>` plus node_modules) every figure is measured for that
// emulator and this one in the same run, runs alternating, and reported as after/before ratios.

import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmulator } from '../emulator/src';
import { payOnce } from './flows';
import { newUser } from './loop';
import { loadAverage, startSeparate, type HeapMb, type SeparateEmulator } from './separate';
import { FIXTURE_PROJECT } from './startup';
import { median, percentile } from './stats';

const ROOT = path.resolve(__dirname, '..');

export interface ThroughputOptions {
  separate: boolean;
  baseline?: string;
  users: number;
  repeats: number;
  /** Orders in the growth run for this tree (0 skips it) and for the baseline. */
  growth: number;
  baselineGrowth: number;
  /** Extra `wxcloud-emulator start` flags for this tree only (e.g. --sdk-transport http). */
  extraArgs: string[];
  progress: (line: string) => void;
}

interface Figure {
  value: number;
  load: string;
}

export interface Side {
  label: 'before' | 'after';
  tree: string;
  ordersPerSecond: Figure[];
  cpuMsPerOrder: Figure[];
  sequentialP50Ms?: Figure;
  sdkGetMs?: Figure;
  httpOverheadMs?: Figure;
  growth?: GrowthResult;
}

export interface GrowthResult {
  orders: number;
  /** Per 1,000 orders (the last chunk may be shorter): wall rate and emulator CPU per order. */
  chunks: { orders: number; ordersPerSecond: number; cpuMsPerOrder: number; load: string }[];
  rssMb: { start: number; end: number; afterReset: number };
  /** Used heaps at the same three moments (undefined for an emulator without /memory). */
  heapMb?: { start: HeapMb; end: HeapMb; afterReset: HeapMb };
  failed: number;
}

interface Batch {
  completed: number;
  failed: number;
  errors: string[];
  wallMs: number;
  latencies: number[];
}

/** `users` users paying at once (or one after the other), each its own fresh user. */
export async function payBatch(url: string, users: number, sequential = false): Promise<Batch> {
  const latencies: number[] = [];
  const errors: string[] = [];
  const one = async (): Promise<void> => {
    try {
      latencies.push((await payOnce(url, newUser('tp'), 'watch')).latencyMs);
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  };
  const started = performance.now();
  if (sequential) for (let i = 0; i < users; i++) await one();
  else await Promise.all(Array.from({ length: users }, one));
  return {
    completed: latencies.length,
    failed: errors.length,
    errors: errors.slice(0, 3),
    wallMs: performance.now() - started,
    latencies,
  };
}

async function throughputRun(emu: SeparateEmulator, users: number): Promise<[Figure, Figure]> {
  await emu.reset();
  const cpu = emu.cpuMs();
  const batch = await payBatch(emu.url, users);
  const load = loadAverage();
  if (batch.failed)
    throw new Error(`${batch.failed} of ${users} orders failed: ${batch.errors[0]}`);
  return [
    { value: batch.completed / (batch.wallMs / 1000), load },
    { value: (emu.cpuMs() - cpu) / batch.completed, load },
  ];
}

/**
 * `total` orders without a reset, `concurrency` users at a time, each 1,000 timed on its own: a
 * database whose cost grows with its data shows as a falling rate and a rising CPU per order.
 */
async function growthRun(
  emu: SeparateEmulator,
  total: number,
  concurrency: number,
  progress: (line: string) => void,
): Promise<GrowthResult> {
  const CHUNK = 1000;
  await emu.reset();
  const rssStart = emu.rssMb();
  const heapStart = await emu.heapMb();
  const chunks: GrowthResult['chunks'] = [];
  let started = 0;
  let failed = 0;
  let chunkDone = 0;
  let chunkAt = performance.now();
  let chunkCpu = emu.cpuMs();
  const closeChunk = (): void => {
    const wall = performance.now() - chunkAt;
    const cpu = emu.cpuMs() - chunkCpu;
    chunks.push({
      orders: chunkDone,
      ordersPerSecond: chunkDone / (wall / 1000),
      cpuMsPerOrder: cpu / Math.max(1, chunkDone),
      load: loadAverage(),
    });
    const last = chunks[chunks.length - 1];
    progress(
      `growth: ${chunks.length * CHUNK} orders, ${last.ordersPerSecond.toFixed(1)} orders/s, ${last.cpuMsPerOrder.toFixed(1)} ms CPU/order (load ${last.load})`,
    );
    chunkDone = 0;
    chunkAt = performance.now();
    chunkCpu = emu.cpuMs();
  };
  const user = async (): Promise<void> => {
    while (started < total) {
      started++;
      try {
        await payOnce(emu.url, newUser('growth'), 'watch');
      } catch {
        failed++;
        continue;
      }
      chunkDone++;
      if (chunkDone === CHUNK) closeChunk();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, user));
  if (chunkDone) closeChunk();
  const rssEnd = emu.rssMb();
  const heapEnd = await emu.heapMb();
  await emu.reset();
  // Give the emulator a moment to drop what the reset released (the instances collect on their
  // own threads after the reset has answered).
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const rssAfterReset = emu.rssMb();
  const heapAfterReset = await emu.heapMb();
  return {
    orders: total,
    chunks,
    rssMb: { start: rssStart, end: rssEnd, afterReset: rssAfterReset },
    ...(heapStart && heapEnd && heapAfterReset
      ? { heapMb: { start: heapStart, end: heapEnd, afterReset: heapAfterReset } }
      : {}),
    failed,
  };
}

interface InvokeAnswer {
  result?: { ownMs?: number; medianMs?: number };
  errMsg?: string;
}

async function invoke(url: string, name: string, data: unknown): Promise<InvokeAnswer> {
  const res = await fetch(`${url}/emulator/v1/functions/${name}/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  const body = (await res.json()) as InvokeAnswer;
  if (!body.result) throw new Error(`${name} failed: ${body.errMsg ?? JSON.stringify(body)}`);
  return body;
}

/**
 * One noop invocation over a kept-alive node:http connection: its wall time less the function's
 * own. Not fetch: undici's own work per request (about 0.4 ms on this machine) would be counted
 * as the emulator's overhead.
 */
function timedInvocation(agent: http.Agent, url: URL): Promise<number> {
  const body = JSON.stringify({ data: {} });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/emulator/v1/functions/noop/invoke',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () => {
          const answer = JSON.parse(Buffer.concat(parts).toString()) as InvokeAnswer;
          if (!answer.result) reject(new Error(`noop failed: ${answer.errMsg ?? 'no result'}`));
          else resolve(performance.now() - started - Number(answer.result.ownMs ?? 0));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One SDK doc().get() as a function sees it, and the emulator's cost of a warm HTTP invocation.
 * Both are steady-state figures of a warm instance: 3,000 reads and 1,000 invocations first let
 * the JIT settle (after the old 20 the median still fell by a third over the next 3,000).
 */
async function requestFigures(
  tree: string,
  extraArgs: string[],
): Promise<{ sdkGetMs: Figure; httpOverheadMs: Figure }> {
  const emu = await startSeparate(tree, FIXTURE_PROJECT, extraArgs);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 6; i++) await invoke(emu.url, 'sdkget', { n: 500 });
    const gets: number[] = [];
    for (let i = 0; i < 5; i++) {
      gets.push(Number((await invoke(emu.url, 'sdkget', { n: 200 })).result?.medianMs));
    }
    const sdkGetMs = { value: median(gets), load: loadAverage() };
    const url = new URL(emu.url);
    for (let i = 0; i < 1000; i++) await timedInvocation(agent, url);
    const overheads: number[] = [];
    for (let i = 0; i < 400; i++) overheads.push(await timedInvocation(agent, url));
    return { sdkGetMs, httpOverheadMs: { value: median(overheads), load: loadAverage() } };
  } finally {
    agent.destroy();
    await emu.stop();
  }
}

export async function runThroughput(options: ThroughputOptions): Promise<Side[]> {
  const { progress } = options;
  const sides: Side[] = [];
  if (options.baseline) sides.push(newSide('before', path.resolve(options.baseline)));
  sides.push(newSide('after', ROOT));
  const argsOf = (side: Side): string[] => (side.label === 'after' ? options.extraArgs : []);

  if (!options.separate) {
    // Users and emulator in one process, as the main bench runs them.
    const emu = await startEmulator({ projectDir: ROOT, port: 0, inMemory: true });
    try {
      await payBatch(emu.url, 30);
      for (let r = 0; r < options.repeats; r++) {
        await emu.reset();
        const cpu = process.cpuUsage();
        const batch = await payBatch(emu.url, options.users);
        const used = process.cpuUsage(cpu);
        const load = loadAverage();
        sides[sides.length - 1].ordersPerSecond.push({
          value: batch.completed / (batch.wallMs / 1000),
          load,
        });
        sides[sides.length - 1].cpuMsPerOrder.push({
          value: (used.user + used.system) / 1000 / batch.completed,
          load,
        });
        progress(`in-process ×${options.users}: ${batch.completed} paid (load ${load})`);
      }
    } finally {
      await emu.stop();
    }
    return sides;
  }

  const emus = new Map<Side, SeparateEmulator>();
  try {
    for (const side of sides) {
      const emu = await startSeparate(side.tree, ROOT, argsOf(side));
      emus.set(side, emu);
      // Warm every instance and the JIT up with two full batches (one batch of 30 left the first
      // measured run at half the rate of the later ones), then the sequential loop (confirm → the
      // watch sees it paid).
      for (let i = 0; i < 2; i++) await payBatch(emu.url, options.users);
      await emu.reset();
      const sequential = await payBatch(emu.url, 20, true);
      side.sequentialP50Ms = { value: percentile(sequential.latencies, 50), load: loadAverage() };
      progress(`${side.label}: sequential p50 ${side.sequentialP50Ms.value.toFixed(1)} ms`);
    }
    for (let r = 0; r < options.repeats; r++) {
      // Alternate which side goes first, so a change in the machine's load hits both alike.
      const order = r % 2 ? [...sides].reverse() : sides;
      for (const side of order) {
        const emu = emus.get(side);
        if (!emu) continue;
        const [rate, cpu] = await throughputRun(emu, options.users);
        side.ordersPerSecond.push(rate);
        side.cpuMsPerOrder.push(cpu);
        progress(
          `${side.label} ×${options.users}: ${rate.value.toFixed(1)} orders/s, ${cpu.value.toFixed(1)} ms emulator CPU/order (load ${rate.load})`,
        );
      }
    }
    for (const side of sides) {
      const emu = emus.get(side);
      const orders = side.label === 'after' ? options.growth : options.baselineGrowth;
      if (!emu || orders <= 0) continue;
      progress(`${side.label}: growth run, ${orders} orders without reset`);
      side.growth = await growthRun(emu, orders, options.users, progress);
    }
  } finally {
    for (const emu of emus.values()) await emu.stop();
  }
  for (const side of sides) {
    Object.assign(side, await requestFigures(side.tree, argsOf(side)));
    progress(
      `${side.label}: SDK doc().get() ${side.sdkGetMs?.value.toFixed(2)} ms, HTTP invocation overhead ${side.httpOverheadMs?.value.toFixed(2)} ms`,
    );
  }
  return sides;
}

function newSide(label: Side['label'], tree: string): Side {
  return { label, tree, ordersPerSecond: [], cpuMsPerOrder: [] };
}

// ---- the table ----------------------------------------------------------------------------------

const med = (figures: Figure[]): number => median(figures.map((f) => f.value));
const loads = (figures: Figure[]): string => figures.map((f) => f.load.split(' ')[0]).join('/');

/** Rate over the last 1,000 orders against the first 1,000 (target ≥ 0.9). */
export function flatness(growth: GrowthResult): number {
  const full = growth.chunks.filter((c) => c.orders >= 1000);
  if (full.length < 2) return NaN;
  return full[full.length - 1].ordersPerSecond / full[0].ordersPerSecond;
}

export function printThroughput(sides: Side[], options: ThroughputOptions): string[] {
  const lines: string[] = [];
  const out = (line: string): void => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const before = sides.find((s) => s.label === 'before');
  const after = sides.find((s) => s.label === 'after');
  const ratio = (get: (s: Side) => number | undefined): string => {
    const a = after && get(after);
    const b = before && get(before);
    return a !== undefined && b !== undefined && b ? ` (after/before ${(a / b).toFixed(2)}×)` : '';
  };
  out(
    `\nThroughput (${options.separate ? 'emulator in its own process' : 'users and emulator in one process'}, ${options.users} users, ${options.repeats} runs, medians; load = 1-min loadavg per run)`,
  );
  for (const side of sides) {
    out(`  ${side.label.padEnd(6)} ${side.tree}`);
    out(
      `    paid orders/s       ${med(side.ordersPerSecond).toFixed(1).padStart(7)}   runs ${side.ordersPerSecond.map((f) => f.value.toFixed(1)).join(', ')} (load ${loads(side.ordersPerSecond)})`,
    );
    out(
      `    CPU ms / paid order ${med(side.cpuMsPerOrder).toFixed(1).padStart(7)}   ${options.separate ? 'emulator process, all threads' : 'whole process, users included'}`,
    );
    if (side.sequentialP50Ms)
      out(
        `    sequential loop p50 ${side.sequentialP50Ms.value.toFixed(1).padStart(7)} ms (load ${side.sequentialP50Ms.load})`,
      );
    if (side.sdkGetMs)
      out(
        `    SDK doc().get()     ${side.sdkGetMs.value.toFixed(2).padStart(7)} ms as a function sees it (load ${side.sdkGetMs.load})`,
      );
    if (side.httpOverheadMs)
      out(
        `    HTTP invoke overhead${side.httpOverheadMs.value.toFixed(2).padStart(7)} ms per warm invocation, node:http keep-alive client (load ${side.httpOverheadMs.load})`,
      );
    if (side.growth) {
      const g = side.growth;
      out(
        `    growth, ${g.orders} orders: per 1,000 ${g.chunks.map((c) => c.ordersPerSecond.toFixed(0)).join(' ')} orders/s`,
      );
      out(
        `      CPU ms/order per 1,000 ${g.chunks.map((c) => c.cpuMsPerOrder.toFixed(1)).join(' ')}; last/first rate ${flatness(g).toFixed(2)}; RSS ${g.rssMb.start.toFixed(0)} → ${g.rssMb.end.toFixed(0)} → ${g.rssMb.afterReset.toFixed(0)} MB after reset (after/start ${(g.rssMb.afterReset / g.rssMb.start).toFixed(2)}; target ≤ 1.20)${g.failed ? `; ${g.failed} FAILED` : ''}`,
      );
      const h = g.heapMb;
      const heaps = (m: HeapMb): string =>
        `${m.main.toFixed(0)} + ${m.instances.toFixed(0)} (${m.instanceCount})`;
      if (h)
        out(
          `      heap used, main + function instances (count): ${heaps(h.start)} → ${heaps(h.end)} → ${heaps(h.afterReset)} MB after reset`,
        );
    }
  }
  if (before && after) {
    out('  after/before, same run:');
    out(`    orders/s ${ratio((s) => med(s.ordersPerSecond)).trim()}`);
    out(`    CPU per order ${ratio((s) => med(s.cpuMsPerOrder)).trim()}`);
    out(`    sequential p50 ${ratio((s) => s.sequentialP50Ms?.value).trim()}`);
    out(`    SDK doc().get() ${ratio((s) => s.sdkGetMs?.value).trim()}`);
    out(`    HTTP invoke overhead ${ratio((s) => s.httpOverheadMs?.value).trim()}`);
  }
  return lines;
}
