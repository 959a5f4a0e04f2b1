/** Messages between the functions service (main thread) and an instance's worker thread. */

/** What every worker is started with (its `workerData`). */
export interface WorkerInit {
  /** The function folder; its index.js is loaded once, at cold start. */
  functionDir: string;
  /** The project's node_modules: where `wx-server-sdk` resolves from when the folder has none. */
  fallbackNodeModules: string;
  /** One Float64 slot: the emulated clock's offset from real time, in ms, kept current by main. */
  clockOffset: SharedArrayBuffer;
}

/** Request headers the worker stamps on every SDK request it sends to its instance path. */
export const INVOCATION_HEADER = 'x-wxcloud-invocation';
export const AFTER_RETURN_HEADER = 'x-wxcloud-after-return';

export interface InvokeMessage {
  type: 'invoke';
  invocationId: string;
  event: unknown;
  context: Record<string, unknown>;
  /** Per-invocation variables (WX_OPENID, TCB_SOURCE, ...) set in process.env before main runs. */
  env: Record<string, string>;
  /** Per-invocation variables this call does not have (e.g. WX_OPENID for a timer): removed. */
  unset?: string[];
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'loadError'; error: SerializedError }
  | { type: 'log'; invocationId: string | undefined; level: string; message: string }
  | {
      type: 'result';
      invocationId: string;
      ok: true;
      result: unknown;
      /** SDK requests sent during the invocation and not yet answered when main returned. */
      pending: number;
    }
  | { type: 'result'; invocationId: string; ok: false; error: SerializedError; pending: number };
