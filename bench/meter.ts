// Counts what the emulator did during a window: database operations by kind, function
// invocations, CloudPay calls and watch messages. Counts come from the emulator's own event log
// (`database.operation`, `function.invocation`), so they are what the platform would bill, not
// timings: they are the same on every run.
//
// CloudPay calls are the one thing the event log does not list one by one (it records order
// state changes, not queryOrder calls), so the bench wraps the sandbox's `call` (the single entry
// of the SDK's `wx.wxPayApi` action) to count them. That wrapper only counts; it changes nothing.

import type { EmulatorEvent, RunningEmulator } from '../emulator/src';

export const READ_ACTIONS = ['database.getDocument', 'database.calculateDocument'];
export const WRITE_ACTIONS = [
  'database.insertDocument',
  'database.modifyDocument',
  'database.removeDocument',
];
export const TRANSACTION_ACTIONS = [
  'database.startTransaction',
  'database.commitTransaction',
  'database.abortTransaction',
];
export const WATCH_ACTIONS = ['realtime.initWatch'];

export interface Counts {
  /** Database operations by SDK action ("in transaction" ones suffixed " (tx)"). */
  database: Record<string, number>;
  reads: number;
  writes: number;
  transactionControl: number;
  watchOpens: number;
  invocations: Record<string, number>;
  cloudPay: Record<string, number>;
  /** Realtime snapshots the user's watch received (its onChange calls, the initial one included). */
  watchMessages: number;
}

export interface Timings {
  /** Per function: each invocation's duration as the runtime measured it (ms). */
  invocationMs: Record<string, number[]>;
  coldStarts: Record<string, number>;
  /** Total time the database handlers spent (ms), on the emulator's main thread. */
  databaseMs: number;
}

export class Meter {
  readonly counts: Counts = {
    database: {},
    reads: 0,
    writes: 0,
    transactionControl: 0,
    watchOpens: 0,
    invocations: {},
    cloudPay: {},
    watchMessages: 0,
  };
  readonly timings: Timings = { invocationMs: {}, coldStarts: {}, databaseMs: 0 };

  constructor(private readonly detach: (meter: Meter) => void) {}

  onEvent(event: EmulatorEvent): void {
    const data = event.data;
    if (event.type === 'database.operation') {
      const action = String(data.action);
      const key = data.transactionId ? `${action} (tx)` : action;
      this.counts.database[key] = (this.counts.database[key] ?? 0) + 1;
      if (READ_ACTIONS.includes(action)) this.counts.reads++;
      else if (WRITE_ACTIONS.includes(action)) this.counts.writes++;
      else if (TRANSACTION_ACTIONS.includes(action)) this.counts.transactionControl++;
      else if (WATCH_ACTIONS.includes(action)) this.counts.watchOpens++;
      if (typeof data.durationMs === 'number') this.timings.databaseMs += data.durationMs;
    } else if (event.type === 'function.invocation') {
      const name = String(data.name);
      this.counts.invocations[name] = (this.counts.invocations[name] ?? 0) + 1;
      (this.timings.invocationMs[name] ??= []).push(Number(data.durationMs));
      if (data.coldStart === true) {
        this.timings.coldStarts[name] = (this.timings.coldStarts[name] ?? 0) + 1;
      }
    }
  }

  onCloudPay(api: string): void {
    this.counts.cloudPay[api] = (this.counts.cloudPay[api] ?? 0) + 1;
  }

  watchMessage(): void {
    this.counts.watchMessages++;
  }

  stop(): void {
    this.detach(this);
  }
}

/** Attaches to one emulator; `meter()` opens a counting window, `Meter.stop()` closes it. */
export class Probe {
  private readonly meters = new Set<Meter>();

  constructor(emu: RunningEmulator) {
    emu.events.subscribe((event) => {
      for (const meter of this.meters) meter.onEvent(event);
    });
    const sandbox = emu.services.pay.sandbox;
    const call = sandbox.call.bind(sandbox);
    sandbox.call = (apiName, data, caller) => {
      for (const meter of this.meters) meter.onCloudPay(apiName);
      return call(apiName, data, caller);
    };
  }

  meter(): Meter {
    const meter = new Meter((m) => this.meters.delete(m));
    this.meters.add(meter);
    return meter;
  }
}

/** Sums several windows' counts (for per-order averages over a run). */
export function addCounts(into: Counts, from: Counts): Counts {
  const add = (a: Record<string, number>, b: Record<string, number>): void => {
    for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  };
  add(into.database, from.database);
  add(into.invocations, from.invocations);
  add(into.cloudPay, from.cloudPay);
  into.reads += from.reads;
  into.writes += from.writes;
  into.transactionControl += from.transactionControl;
  into.watchOpens += from.watchOpens;
  into.watchMessages += from.watchMessages;
  return into;
}
