import type { ScheduledTask } from '../clock';
import type { EmulatorContext } from '../service';
import { parseCron } from './cron';
import type { FunctionConfig } from './function-config';

/** Missed firings one clock advance runs per timer before skipping to now. */
const MAX_CATCH_UP_FIRINGS = 1000;

export interface TimerTriggerDeps {
  /** The served functions. */
  list(): string[];
  /** A function's config.json (throws when it is invalid). */
  readConfig(name: string): FunctionConfig;
  /** Runs one firing: the function with SCF's timer event for `due`. */
  fire(name: string, triggerName: string, due: number): Promise<unknown>;
  /** True once the runtime stopped: a firing that comes due after that does nothing. */
  stopped(): boolean;
}

/**
 * Timer triggers (config.json `triggers` of type `timer`) on the emulated clock: each firing is a
 * clock task at its due time, which schedules the next one from its own due time.
 */
export class TimerTriggers {
  private tasks: ScheduledTask[] = [];
  private readonly lateFirings = new Map<string, number>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly deps: TimerTriggerDeps,
  ) {}

  /** Schedules every timer trigger of every function; a bad one is skipped with a warning. */
  schedule(): void {
    for (const name of this.deps.list()) {
      let config: FunctionConfig;
      try {
        config = this.deps.readConfig(name);
      } catch (err) {
        this.ctx.events.emit('emulator.warning', {
          service: 'functions',
          name,
          message: `timer triggers not scheduled: ${(err as Error).message}`,
        });
        continue;
      }
      for (const trigger of config.triggers) {
        if (trigger.type !== 'timer') continue;
        try {
          const cron = parseCron(trigger.config);
          this.scheduleTimer(name, trigger.name, cron, this.ctx.clock.now());
        } catch (err) {
          this.ctx.events.emit('emulator.warning', {
            service: 'functions',
            name,
            message: `timer trigger ${trigger.name} not scheduled: ${(err as Error).message}`,
          });
        }
      }
    }
  }

  /** Drops every pending firing. */
  cancel(): void {
    for (const task of this.tasks) task.cancel();
    this.tasks = [];
  }

  /**
   * Schedules the next firing after `after` on the emulated clock. Each firing schedules the one
   * after it from its own due time, so advancing the clock past several runs each of them, in
   * order, as the cloud would have; `clock.advance` resolves once all have run.
   */
  private scheduleTimer(
    name: string,
    triggerName: string,
    cron: ReturnType<typeof parseCron>,
    after: number,
  ): void {
    let at = cron.next(after);
    if (at === undefined) return;
    // Catching up after a long clock advance runs every missed firing; past a bound (a per-second
    // timer advanced by a day) the rest are skipped, with a warning, to keep advance bounded.
    const key = `${name}/${triggerName}`;
    const late = at < this.ctx.clock.now() ? (this.lateFirings.get(key) ?? 0) + 1 : 0;
    this.lateFirings.set(key, late);
    if (late > MAX_CATCH_UP_FIRINGS) {
      this.lateFirings.set(key, 0);
      this.ctx.events.emit('emulator.warning', {
        service: 'functions',
        name,
        message: `timer ${key}: more than ${MAX_CATCH_UP_FIRINGS} missed firings in one clock advance; skipping to now`,
      });
      at = cron.next(this.ctx.clock.now());
      if (at === undefined) return;
    }
    const due = at;
    const task = this.ctx.clock.schedule(due, `timer ${key}`, async () => {
      this.tasks = this.tasks.filter((t) => t !== task);
      if (this.deps.stopped()) return;
      this.scheduleTimer(name, triggerName, cron, due);
      await this.deps.fire(name, triggerName, due);
    });
    this.tasks.push(task);
  }
}
