/**
 * The emulated clock. Emulated time = real time + an offset that only grows, so a running
 * emulator keeps moving like the real world while tests can jump ahead (`advance`) to make
 * retries, timers and expiries due without waiting. Tasks scheduled on it run either when real
 * time reaches them or when `advance` passes them, whichever comes first, each exactly once.
 *
 * `advance` steps: it moves the clock to each due task's own time, runs it there (so a timer
 * function's Date.now(), its invocation record and its events carry its own tick, not the end
 * of the jump), then settles at the target. It resolves once every task that became due has
 * run and the work registered with `onSettle` (callback deliveries already under way, such as
 * the one a payment decided just before started) has finished.
 */
export interface ScheduledTask {
  readonly at: number;
  readonly label: string;
  cancel(): void;
}

interface Entry {
  at: number;
  seq: number;
  label: string;
  run: () => Promise<void> | void;
  cancelled: boolean;
}

export class Clock {
  private offsetMs = 0;
  private seq = 0;
  private entries: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly settlers: (() => Promise<void>)[] = [];

  /** Emulated now, in epoch milliseconds. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** How far emulated time is ahead of real time. */
  offset(): number {
    return this.offsetMs;
  }

  /** Runs `run` once emulated time reaches `at`. Errors are the task's own business. */
  schedule(at: number, label: string, run: () => Promise<void> | void): ScheduledTask {
    const entry: Entry = { at, seq: this.seq++, label, run, cancelled: false };
    this.entries.push(entry);
    this.entries.sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.arm();
    return {
      at,
      label,
      cancel: () => {
        entry.cancelled = true;
        this.entries = this.entries.filter((e) => e !== entry);
        this.arm();
      },
    };
  }

  /** Pending task labels and due times, for the console and tests. */
  pending(): { at: number; label: string }[] {
    return this.entries.map((e) => ({ at: e.at, label: e.label }));
  }

  /**
   * Work that runs outside the clock's tasks but that `advance` must see finished: a service
   * registers how to wait for it (the pay sandbox: callback deliveries in flight).
   */
  onSettle(settle: () => Promise<void>): void {
    this.settlers.push(settle);
  }

  /**
   * Moves emulated time forward by `ms`, stepping through every task due on the way at its own
   * due time, in due order (tasks those tasks schedule within the jump included), and resolves
   * once all of them and the registered work (`onSettle`) have finished.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock advance needs a non-negative number of milliseconds, got ${ms}`);
    }
    const target = this.now() + ms;
    const step = this.draining.then(async () => {
      // Deliveries already under way first: a failed one schedules its retry from its own time.
      await this.settle();
      for (;;) {
        const next = this.entries[0];
        if (!next || next.at > target || this.stopped) break;
        // Only forward: a task already overdue in real time runs at the current time.
        if (next.at > this.now()) this.offsetMs += next.at - this.now();
        this.entries.shift();
        if (next.cancelled) continue;
        try {
          await next.run();
        } catch {
          // A task reports its own failures (events stream); the clock must keep going.
        }
        await this.settle();
      }
      if (target > this.now()) this.offsetMs += target - this.now();
    });
    this.draining = step.catch(() => undefined);
    await step;
    // Anything real time made due meanwhile, then what that started.
    await this.runDue();
    await this.settle();
  }

  private async settle(): Promise<void> {
    for (const settle of this.settlers) await settle().catch(() => undefined);
  }

  /**
   * Moves emulated time forward to `at` without running anything (a restart: the pay sandbox's
   * records were written up to `at`, and emulated time only moves forward). Never goes back.
   */
  catchUp(at: number): void {
    if (Number.isFinite(at) && at > this.now()) {
      this.offsetMs += at - this.now();
      this.arm();
    }
  }

  /** Back to real time (used by reset); drops every pending task. */
  resetToRealTime(): void {
    this.offsetMs = 0;
    this.entries = [];
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.entries = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs due tasks one at a time, in due order; concurrent callers share one drain. */
  runDue(): Promise<void> {
    this.draining = this.draining.then(async () => {
      for (;;) {
        const next = this.entries[0];
        if (!next || next.at > this.now() || this.stopped) break;
        this.entries.shift();
        if (next.cancelled) continue;
        try {
          await next.run();
        } catch {
          // A task reports its own failures (events stream); the clock must keep going.
        }
      }
      this.arm();
    });
    return this.draining;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const next = this.entries[0];
    if (!next || this.stopped) return;
    // setTimeout caps at ~24.8 days; re-arming on wake handles anything later.
    const delay = Math.min(Math.max(0, next.at - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => void this.runDue(), delay);
    this.timer.unref();
  }
}
