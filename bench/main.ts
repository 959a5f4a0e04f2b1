/**
 * `npm run bench`: the loop's latency, cost and throughput, measured side by side with the
 * polling design and a recipe-style function pair, on one machine in one run. Prints a table and
 * writes bench/results/latest.json (git-ignored). Not part of `npm test`.
 *
 *   npm run bench                  the full run (under five minutes on 2 cores)
 *   npm run bench -- --quick       fewer samples, no 1,000-user step (a smoke run)
 *   npm run bench -- --no-page     without the browser figure
 *   npm run bench -- --max-instances 8
 *   npm run bench -- --throughput --separate [--baseline DIR] [--growth 20000]
 *                                  the issue-18 figures (throughput.ts): paid orders/s and emulator
 *                                  CPU per order with the users in another process, a growth run,
 *                                  the per-request figure; with --baseline, before/after ratios
 *   npm run bench -- --throughput --separate --profile orders|invoke [--users 100 --repeats 3]
 *                                  the emulator's CPU per paid order (or per warm HTTP invocation
 *                                  of a no-op function) split by component (profile.ts)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startEmulator, type RunningEmulator } from '../emulator/src';
import { bundleSizes } from './bundles';
import { quietRealtimeLogs } from './host';
import { measureCost, runUsers, type RunResult } from './loop';
import { Probe } from './meter';
import { measurePage } from './page';
import { printReport, type BenchReport } from './report';
import { invokeWorkload, orderWorkload, runProfile } from './profile';
import { payBatch, printThroughput, runThroughput } from './throughput';
import { FIXTURE_PROJECT, measureStartup, startFixtureEmulator } from './startup';
import { median, medianOfSummaries } from './stats';

const ROOT = path.resolve(__dirname, '..');
/** The whole run must finish in five minutes; the 1,000-user step gets what is left of this. */
const BUDGET_MS = 270_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'no-page': { type: 'boolean', default: false },
      'max-instances': { type: 'string', default: '4' },
      throughput: { type: 'boolean', default: false },
      separate: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      growth: { type: 'string', default: '0' },
      'baseline-growth': { type: 'string', default: '0' },
      users: { type: 'string', default: '100' },
      repeats: { type: 'string', default: '3' },
      'sdk-transport': { type: 'string' },
      profile: { type: 'string' },
    },
  });
  if (values.throughput) {
    await throughputMode(values);
    return;
  }
  const quick = values.quick === true;
  const maxInstances = Number(values['max-instances']);
  if (!Number.isInteger(maxInstances) || maxInstances < 1 || maxInstances > 64) {
    throw new Error(
      `--max-instances must be an integer from 1 to 64, got ${values['max-instances']}`,
    );
  }
  const began = performance.now();
  const realtimeLogs = quietRealtimeLogs();
  const cores = os.cpus().length;
  const progress = (line: string): void => {
    const s = ((performance.now() - began) / 1000).toFixed(0).padStart(3);
    process.stderr.write(`[bench ${s}s] ${line}\n`);
  };

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };

  progress('bundle sizes');
  const bundles = bundleSizes(ROOT);

  progress('function start: cold starts and warm overhead (fixture functions)');
  const startup = await measureStartup(quick ? 2 : 3, quick ? 40 : 100);

  // The project's functions, one emulator for every loop run (reset between runs; the function
  // instances stay warm across resets, as a deployed function's would between users).
  const emu: RunningEmulator = await startEmulator({
    projectDir: ROOT,
    functionsDir: path.join(ROOT, 'cloudfunctions'),
    port: 0,
    inMemory: true,
    maxInstancesPerFunction: maxInstances,
  });
  const probe = new Probe(emu);
  const opts = { cores, maxInstances };
  const runs: Record<string, RunResult[]> = {};
  const keep = (key: string, run: RunResult): RunResult => {
    (runs[key] ??= []).push(run);
    const l = run.latency;
    progress(
      `${key}: ${run.completed}/${run.users} paid, p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, ${run.ordersPerSecond.toFixed(1)} orders/s${run.failed ? `, ${run.failed} FAILED: ${run.errors[0]}` : ''}`,
    );
    return run;
  };
  let page;
  let recipe;
  let reduced: { users: number; reason: string } | undefined;
  let projectCold: { userpay: number; userpaynotify: number } | undefined;
  try {
    progress('warm-up (cold instances) and cost per paid order');
    const warmUp = await runUsers(emu, probe, 'watch', 2, { ...opts, sequential: true });
    const cost = {
      watch: await measureCost(emu, probe, 'watch', 3),
      polling: await measureCost(emu, probe, 'polling', 2),
    };

    progress('sequential warm loop');
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      keep(
        'watch×1',
        await runUsers(emu, probe, 'watch', quick ? 10 : 20, { ...opts, sequential: true }),
      );
    }
    keep(
      'polling×1',
      await runUsers(emu, probe, 'polling', quick ? 3 : 5, { ...opts, sequential: true }),
    );
    const warmUserpay = median(runs['watch×1'].map((r) => r.invocationMedianMs.userpay));
    const warmNotify = median(runs['watch×1'].map((r) => r.invocationMedianMs.userpaynotify));
    // The warm-up's first invocation of each function started its instance (durationMs includes it).
    const firstCold = (name: string): number =>
      (warmUp.counts.invocations[name] ? firstDuration(warmUp, name) : NaN) -
      (name === 'userpay' ? warmUserpay : warmNotify);
    projectCold = { userpay: firstCold('userpay'), userpaynotify: firstCold('userpaynotify') };

    // Start every instance before the concurrent steps: they measure a warm deployment. (The
    // first burst on cold instances pays one cold start per instance; section 5 measures it.)
    await runUsers(emu, probe, 'watch', maxInstances * 3, opts);
    progress('concurrent users');
    keep('watch×10', await runUsers(emu, probe, 'watch', 10, opts));
    for (let r = 0; r < (quick ? 1 : 3); r++)
      keep('watch×100', await runUsers(emu, probe, 'watch', 100, opts));
    keep('polling×100', await runUsers(emu, probe, 'polling', 100, opts));

    progress('recipe-style pair (fixture functions)');
    const fixture = await startFixtureEmulator();
    try {
      const recipeProbe = new Probe(fixture);
      const recipeCost = await measureCost(fixture, recipeProbe, 'recipe', 3);
      const recipeRuns: RunResult[] = [];
      for (let r = 0; r < (quick ? 1 : 3); r++) {
        recipeRuns.push(
          await runUsers(fixture, recipeProbe, 'recipe', quick ? 10 : 20, {
            ...opts,
            sequential: true,
          }),
        );
      }
      recipe = { cost: recipeCost, latency: medianOfSummaries(recipeRuns.map((r) => r.latency)) };
      Object.assign(cost, { recipe: recipeCost });
    } finally {
      await fixture.stop();
    }

    if (!values['no-page']) {
      progress('page-level figure (browser preview)');
      page = await measurePage(ROOT, quick ? 2 : 3).catch((err: unknown) => ({
        runs: 0,
        latency: medianOfSummaries([]),
        skipped: err instanceof Error ? err.message : String(err),
      }));
    }

    if (!quick) {
      // The 1,000-user step gets the time left: a projection from the 100-user throughput.
      const rate = median(runs['watch×100'].map((r) => r.ordersPerSecond));
      const leftMs = BUDGET_MS - (performance.now() - began);
      const fits = Math.floor(((rate * leftMs) / 1000) * 0.7);
      let users = 1000;
      if (fits < users) {
        users = Math.max(100, Math.floor(fits / 100) * 100);
        reduced = {
          users,
          reason: `at ${rate.toFixed(1)} orders/s, 1,000 orders would take ~${Math.round(1000 / rate)} s; ${Math.round(leftMs / 1000)} s of the five minutes were left`,
        };
      }
      progress(`${users} concurrent users${reduced ? ` (reduced: ${reduced.reason})` : ''}`);
      keep('watch×1000', await runUsers(emu, probe, 'watch', users, opts));
    }

    const report: BenchReport = {
      date: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      machine,
      maxInstances,
      bundles,
      startup,
      projectColdStartMs: projectCold,
      cost,
      runs,
      recipe,
      page,
      reducedThousand: reduced,
      realtimeLogs,
      notes: [],
      durationS: (performance.now() - began) / 1000,
    };
    printReport(report);
    const out = path.join(ROOT, 'bench/results/latest.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      `\nwritten ${path.relative(ROOT, out)} in ${report.durationS.toFixed(0)} s\n`,
    );
  } finally {
    await emu.stop();
  }
}

/** `--throughput`: the issue-18 figures only (throughput.ts), written to bench/results/. */
async function throughputMode(values: Record<string, string | boolean | undefined>): Promise<void> {
  const count = (flag: string, min: number): number => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(
        `--${flag} must be an integer of at least ${min}, got ${String(values[flag])}`,
      );
    }
    return n;
  };
  const began = performance.now();
  const transport = values['sdk-transport'];
  const options = {
    separate: values.separate === true,
    baseline: typeof values.baseline === 'string' ? values.baseline : undefined,
    users: count('users', 1),
    repeats: count('repeats', 1),
    growth: count('growth', 0),
    baselineGrowth: count('baseline-growth', 0),
    extraArgs: typeof transport === 'string' ? ['--sdk-transport', transport] : [],
    progress: (line: string) => {
      const s = ((performance.now() - began) / 1000).toFixed(0).padStart(3);
      process.stderr.write(`[bench ${s}s] ${line}\n`);
    },
  };
  if (options.baseline && !options.separate) {
    throw new Error('--baseline needs --separate (the baseline runs as its own process)');
  }
  const realtimeLogs = quietRealtimeLogs();
  const loadAtStart = os.loadavg();
  if (values.profile) {
    if (!options.separate) {
      throw new Error('--profile needs --separate (it profiles the emulator process)');
    }
    // With --baseline, the baseline's emulator is the one profiled (compare two runs' tables).
    if (values.profile !== 'orders' && values.profile !== 'invoke') {
      throw new Error(`--profile takes orders or invoke, got ${values.profile}`);
    }
    const workload =
      values.profile === 'invoke'
        ? invokeWorkload(FIXTURE_PROJECT)
        : orderWorkload(ROOT, options.users, payBatch);
    const table = await runProfile(workload, { ...options, tree: options.baseline });
    const out = path.join(ROOT, 'bench/results/profile.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(
      out,
      `${JSON.stringify({ date: new Date().toISOString(), loadAtStart, workload: workload.unit, users: options.users, repeats: options.repeats, table }, null, 2)}\n`,
    );
    process.stdout.write(`\nwritten ${path.relative(ROOT, out)}\n`);
    return;
  }
  const sides = await runThroughput(options);
  const lines = printThroughput(sides, options);
  const out = path.join(ROOT, 'bench/results/throughput.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const { progress: _progress, ...recorded } = options;
  fs.writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), cores: os.cpus().length, loadAtStart, options: recorded, sides, realtimeLogs, table: lines }, null, 2)}\n`,
  );
  process.stdout.write(`\nwritten ${path.relative(ROOT, out)}\n`);
}

function firstDuration(run: RunResult, name: string): number {
  return run.firstInvocationMs[name] ?? NaN;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
