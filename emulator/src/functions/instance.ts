import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HeapFigures } from '../memory';
import type {
  HeapRequestMessage,
  InvokeMessage,
  SdkRequestMessage,
  SdkResponseMessage,
  SerializedError,
  WorkerInit,
  WorkerMessage,
} from './protocol';

/** How one run on an instance ended, as the instance saw it. */
export type RunResult =
  | { kind: 'ok'; result: unknown; pending: number }
  | { kind: 'threw'; error: SerializedError; pending: number }
  | { kind: 'timeout' }
  /** The instance failed to load the function or died mid-run. */
  | { kind: 'crashed'; message: string };

export interface InstanceOptions {
  id: string;
  functionName: string;
  functionDir: string;
  fallbackNodeModules: string;
  clockOffset: SharedArrayBuffer;
  /** The platform's environment for this instance (per-invocation keys are set per run). */
  env: Record<string, string>;
  onLog(invocationId: string | undefined, level: string, message: string): void;
  /**
   * Called when the instance dies while idle, i.e. crashed after `main` returned (a throw in a
   * timer, say): the pool must retire it, as the cloud replaces a crashed instance.
   */
  onIdleCrash(instance: Instance, why: string): void;
  /** The instance's memory in MB (default 256, the context's memory_limit_in_mb). */
  memoryMb?: number;
  /** Set when SDK requests come over the message port: the emulator's address, their handler. */
  portTransport?: {
    origin: string;
    answer(request: SdkRequestMessage): Promise<Omit<SdkResponseMessage, 'type' | 'id'>>;
  };
}

// The cloud does not count initialization against the invocation's timeout; locally loading the
// SDK takes a few hundred ms, so a generous separate bound stops a function whose load hangs.
const INIT_TIMEOUT_MS = 15000;

/**
 * What one instance's JavaScript heap may use. The old generation is bounded by the function's
 * memory, as the cloud bounds an instance's (memory_limit_in_mb; 256 MB, CloudBase's default and
 * the personal plan's only size; past it the cloud answers FUNCTIONS_MEMORY_LIMIT_EXCEEDED): a
 * function past it dies with its instance instead of growing the emulator's process without end.
 * The young generation is capped at 4 MB: V8 otherwise grows each isolate's to 16 MB, which with
 * wx-server-sdk's ~13 MB of code and objects made every idle instance cost ~30 MB of RSS (measured
 * with `npm run soak`, 40 instances: see the README's limits).
 */
export const DEFAULT_INSTANCE_MEMORY_MB = 256;
export const INSTANCE_YOUNG_GENERATION_MB = 4;

/** Where the bundled worker lives: beside the running bundle, or built from the source tree. */
export function locateWorker(): string {
  const candidates = [
    path.join(__dirname, 'functions', 'worker.js'), // running from emulator/dist/*.js
    path.join(__dirname, 'worker.js'), // running from emulator/dist/functions/*.js
    path.resolve(__dirname, '../../dist/functions/worker.js'), // running from emulator/src/functions
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) {
    throw new Error(
      `the function runtime's worker is not built (looked for ${candidates.join(', ')}); run \`npm run build\``,
    );
  }
  return found;
}

/**
 * One function instance: a worker thread running one invocation at a time. `start()` is the cold
 * start; `run()` sends one invocation and resolves with how it ended. A timed-out or crashed
 * instance is dead and must not be reused.
 */
export class Instance {
  state: 'starting' | 'idle' | 'busy' | 'dead' = 'starting';
  /** The invocation running now, or the last one (SDK requests after return belong to it). */
  lastInvocationId: string | undefined;
  private readonly worker: Worker;
  private readonly ready: Promise<string | undefined>;
  private settle: ((result: RunResult) => void) | undefined;
  /** Resolvers of SDK requests held back because the instance is "frozen". */
  private readonly held: (() => void)[] = [];
  /** Heap reports asked for and not answered yet, by request id. */
  private readonly heapAsks = new Map<number, (figures: HeapFigures | undefined) => void>();
  private heapSeq = 0;

  constructor(
    private readonly options: InstanceOptions,
    workerFile: string,
  ) {
    const init: WorkerInit = {
      functionDir: options.functionDir,
      fallbackNodeModules: options.fallbackNodeModules,
      clockOffset: options.clockOffset,
      portTransportOrigin: options.portTransport?.origin,
    };
    const memoryMb = options.memoryMb ?? DEFAULT_INSTANCE_MEMORY_MB;
    this.worker = new Worker(workerFile, {
      workerData: init,
      env: options.env,
      resourceLimits: {
        maxOldGenerationSizeMb: memoryMb,
        maxYoungGenerationSizeMb: INSTANCE_YOUNG_GENERATION_MB,
      },
    });
    this.ready = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(
        () => resolve(`function ${options.functionName} did not load within ${INIT_TIMEOUT_MS} ms`),
        INIT_TIMEOUT_MS,
      );
      this.worker.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'ready':
            clearTimeout(timer);
            resolve(undefined);
            break;
          case 'loadError':
            clearTimeout(timer);
            resolve(`${message.error.name}: ${message.error.message}`);
            break;
          case 'log':
            options.onLog(message.invocationId, message.level, message.message);
            break;
          case 'sdkRequest':
            void options.portTransport?.answer(message).then((answer) => {
              if (this.state === 'dead') return;
              const reply: SdkResponseMessage = { type: 'sdkResponse', id: message.id, ...answer };
              this.worker.postMessage(reply);
            });
            break;
          case 'heap':
            this.heapAsks.get(message.id)?.({
              heapUsedMb: message.heapUsedMb,
              heapTotalMb: message.heapTotalMb,
            });
            this.heapAsks.delete(message.id);
            break;
          case 'result':
            if (message.invocationId === this.lastInvocationId) {
              this.finish(
                message.ok
                  ? { kind: 'ok', result: message.result, pending: message.pending }
                  : { kind: 'threw', error: message.error, pending: message.pending },
              );
            }
            break;
        }
      });
      const died = (why: string): void => {
        clearTimeout(timer);
        resolve(why);
        const wasIdle = this.state === 'idle';
        this.state = 'dead';
        if (wasIdle) options.onIdleCrash(this, why);
        this.finish({ kind: 'crashed', message: why });
        this.releaseHeld();
        for (const answer of this.heapAsks.values()) answer(undefined);
        this.heapAsks.clear();
      };
      this.worker.on('error', (err) =>
        died(
          (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `FUNCTIONS_MEMORY_LIMIT_EXCEEDED: the function used more than its ${memoryMb} MB of memory, and its instance was stopped (${err.message})`
            : `instance crashed: ${err.name}: ${err.message}`,
        ),
      );
      this.worker.on('exit', (code) => died(`instance exited with code ${code}`));
    });
  }

  get id(): string {
    return this.options.id;
  }

  /** Resolves once the function is loaded; a load failure leaves the instance dead. */
  async start(): Promise<string | undefined> {
    const failure = await this.ready;
    if (failure) {
      this.state = 'dead';
      await this.worker.terminate();
    } else if (this.state === 'starting') {
      this.state = 'idle';
    }
    return failure;
  }

  /** Runs one invocation; on timeout the worker is terminated (the caller replaces it). */
  run(message: InvokeMessage, timeoutMs: number): Promise<RunResult> {
    if (this.state !== 'idle') throw new Error(`instance ${this.id} is ${this.state}, not idle`);
    this.state = 'busy';
    this.lastInvocationId = message.invocationId;
    return new Promise<RunResult>((resolve) => {
      const timer = setTimeout(() => {
        void this.terminate();
        this.finish({ kind: 'timeout' });
      }, timeoutMs);
      this.settle = (result) => {
        clearTimeout(timer);
        this.settle = undefined;
        if (this.state === 'busy') this.state = 'idle';
        resolve(result);
      };
      this.worker.postMessage(message);
    });
  }

  /**
   * This instance's heap (the worker's own isolate), after a full garbage collection when
   * `collect`. Undefined if the instance is dead or does not answer within `timeoutMs` (it may be
   * busy in a synchronous loop: the ask is answered between its tasks).
   */
  heap(collect: boolean, timeoutMs = 5000): Promise<HeapFigures | undefined> {
    if (this.state === 'dead' || this.state === 'starting') return Promise.resolve(undefined);
    const id = ++this.heapSeq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.heapAsks.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.heapAsks.set(id, (figures) => {
        clearTimeout(timer);
        resolve(figures);
      });
      const ask: HeapRequestMessage = { type: 'heap', id, collect };
      this.worker.postMessage(ask);
    });
  }

  /** Holds an SDK request until the instance is terminated: a frozen instance never answers. */
  hold(): Promise<void> {
    return new Promise<void>((resolve) => this.held.push(resolve));
  }

  async terminate(): Promise<void> {
    this.state = 'dead';
    this.releaseHeld();
    await this.worker.terminate();
  }

  private finish(result: RunResult): void {
    this.settle?.(result);
  }

  private releaseHeld(): void {
    for (const release of this.held.splice(0)) release();
  }
}
