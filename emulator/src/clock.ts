/**
 * The emulated clock. Emulated time = real time + an offset that only grows, so a running
 * emulator keeps moving like the real world while tests can jump ahead (`advance`) to make
 * retries, timers and expiries due without waiting. Tasks scheduled on it run either when real
 * time reaches them or when `advance` passes them, whichever comes first, each exactly once.
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
   * Moves emulated time forward by `ms` and resolves once every task that became due (including
   * tasks those tasks scheduled within the new time) has run.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock advance needs a non-negative number of milliseconds, got ${ms}`);
    }
    this.offsetMs += ms;
    await this.runDue();
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
