import type { Instance } from './instance';

/**
 * The instances of every function: warm idle ones are reused, new ones start up to the limit
 * per function, and a call past the limit waits for one to come free (as the cloud queues past
 * a function's concurrency). The runtime (index.ts) builds instances and runs calls on them; this
 * module only decides which instance a call gets and when one leaves the pool.
 */

interface Pool {
  all: Set<Instance>;
  idle: Instance[];
  waiters: (() => void)[];
}

/** The emulated clock as the pool uses it (the emulator's Clock satisfies it). */
export interface PoolClock {
  now(): number;
  schedule(at: number, label: string, run: () => Promise<void> | void): { cancel(): void };
}

/**
 * Instances that died (timed out, crashed, reclaimed) stay findable by id so a late SDK request
 * from one is still attributed and dropped; only the most recent ones, so a long run that
 * replaces instances again and again does not keep every dead worker forever.
 */
export const DEAD_INSTANCES_KEPT = 100;

export interface InstancePoolOptions {
  /** Instances per function at most. */
  maxPerFunction: number;
  /** A new instance id for function `name`. */
  newId(name: string): string;
  /** Builds (does not start) an instance of `name` with this id. */
  create(name: string, id: string): Instance;
  /**
   * An instance idle this long (emulated ms) is terminated and leaves the pool, as the cloud
   * reclaims instances that serve no request for a while; the next call cold-starts a new one.
   * 0 keeps idle instances until the emulator stops.
   */
  idleMs: number;
  clock: PoolClock;
}

export class InstancePool {
  private readonly pools = new Map<string, Pool>();
  /** Every instance ever started, by id; dead ones stay so late requests are still attributed. */
  private readonly byId = new Map<string, Instance>();
  /** When each idle instance last became idle (emulated ms). */
  private readonly idleSince = new Map<Instance, number>();
  /** The one pending reclaim check on the clock (one for all instances, not one per call). */
  private sweep: { at: number; cancel(): void } | undefined;
  private stopped = false;

  constructor(private readonly options: InstancePoolOptions) {}

  /** The live instances of a function. */
  instances(name: string): Instance[] {
    return [...(this.pools.get(name)?.all ?? [])];
  }

  /** Every live instance of every function. */
  live(): { name: string; instance: Instance }[] {
    return [...this.pools].flatMap(([name, pool]) =>
      [...pool.all].filter((i) => i.state !== 'dead').map((instance) => ({ name, instance })),
    );
  }

  /** An instance by id, also one that has died (its late requests are dropped by the caller). */
  get(id: string): Instance | undefined {
    return this.byId.get(id);
  }

  /**
   * A warm idle instance, or a new one within the limit (started here), or a wait for one to come
   * free. A string is why no instance could be had (the start failed, or the emulator stopped).
   */
  async acquire(name: string): Promise<{ instance: Instance; coldStart: boolean } | string> {
    const pool = this.pool(name);
    for (;;) {
      const warm = pool.idle.pop();
      if (warm) this.idleSince.delete(warm);
      // A dead one is retired by retire(); this is a last guard against reusing it.
      if (warm && warm.state === 'dead') continue;
      if (warm) return { instance: warm, coldStart: false };
      if (pool.all.size < this.options.maxPerFunction) break;
      await new Promise<void>((resolve) => pool.waiters.push(resolve));
      if (this.stopped) return 'the emulator stopped';
    }
    const id = this.options.newId(name);
    const instance = this.options.create(name, id);
    pool.all.add(instance);
    this.byId.set(id, instance);
    const failure = await instance.start();
    if (failure) {
      this.release(name, instance);
      return failure;
    }
    return { instance, coldStart: true };
  }

  /** Back after a call: idle again, or out of the pool if it died; a waiting call may go on. */
  release(name: string, instance: Instance): void {
    const pool = this.pool(name);
    if (instance.state === 'dead') {
      pool.all.delete(instance);
      this.forgetOldDead();
    } else {
      pool.idle.push(instance);
      this.idleSince.set(instance, this.options.clock.now());
      this.armSweep();
    }
    pool.waiters.shift()?.();
  }

  /** An idle instance died: out of the pool, so the next call starts a fresh one. */
  retire(name: string, instance: Instance): void {
    const pool = this.pool(name);
    const at = pool.idle.indexOf(instance);
    if (at >= 0) pool.idle.splice(at, 1);
    pool.all.delete(instance);
    this.idleSince.delete(instance);
    this.forgetOldDead();
    pool.waiters.shift()?.();
  }

  /**
   * Terminates every instance idle for `idleMs` or longer (emulated time) and takes it out of
   * the pool; its worker's heap goes with it. Runs from the clock; callable directly.
   */
  async reclaimIdle(): Promise<string[]> {
    const { idleMs, clock } = this.options;
    const reclaimed: Instance[] = [];
    if (idleMs > 0 && !this.stopped) {
      const now = clock.now();
      for (const pool of this.pools.values()) {
        for (const instance of [...pool.idle]) {
          const since = this.idleSince.get(instance);
          if (since === undefined || now - since < idleMs) continue;
          pool.idle.splice(pool.idle.indexOf(instance), 1);
          pool.all.delete(instance);
          this.idleSince.delete(instance);
          reclaimed.push(instance);
        }
      }
    }
    await Promise.all(reclaimed.map((i) => i.terminate()));
    this.forgetOldDead();
    this.armSweep();
    return reclaimed.map((i) => i.id);
  }

  /**
   * Re-arms the reclaim check: the clock's reset drops every pending task, this one included.
   * Instances idle before the reset count from now.
   */
  rearm(): void {
    this.sweep = undefined;
    const now = this.options.clock.now();
    for (const instance of this.idleSince.keys()) this.idleSince.set(instance, now);
    this.armSweep();
  }

  /** Ends every instance; a call that wakes after this is answered "the emulator stopped". */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sweep?.cancel();
    this.sweep = undefined;
    const all = [...this.byId.values()];
    this.byId.clear();
    this.pools.clear();
    await Promise.all(all.map((i) => i.terminate()));
  }

  /** One clock task, due when the longest-idle instance reaches `idleMs`. */
  private armSweep(): void {
    const { idleMs, clock } = this.options;
    if (idleMs <= 0 || this.stopped) return;
    let oldest = Infinity;
    for (const since of this.idleSince.values()) oldest = Math.min(oldest, since);
    if (oldest === Infinity) return;
    const at = oldest + idleMs;
    // An earlier or equal check already pending covers this one (it re-arms after it runs).
    if (this.sweep && this.sweep.at <= at) return;
    this.sweep?.cancel();
    const sweep = { at, cancel: () => task.cancel() };
    const task = clock.schedule(at, 'functions: reclaim idle instances', async () => {
      if (this.sweep === sweep) this.sweep = undefined;
      await this.reclaimIdle();
    });
    this.sweep = sweep;
  }

  /** Drops the oldest dead instances from byId past DEAD_INSTANCES_KEPT. */
  private forgetOldDead(): void {
    let dead = 0;
    for (const instance of this.byId.values()) if (instance.state === 'dead') dead++;
    for (const [id, instance] of this.byId) {
      if (dead <= DEAD_INSTANCES_KEPT) break;
      if (instance.state !== 'dead') continue;
      this.byId.delete(id);
      dead--;
    }
  }

  private pool(name: string): Pool {
    let pool = this.pools.get(name);
    if (!pool) {
      pool = { all: new Set(), idle: [], waiters: [] };
      this.pools.set(name, pool);
    }
    return pool;
  }
}
