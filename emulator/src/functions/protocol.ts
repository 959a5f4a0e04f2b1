/** Messages between the functions service (main thread) and an instance's worker thread. */

/** What every worker is started with (its `workerData`). */
export interface WorkerInit {
  /** The function folder; its index.js is loaded once, at cold start. */
  functionDir: string;
  /** The project's node_modules: where `wx-server-sdk` resolves from when the folder has none. */
  fallbackNodeModules: string;
  /** One Float64 slot: the emulated clock's offset from real time, in ms, kept current by main. */
  clockOffset: SharedArrayBuffer;
  /**
   * The emulator's own address when SDK requests to it travel over the message port
   * (sdk-transport.ts); undefined with `--sdk-transport http`.
   */
  portTransportOrigin?: string;
}

/** An SDK request to the instance's /admin path, carried over the message port (worker → main). */
export interface SdkRequestMessage {
  type: 'sdkRequest';
  id: number;
  method: string;
  /** Path and query, e.g. `/admin/instances/<id>?env=local-env`. */
  path: string;
  /** Lower-case names, as an HTTP server reads them. */
  headers: Record<string, string>;
  /** JSON text as the SDK wrote it, or the bytes of any other body (multipart). */
  body: string | Uint8Array;
}

/** The answer to one SdkRequestMessage (main → worker), as the HTTP route would send it. */
export interface SdkResponseMessage {
  type: 'sdkResponse';
  id: number;
  status: number;
  contentType: string;
  body: string;
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

/**
 * Main → worker: report this instance's heap, after a full garbage collection when `collect`
 * (the emulator's reset); the worker answers with a HeapMessage carrying the same id.
 */
export interface HeapRequestMessage {
  type: 'heap';
  id: number;
  collect: boolean;
}

export interface HeapMessage {
  type: 'heap';
  id: number;
  heapUsedMb: number;
  heapTotalMb: number;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type WorkerMessage =
  | SdkRequestMessage
  | HeapMessage
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
