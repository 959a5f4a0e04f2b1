// `npm run bench -- --throughput --separate --profile`: where the emulator's CPU per paid order
// goes, by component. The emulator runs as its own process under V8's sampling profiler
// (`node --cpu-prof`, which also profiles every worker thread, i.e. every function instance);
// only the samples taken while the measured orders ran count (the window is read from the
// monotonic clock, which V8's profile timestamps and process.hrtime share on Linux), so start-up
// and warm-up are left out. Bundled emulator code is mapped back to `emulator/src/` through the
// build's source maps (node:module's SourceMap, no extra dependency).
//
// Read the shares, not the absolute figures: sampling every 200 µs costs the emulator CPU (the
// /proc figure printed beside it includes that), and on a loaded machine a thread preempted right
// after waking another (postMessage, writev) takes its pending sample there on resuming, which
// inflates those native calls; a finer interval makes each such sample weigh less.

import fs from 'node:fs';
import { SourceMap } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAverage, startSeparate } from './separate';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a sample's self time counts: the first rule whose test matches the (mapped) source. */
const COMPONENTS: [string, (src: string) => boolean][] = [
  ['emulator: realtime (watch)', (s) => s.includes('/emulator/src/database/realtime')],
  ['emulator: database', (s) => s.includes('/emulator/src/database/')],
  ['emulator: functions runtime', (s) => s.includes('/emulator/src/functions/')],
  ['emulator: pay sandbox', (s) => s.includes('/emulator/src/pay/')],
  ['emulator: routes, events, clock, other', (s) => s.includes('/emulator/src/')],
  [
    'wx-server-sdk / @cloudbase (in workers)',
    (s) => /node_modules\/(wx-server-sdk|@cloudbase|tcb)/.test(s),
  ],
  ['app functions (cloudfunctions bundles)', (s) => s.includes('/cloudfunctions/')],
  ['mingo', (s) => s.includes('node_modules/mingo/')],
  ['bson (EJSON)', (s) => s.includes('node_modules/bson/')],
  ['hono', (s) => s.includes('node_modules/hono/') || s.includes('node_modules/@hono/')],
  ['ws', (s) => s.includes('node_modules/ws/')],
  ['other libraries', (s) => s.includes('node_modules/')],
  ['Node fetch (undici)', (s) => s.startsWith('node:internal/deps/undici')],
  [
    'Node http, net, streams',
    (s) =>
      /^node:(_http|http|https|net|stream|internal\/(http|streams|stream_base|net|js_stream))/.test(
        s,
      ),
  ],
  [
    'Node promises, timers, async hooks',
    (s) =>
      /^node:internal\/(process\/task_queues|process\/promises|timers|async_hooks|async_context)/.test(
        s,
      ),
  ],
  ['Node worker messaging', (s) => /^node:internal\/(worker|per_context\/messageport)/.test(s)],
  ['Node other', (s) => s.startsWith('node:')],
];

const SPECIAL: Record<string, string | null> = {
  '(garbage collector)': 'V8 garbage collector',
  '(program)': 'V8 / native, unattributed',
  '(idle)': null,
  '(root)': null,
};

/** Source maps of the emulator's bundles, loaded once per file. */
class SourceResolver {
  private maps = new Map<string, SourceMap | null>();

  /** The original source file and 1-based line of a frame (the bundle's own when unmapped). */
  locate(frame: CallFrame): { source: string; line: number } {
    const file = frame.url.startsWith('file://') ? fileURLToPath(frame.url) : frame.url;
    const generated = { source: file, line: frame.lineNumber + 1 };
    if (!file.startsWith('/')) return generated;
    const map = this.mapOf(file);
    if (!map) return generated;
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as {
      originalSource?: string;
      originalLine?: number;
    };
    if (!entry.originalSource) return generated;
    const source = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : path.resolve(path.dirname(file), entry.originalSource);
    return { source, line: (entry.originalLine ?? frame.lineNumber) + 1 };
  }

  private mapOf(file: string): SourceMap | null {
    let map = this.maps.get(file);
    if (map === undefined) {
      const mapFile = `${file}.map`;
      map = fs.existsSync(mapFile)
        ? new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8')) as never)
        : null;
      this.maps.set(file, map);
    }
    return map;
  }
}

interface ThreadSummary {
  thread: string;
  /** Sampled CPU (ms) inside the window, by function (name and mapped source:line). */
  byFunction: Record<string, number>;
  /** Sampled CPU (ms) inside the window, by component. */
  byComponent: Record<string, number>;
  totalMs: number;
}

/** Self time per component of one profile, counting samples with timestamps in [from, to] (µs). */
function summariseProfile(
  profile: CpuProfile,
  from: number,
  to: number,
  resolver: SourceResolver,
): ThreadSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const componentOf = new Map<number, string | null>();
  const classify = (id: number): string | null => {
    const known = componentOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    let result: string | null = 'unknown';
    if (node) {
      const { functionName, url } = node.callFrame;
      if (functionName in SPECIAL && !url) result = SPECIAL[functionName];
      else if (!url) {
        // A V8 builtin (JSON.parse, Array.prototype.map, ...): its time is its caller's.
        const up = parent.get(id);
        result = up === undefined ? 'V8 builtins' : (classify(up) ?? 'V8 builtins');
      } else {
        const src = resolver.locate(node.callFrame).source;
        result = COMPONENTS.find(([, test]) => test(src))?.[0] ?? 'other';
      }
    }
    componentOf.set(id, result);
    return result;
  };

  const byComponent: Record<string, number> = {};
  const byFunction: Record<string, number> = {};
  // One label per profile node, not per sample: a source-map lookup for each of thousands of
  // samples would repeat the same work.
  const labels = new Map<number, string>();
  const label = (id: number): string => {
    let text = labels.get(id);
    if (text !== undefined) return text;
    const f = byId.get(id)?.callFrame;
    if (!f) text = '?';
    else if (!f.url) text = f.functionName;
    else {
      const { source, line } = resolver.locate(f);
      const short = source
        .replace(/^.*\/node_modules\//, '')
        .replace(/^.*\/(emulator\/src|cloudfunctions)\//, '$1/');
      text = `${f.functionName || '(anonymous)'} ${short}:${line}`;
    }
    labels.set(id, text);
    return text;
  };
  const { samples, timeDeltas } = profile;
  const interval = medianOf(timeDeltas.slice(1)) / 1000;
  let at = profile.startTime;
  let threadName = 'main';
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i];
    if (at < from || at > to) continue;
    // A sample stands for one sampling interval of running code. V8 samples on wall-clock ticks
    // but a thread the OS has descheduled takes no sample until it runs again, so weighting by the
    // gap to the next sample would count time spent waiting for a core as the current function's
    // (on a loaded machine, postMessage's wake-up of another thread looked like 3 ms per order).
    const weight = interval;
    const component = classify(samples[i]);
    if (component === null) continue;
    byComponent[component] = (byComponent[component] ?? 0) + weight;
    const fn = label(samples[i]);
    byFunction[fn] = (byFunction[fn] ?? 0) + weight;
  }
  for (const n of profile.nodes) {
    const fn = /\/cloudfunctions\/([^/]+)\//.exec(n.callFrame.url);
    if (fn) {
      threadName = `worker ${fn[1]}`;
      break;
    }
  }
  const totalMs = Object.values(byComponent).reduce((a, b) => a + b, 0);
  return { thread: threadName, byComponent, byFunction, totalMs };
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** What runs under the profiler: a warm-up, then the measured work, counted in `unit`s. */
export interface Workload {
  unit: string;
  projectDir: string;
  warmUp(url: string): Promise<void>;
  /** One measured round; resolves with how many units it completed. */
  round(url: string): Promise<number>;
}

export interface ProfileOptions {
  /** The checkout whose emulator is profiled (default: this one; e.g. the --baseline tree). */
  tree?: string;
  repeats: number;
  extraArgs: string[];
  progress: (line: string) => void;
}

/** Runs the workload `repeats` times under the profiler and prints the split by component. */
export async function runProfile(workload: Workload, options: ProfileOptions): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-profile-'));
  const emu = await startSeparate(
    options.tree ?? path.resolve(__dirname, '..'),
    workload.projectDir,
    options.extraArgs,
    ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', dir],
  );
  let units = 0;
  let from = 0;
  let to = 0;
  let procCpu = 0;
  try {
    // Start every instance and let the JIT settle before the window opens.
    await workload.warmUp(emu.url);
    await emu.reset();
    const cpuStart = emu.cpuMs();
    from = Number(process.hrtime.bigint() / 1000n);
    for (let r = 0; r < options.repeats; r++) {
      units += await workload.round(emu.url);
      options.progress(`profiled ${units} ${workload.unit}s (load ${loadAverage()})`);
      await emu.reset();
    }
    to = Number(process.hrtime.bigint() / 1000n);
    procCpu = emu.cpuMs() - cpuStart;
  } finally {
    await emu.stop();
  }
  const resolver = new SourceResolver();
  const threads = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) =>
      summariseProfile(
        JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile,
        from,
        to,
        resolver,
      ),
    );
  fs.rmSync(dir, { recursive: true, force: true });
  return printProfile(threads, units, workload.unit, procCpu);
}

function printProfile(
  threads: ThreadSummary[],
  orders: number,
  unit: string,
  procCpuMs: number,
): string[] {
  const lines: string[] = [];
  const out = (line: string): void => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const main: Record<string, number> = {};
  const workers: Record<string, number> = {};
  const perThread: Record<string, number> = {};
  for (const t of threads) {
    const into = t.thread === 'main' ? main : workers;
    for (const [k, v] of Object.entries(t.byComponent)) into[k] = (into[k] ?? 0) + v;
    perThread[t.thread] = (perThread[t.thread] ?? 0) + t.totalMs;
  }
  const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
  const total = sum(main) + sum(workers);
  out(
    `\nEmulator CPU per ${unit} by component (V8 sampling profiler, ${orders} ${unit}s, self time; builtins count as their caller's)`,
  );
  out(
    `  sampled ${(total / orders).toFixed(1)} ms/${unit} (main ${(sum(main) / orders).toFixed(1)}, workers ${(sum(workers) / orders).toFixed(1)}); /proc says ${(procCpuMs / orders).toFixed(1)} ms/${unit} for the process (profiler overhead included)`,
  );
  const names = [...new Set([...Object.keys(main), ...Object.keys(workers)])].sort(
    (a, b) => (main[b] ?? 0) + (workers[b] ?? 0) - ((main[a] ?? 0) + (workers[a] ?? 0)),
  );
  out(
    `  ${'component'.padEnd(42)} ${'main'.padStart(7)} ${'workers'.padStart(8)} ${'share'.padStart(6)}`,
  );
  for (const name of names) {
    const m = (main[name] ?? 0) / orders;
    const w = (workers[name] ?? 0) / orders;
    out(
      `  ${name.padEnd(42)} ${m.toFixed(2).padStart(7)} ${w.toFixed(2).padStart(8)} ${(((m + w) * orders * 100) / total).toFixed(1).padStart(5)}%`,
    );
  }
  const hot: Record<string, number> = {};
  for (const t of threads) {
    const where = t.thread === 'main' ? 'main' : 'worker';
    for (const [k, v] of Object.entries(t.byFunction))
      hot[`${where}  ${k}`] = (hot[`${where}  ${k}`] ?? 0) + v;
  }
  out(`  hottest functions (self ms/${unit}):`);
  for (const [k, v] of Object.entries(hot)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30))
    out(`    ${(v / orders).toFixed(2).padStart(6)}  ${k}`);
  out(
    `  by thread (ms/${unit}): ${Object.entries(perThread)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${(v / orders).toFixed(2)}`)
      .join(', ')}`,
  );
  return lines;
}

type PayBatch = (url: string, users: number) => Promise<{ completed: number; failed: number }>;

/** Paid orders, `users` at a time, as the throughput figure runs them. */
export function orderWorkload(projectDir: string, users: number, payBatch: PayBatch): Workload {
  return {
    unit: 'order',
    projectDir,
    warmUp: async (url) => {
      for (let i = 0; i < 2; i++) await payBatch(url, users);
    },
    round: async (url) => {
      const batch = await payBatch(url, users);
      if (batch.failed) throw new Error(`${batch.failed} orders failed under the profiler`);
      return batch.completed;
    },
  };
}

/** Warm invocations of the no-op fixture function over the control API, one after the other. */
export function invokeWorkload(fixtureProject: string): Workload {
  const invokeNoop = async (url: string): Promise<void> => {
    const res = await fetch(`${url}/emulator/v1/functions/noop/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"data":{}}',
    });
    if (!res.ok) throw new Error(`noop invoke answered ${res.status}`);
    await res.arrayBuffer();
  };
  const ROUND = 500;
  return {
    unit: 'invocation',
    projectDir: fixtureProject,
    warmUp: async (url) => {
      for (let i = 0; i < ROUND; i++) await invokeNoop(url);
    },
    round: async (url) => {
      for (let i = 0; i < ROUND; i++) await invokeNoop(url);
      return ROUND;
    },
  };
}
