// The loop under load: sequential warm orders, and N users paying at once, with what each run
// cost (counted by the emulator) and where the time went (CPU, the main thread's event loop, the
// function instances).

import { performance } from 'node:perf_hooks';
import type { RunningEmulator } from '../emulator/src';
import { payOnce, type Design, type OrderSample } from './flows';
import { addCounts, type Counts, type Probe } from './meter';
import { median, summarize, type Summary } from './stats';

let userSeq = 0;
/** A fresh user per order: each user+item unlocks once, as in the shop. */
export function newUser(tag: string): string {
  userSeq++;
  return `o_bench_${tag}_${userSeq.toString().padStart(6, '0')}`;
}

export interface RunResult {
  design: Design;
  users: number;
  completed: number;
  failed: number;
  errors: string[];
  latency: Summary;
  place: Summary;
  wallMs: number;
  /** Completed paid orders per second of wall time (from the first tap to the last unlock). */
  ordersPerSecond: number;
  /** process.cpuUsage (user + system, every thread: main, function workers) per paid order. */
  cpuMsPerOrder: number;
  /** Share of the 2 cores' time the whole process used. */
  cpuShare: number;
  /** Main thread's event loop utilization: HTTP, SDK request handling, database, pay, users. */
  mainThreadBusy: number;
  /**
   * Per function: the share of its instance slots (max instances) busy running an invocation,
   * sampled every 50 ms from the functions service's describe().
   */
  instanceBusy: Record<string, number>;
  /**
   * Per function: median invocation duration (ms) as the runtime reports it. NOTE: it runs from
   * the call to the answer, so it includes waiting for a free instance and any cold start.
   */
  invocationMedianMs: Record<string, number>;
  /** Time the database handlers took on the main thread, per order (ms). */
  databaseMsPerOrder: number;
  /** Per function: its first invocation's duration (a cold start when the run began cold). */
  firstInvocationMs: Record<string, number>;
  counts: Counts;
}

export async function runUsers(
  emu: RunningEmulator,
  probe: Probe,
  design: Design,
  users: number,
  options: { cores: number; maxInstances: number; sequential?: boolean },
): Promise<RunResult> {
  await emu.reset();
  const meter = probe.meter();
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  const busy = sampleInstances(emu, options.maxInstances);
  const samples: OrderSample[] = [];
  const errors: string[] = [];
  const one = async (): Promise<void> => {
    try {
      samples.push(await payOnce(emu.url, newUser(design), design, meter));
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  };
  if (options.sequential) {
    for (let i = 0; i < users; i++) await one();
  } else {
    await Promise.all(Array.from({ length: users }, one));
  }
  const wallMs = performance.now() - started;
  const instanceBusy = busy.stop();
  await emu.services.pay.idle();
  meter.stop();
  const used = process.cpuUsage(cpu);
  const loop = performance.eventLoopUtilization(elu);
  const cpuMs = (used.user + used.system) / 1000;
  return {
    design,
    users,
    completed: samples.length,
    failed: errors.length,
    errors: errors.slice(0, 5),
    latency: summarize(samples.map((s) => s.latencyMs)),
    place: summarize(samples.map((s) => s.placeMs)),
    wallMs,
    ordersPerSecond: samples.length / (wallMs / 1000),
    cpuMsPerOrder: cpuMs / Math.max(1, samples.length),
    cpuShare: cpuMs / (wallMs * options.cores),
    mainThreadBusy: loop.utilization,
    instanceBusy,
    invocationMedianMs: Object.fromEntries(
      Object.entries(meter.timings.invocationMs).map(([k, v]) => [k, median(v)]),
    ),
    databaseMsPerOrder: meter.timings.databaseMs / Math.max(1, samples.length),
    firstInvocationMs: Object.fromEntries(
      Object.entries(meter.timings.invocationMs).map(([k, v]) => [k, v[0]]),
    ),
    counts: meter.counts,
  };
}

/** Samples how many instances of each function are busy; stop() gives the mean share per function. */
function sampleInstances(
  emu: RunningEmulator,
  maxInstances: number,
): { stop(): Record<string, number> } {
  const sums: Record<string, number> = {};
  let ticks = 0;
  const timer = setInterval(() => {
    ticks++;
    for (const fn of emu.services.functions.describe()) {
      const busyNow = fn.instances.filter((i) => i.state === 'busy').length;
      sums[fn.name] = (sums[fn.name] ?? 0) + busyNow / maxInstances;
    }
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Object.fromEntries(
        Object.entries(sums)
          .filter(([, sum]) => sum > 0)
          .map(([name, sum]) => [name, sum / Math.max(1, ticks)]),
      );
    },
  };
}

export interface CostResult {
  design: Design;
  orders: number;
  /** True when every order cost exactly the same (the counts are deterministic). */
  identical: boolean;
  perOrder: Counts;
  /** Document operations (reads + writes), the figure the ≤ 10 target is about. */
  documentOps: number;
}

/** Per-order counts: each order in its own counting window, one after the other. */
export async function measureCost(
  emu: RunningEmulator,
  probe: Probe,
  design: Design,
  orders: number,
): Promise<CostResult> {
  const each: Counts[] = [];
  for (let i = 0; i < orders; i++) {
    const meter = probe.meter();
    await payOnce(emu.url, newUser(`cost_${design}`), design, meter);
    // The callback may still be finishing (the recipe's unawaited update lands after it returns).
    await emu.services.pay.idle();
    await new Promise((resolve) => setTimeout(resolve, 20));
    meter.stop();
    each.push(meter.counts);
  }
  const first = JSON.stringify(each[0]);
  const perOrder = each[0];
  return {
    design,
    orders,
    identical: each.every((c) => JSON.stringify(c) === first),
    perOrder,
    documentOps: perOrder.reads + perOrder.writes,
  };
}

export function totalCounts(runs: readonly RunResult[]): Counts {
  const total: Counts = {
    database: {},
    reads: 0,
    writes: 0,
    transactionControl: 0,
    watchOpens: 0,
    invocations: {},
    cloudPay: {},
    watchMessages: 0,
  };
  for (const run of runs) addCounts(total, run.counts);
  return total;
}
