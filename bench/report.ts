// The terminal table: every figure next to its target, with the verdict computed from the same
// run's numbers. The JSON file holds the same report with every sample summary.

import type { BundleSize } from './bundles';
import type { CostResult, RunResult } from './loop';
import type { PageResult } from './page';
import type { StartupResult } from './startup';
import { median, medianOfSummaries, type Summary } from './stats';
import type { RealtimeLogs } from './host';

export interface BenchReport {
  date: string;
  command: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGb: number;
    node: string;
    platform: string;
    loadAverageAtStart: number[];
  };
  maxInstances: number;
  bundles: BundleSize[];
  startup: StartupResult;
  projectColdStartMs?: { userpay: number; userpaynotify: number };
  cost: { watch: CostResult; polling: CostResult; recipe?: CostResult };
  runs: Record<string, RunResult[]>;
  recipe?: { cost: CostResult; latency: Summary };
  page?: PageResult;
  reducedThousand?: { users: number; reason: string };
  realtimeLogs: RealtimeLogs;
  notes: string[];
  durationS: number;
}

const f = (n: number | undefined, digits = 1): string =>
  n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);
const pct = (n: number | undefined): string =>
  n === undefined || Number.isNaN(n) ? '–' : `${Math.round(n * 100)}%`;

function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [`\n${title}`, line(header), rule, ...cells.slice(1).map(line)].join('\n');
}

/** The summary over repeated runs of one step (median per percentile). */
export function stepLatency(runs: RunResult[] | undefined): Summary | undefined {
  return runs?.length ? medianOfSummaries(runs.map((r) => r.latency)) : undefined;
}

function stepMedian(runs: RunResult[] | undefined, pick: (r: RunResult) => number): number {
  return runs?.length ? median(runs.map(pick)) : NaN;
}

/** What ran out first, judged from the run's own utilization figures. */
export function saturation(run: RunResult, cores: number): string {
  const busiest = Object.entries(run.instanceBusy).sort((a, b) => b[1] - a[1])[0];
  const parts: string[] = [];
  if (run.cpuShare > 0.85) parts.push(`CPU (${pct(run.cpuShare)} of ${cores} cores)`);
  if (run.mainThreadBusy > 0.85) parts.push(`main thread (${pct(run.mainThreadBusy)} busy)`);
  if (busiest && busiest[1] > 0.85) parts.push(`${busiest[0]} instances (${pct(busiest[1])} busy)`);
  return parts.length ? parts.join(' + ') : 'nothing above 85%: latency-bound, not saturated';
}

export function printReport(r: BenchReport): void {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `wxcloud bench ${r.date}  ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.node}, load ${m.loadAverageAtStart.join(' ')} at start; max ${r.maxInstances} instances per function`,
  );

  const seq = stepLatency(r.runs['watch×1']);
  const rows: (string | number)[][] = [];
  const latencyRow = (label: string, s: Summary | undefined, extra = ''): void => {
    if (!s) return;
    rows.push([label, s.n, f(s.p50), f(s.p95), f(s.p99), f(s.max), extra]);
  };
  latencyRow('watch, sequential (warm)', seq, 'target p50 < 20');
  latencyRow('watch, 10 users at once', stepLatency(r.runs['watch×10']));
  latencyRow('watch, 100 users at once', stepLatency(r.runs['watch×100']));
  const thousand = r.runs['watch×1000']?.[0];
  latencyRow(
    `watch, ${thousand?.users ?? 1000} users at once`,
    stepLatency(r.runs['watch×1000']),
    r.reducedThousand ? 'reduced, see below' : '',
  );
  latencyRow('recipe pair + watch, sequential', r.recipe?.latency);
  latencyRow('polling payquery 1/s, sequential', stepLatency(r.runs['polling×1']));
  latencyRow('polling payquery 1/s, 100 users', stepLatency(r.runs['polling×100']));
  if (r.page?.runs)
    latencyRow(
      'page (browser preview), sequential',
      r.page.latency,
      'confirm click → rendered unlocked',
    );
  out.push(
    table(
      '1. Loop latency, ms: confirm → the page knows it is paid',
      ['', 'n', 'p50', 'p95', 'p99', 'max', ''],
      rows,
    ),
  );
  if (r.page?.skipped) out.push(`   page figure skipped: ${r.page.skipped}`);

  const c = r.cost;
  const designs = [c.watch, c.polling, ...(c.recipe ? [c.recipe] : [])];
  const keys = [...new Set(designs.flatMap((d) => Object.keys(d.perOrder.database)))].sort();
  const fnKeys = [...new Set(designs.flatMap((d) => Object.keys(d.perOrder.invocations)))].sort();
  const payKeys = [...new Set(designs.flatMap((d) => Object.keys(d.perOrder.cloudPay)))].sort();
  const costRows: (string | number)[][] = [
    ...keys.map((k) => [`  ${k}`, ...designs.map((d) => d.perOrder.database[k] ?? 0)]),
    ['database reads', ...designs.map((d) => d.perOrder.reads)],
    ['database writes', ...designs.map((d) => d.perOrder.writes)],
    ['= document operations', ...designs.map((d) => d.documentOps)],
    ['transaction start/commit', ...designs.map((d) => d.perOrder.transactionControl)],
    ['watch opens (client)', ...designs.map((d) => d.perOrder.watchOpens)],
    ...fnKeys.map((k) => [
      `invocations ${k}`,
      ...designs.map((d) => d.perOrder.invocations[k] ?? 0),
    ]),
    ...payKeys.map((k) => [`CloudPay ${k}`, ...designs.map((d) => d.perOrder.cloudPay[k] ?? 0)]),
    ['watch messages received', ...designs.map((d) => d.perOrder.watchMessages)],
    ['same on every order?', ...designs.map((d) => (d.identical ? `yes (${d.orders})` : 'NO'))],
  ];
  out.push(
    table(
      '2. Cost per paid order (counted by the emulator; sequential, one order per window)',
      ['', 'watch (ours)', 'polling (ours)', ...(c.recipe ? ['recipe pair'] : [])],
      costRows,
    ),
  );

  // Polling vs watching, from the same run.
  const perOrder = (runs: RunResult[] | undefined, pick: (r: RunResult) => number): number =>
    stepMedian(runs, (run) => pick(run) / Math.max(1, run.completed));
  const reads = (run: RunResult): number => run.counts.reads;
  const calls = (run: RunResult): number =>
    Object.values(run.counts.invocations).reduce((a, b) => a + b, 0);
  const w100 = stepLatency(r.runs['watch×100']);
  const p100 = stepLatency(r.runs['polling×100']);
  const p1 = stepLatency(r.runs['polling×1']);
  const cmp: (string | number)[][] = [
    [
      'latency p50, sequential (ms)',
      f(seq?.p50),
      f(p1?.p50),
      f((p1?.p50 ?? NaN) / (seq?.p50 ?? NaN)),
    ],
    [
      'latency p50, 100 users (ms)',
      f(w100?.p50),
      f(p100?.p50),
      f((p100?.p50 ?? NaN) / (w100?.p50 ?? NaN)),
    ],
    [
      'latency p99, 100 users (ms)',
      f(w100?.p99),
      f(p100?.p99),
      f((p100?.p99 ?? NaN) / (w100?.p99 ?? NaN)),
    ],
    [
      'database reads / order (100 users)',
      f(perOrder(r.runs['watch×100'], reads), 2),
      f(perOrder(r.runs['polling×100'], reads), 2),
      f(perOrder(r.runs['polling×100'], reads) / perOrder(r.runs['watch×100'], reads), 2),
    ],
    [
      'invocations / order (100 users)',
      f(perOrder(r.runs['watch×100'], calls), 2),
      f(perOrder(r.runs['polling×100'], calls), 2),
      f(perOrder(r.runs['polling×100'], calls) / perOrder(r.runs['watch×100'], calls), 2),
    ],
    [
      'payquery polls / order (100 users)',
      '0',
      f(
        perOrder(r.runs['polling×100'], (run) => run.counts.invocations.payquery ?? 0),
        2,
      ),
      '',
    ],
  ];
  out.push(
    table(
      '3. Watching vs polling payquery every second (same run)',
      ['', 'watch', 'polling', 'polling/watch'],
      cmp,
    ),
  );

  const steps = ['watch×1', 'watch×10', 'watch×100', 'watch×1000', 'polling×100'].filter(
    (k) => r.runs[k],
  );
  const tput = steps.map((k) => {
    const runs = r.runs[k];
    const last = runs[runs.length - 1];
    return [
      `${k.replace('×', ' ×')} users`,
      f(stepMedian(runs, (x) => x.ordersPerSecond)),
      f(stepMedian(runs, (x) => x.cpuMsPerOrder)),
      pct(stepMedian(runs, (x) => x.cpuShare)),
      pct(stepMedian(runs, (x) => x.mainThreadBusy)),
      pct(stepMedian(runs, (x) => x.instanceBusy.userpay ?? 0)),
      pct(stepMedian(runs, (x) => x.instanceBusy.userpaynotify ?? 0)),
      f(stepMedian(runs, (x) => x.invocationMedianMs.userpay ?? NaN)),
      f(stepMedian(runs, (x) => x.invocationMedianMs.userpaynotify ?? NaN)),
      f(
        stepMedian(runs, (x) => x.databaseMsPerOrder),
        2,
      ),
      `${runs.reduce((a, x) => a + x.failed, 0)}`,
      saturation(last, r.machine.cores),
    ];
  });
  out.push(
    table(
      `4. Throughput (paid orders/s, wall time from the first tap to the last unlock; users run in the same process)`,
      [
        '',
        'orders/s',
        'CPU ms/order',
        'CPU',
        'main thr',
        'userpay inst',
        'notify inst',
        'userpay ms*',
        'notify ms*',
        'db ms/order',
        'failed',
        'saturated',
      ],
      tput,
    ),
  );
  out.push(
    '   * invocation time as the runtime reports it: from the call to the answer, including the wait for a free instance',
  );
  if (r.reducedThousand)
    out.push(
      `   1,000-user step reduced to ${r.reducedThousand.users}: ${r.reducedThousand.reason}`,
    );

  const s = r.startup;
  out.push(
    table(
      `5. Function start and invocation overhead, ms (medians of ${s.rounds} rounds)`,
      ['', 'ms'],
      [
        ['cold start, no SDK (noop: worker thread + load)', f(s.coldStartMs.noop)],
        ['cold start, requiring wx-server-sdk (sdkload)', f(s.coldStartMs.sdkload)],
        ['  of which require("wx-server-sdk") itself', f(s.sdkRequireMs)],
        ['cold start, SDK + first database read (sdkping)', f(s.coldStartMs.sdkping)],
        ['cold start, userpay (first call minus warm median)', f(r.projectColdStartMs?.userpay)],
        ['cold start, userpaynotify', f(r.projectColdStartMs?.userpaynotify)],
        ['warm noop via JS API (function own work ~0)', f(s.warm.jsApiMs, 2)],
        ['  emulator overhead, JS API (target < 2)', f(s.warm.overheadJsApiMs, 2)],
        ['warm noop via HTTP route (what callFunction pays)', f(s.warm.httpMs, 2)],
        ['  emulator overhead, HTTP route', f(s.warm.overheadHttpMs, 2)],
        ['one SDK database read, as the function sees it', f(s.warm.sdkRequestMs, 2)],
        ['  of which the database handler', f(s.warm.sdkRequestHandlerMs, 3)],
      ],
    ),
  );

  out.push(
    table(
      '6. Bundle sizes (cloudfunctions/*/index.js, wx-server-sdk external)',
      ['', 'bytes', 'KB', 'gzip KB'],
      r.bundles.map((b) => [b.name, b.bytes, f(b.bytes / 1024), f(b.gzipBytes / 1024)]),
    ),
  );

  const maxBundle = Math.max(...r.bundles.map((b) => b.bytes)) / 1024;
  const t100 = stepMedian(r.runs['watch×100'], (x) => x.ordersPerSecond);
  const bestRate = Math.max(...steps.map((k) => stepMedian(r.runs[k], (x) => x.ordersPerSecond)));
  const ratio = (p1?.p50 ?? NaN) / (seq?.p50 ?? NaN);
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  out.push(
    table(
      '7. Targets',
      ['target', 'measured', ''],
      [
        [
          'warm sequential loop p50 < 20 ms',
          `${f(seq?.p50)} ms`,
          verdict((seq?.p50 ?? Infinity) < 20),
        ],
        [
          '≥ 100 paid orders/s end to end',
          `${f(bestRate)} /s best (${f(t100)} at 100 users)`,
          verdict(bestRate >= 100),
        ],
        ['100 users: p99 reported with its cause', `${f(w100?.p99)} ms`, 'see notes'],
        [
          'emulator adds < 2 ms to a warm invocation',
          `${f(s.warm.overheadJsApiMs, 2)} ms JS API, ${f(s.warm.overheadHttpMs, 2)} ms HTTP`,
          `${verdict(s.warm.overheadJsApiMs < 2)} JS API / ${verdict(s.warm.overheadHttpMs < 2)} HTTP`,
        ],
        [
          '≤ 10 database operations per paid order',
          `${c.watch.documentOps} document ops (+${c.watch.perOrder.transactionControl} tx control, +${c.watch.perOrder.watchOpens} watch open)`,
          verdict(c.watch.documentOps <= 10),
        ],
        [
          'polling reads more than watching',
          `${c.polling.perOrder.reads} vs ${c.watch.perOrder.reads} reads`,
          verdict(c.polling.perOrder.reads > c.watch.perOrder.reads),
        ],
        ['polling latency ≥ 10× watching', `${f(ratio)}×`, verdict(ratio >= 10)],
        ['each bundle < 50 KB', `largest ${f(maxBundle)} KB`, verdict(maxBundle < 50)],
      ],
    ),
  );
  const last100 = r.runs['watch×100']?.at(-1);
  if (last100) {
    out.push(
      `\n100-user p99 cause: each callback waits for one of ${r.maxInstances} userpaynotify instances (${pct(last100.instanceBusy.userpaynotify)} busy), each running its SDK requests one after another through a main thread ${pct(last100.mainThreadBusy)} busy (HTTP, database, pay, realtime and the simulated users themselves).`,
    );
  }
  const rl = r.realtimeLogs;
  out.push(
    `\nrealtime client log lines: ${rl.routine} routine, ${rl.complaints} complaints${rl.samples.length ? ` (e.g. ${rl.samples[0]})` : ''}`,
  );
  for (const note of r.notes) out.push(`note: ${note}`);
  process.stdout.write(`${out.join('\n')}\n`);
}
