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

export interface InstancePoolOptions {
  /** Instances per function at most. */
  maxPerFunction: number;
  /** A new instance id for function `name`. */
  newId(name: string): string;
  /** Builds (does not start) an instance of `name` with this id. */
  create(name: string, id: string): Instance;
}

export class InstancePool {
  private readonly pools = new Map<string, Pool>();
  /** Every instance ever started, by id; dead ones stay so late requests are still attributed. */
  private readonly byId = new Map<string, Instance>();
  private stopped = false;

  constructor(private readonly options: InstancePoolOptions) {}

  /** The live instances of a function. */
  instances(name: string): Instance[] {
    return [...(this.pools.get(name)?.all ?? [])];
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
      // Kept in byId so late requests from it are still attributed (and dropped).
    } else {
      pool.idle.push(instance);
    }
    pool.waiters.shift()?.();
  }

  /** An idle instance died: out of the pool, so the next call starts a fresh one. */
  retire(name: string, instance: Instance): void {
    const pool = this.pool(name);
    const at = pool.idle.indexOf(instance);
    if (at >= 0) pool.idle.splice(at, 1);
    pool.all.delete(instance);
    pool.waiters.shift()?.();
  }

  /** Ends every instance; a call that wakes after this is answered "the emulator stopped". */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.byId.values()];
    this.byId.clear();
    this.pools.clear();
    await Promise.all(all.map((i) => i.terminate()));
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
