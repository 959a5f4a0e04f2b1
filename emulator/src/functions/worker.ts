/**
 * One emulated function instance: a worker thread whose process.env is the platform's, which
 * loads the function folder's index.js once (the cold start) and then runs one invocation at a
 * time, as a cloud instance does. Bundled to dist/functions/worker.js (workers cannot load .ts).
 *
 * Before the function is loaded the runtime:
 * - makes `Date` read the emulated clock (the offset lives in shared memory, kept current by main);
 * - sends console output to the main thread, tagged with the invocation that is running;
 * - tags each SDK request with its invocation and whether `main` had already returned, so the
 *   emulator can flag (and, with --freeze-after-return, drop) work left in flight;
 * - refuses process.kill aimed at the emulator's own process (process-guard.ts);
 * - seals the network: only loopback (the emulator) is reachable (network-seal.ts);
 * - makes the function folder its working directory and puts it on the module search path, with
 *   the project's node_modules as a last resort, so a function folder without its own
 *   node_modules still finds `wx-server-sdk` (working-directory.ts).
 */
import http from 'node:http';
import path from 'node:path';
import util from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { callMain, runtimeContext, type Main } from './call-main';
import { sealNetwork } from './network-seal';
import { guardProcessKill } from './process-guard';
import { usePlainEnv } from './plain-env';
import { deliverSdkResponse, portAwareRequest } from './sdk-transport';
import { enterFunctionFolder } from './working-directory';
import { collectGarbage, heapFigures } from '../memory';
import {
  AFTER_RETURN_HEADER,
  INVOCATION_HEADER,
  type HeapRequestMessage,
  type InvokeMessage,
  type SdkResponseMessage,
  type SerializedError,
  type WorkerMessage,
} from './protocol';
import type { WorkerInit } from './protocol';

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('worker.ts runs only as a worker thread');
const post = (message: WorkerMessage): void => port.postMessage(message);

// --- Emulated clock -------------------------------------------------------------------------
const offset = new Float64Array(init.clockOffset);
const RealDate = Date;
const emulatedNow = (): number => RealDate.now() + (offset[0] ?? 0);
globalThis.Date = new Proxy(RealDate, {
  construct(target, args: unknown[], newTarget) {
    return Reflect.construct(target, args.length ? args : [emulatedNow()], newTarget) as object;
  },
  apply() {
    // Date() called without `new` returns a string for now.
    return new RealDate(emulatedNow()).toString();
  },
  get(target, prop, receiver) {
    if (prop === 'now') return emulatedNow;
    return Reflect.get(target, prop, receiver) as unknown;
  },
});

// --- Invocation state -----------------------------------------------------------------------
interface Current {
  id: string;
  returned: boolean;
  /** SDK requests of this invocation not answered yet. */
  pending: number;
}
let current: Current | undefined;

// --- Console capture ------------------------------------------------------------------------
for (const level of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
  console[level] = (...args: unknown[]): void => {
    post({ type: 'log', invocationId: current?.id, level, message: util.format(...args) });
  };
}
process.on('unhandledRejection', (reason) => {
  // Logged rather than crashing the instance: the invocation's log shows it either way.
  console.error('Unhandled promise rejection:', reason);
});

// --- The host process cannot be signalled from a function (process-guard.ts) ---------------
guardProcessKill();

// --- Sealed network: only the emulator on loopback is reachable (network-seal.ts) ------------
sealNetwork(
  {
    functionName: path.basename(init.functionDir),
    functionDir: init.functionDir,
    fallbackNodeModules: init.fallbackNodeModules,
  },
  (err) => console.error(err.message),
);

// --- SDK request tagging, and the in-process transport to the emulator (sdk-transport.ts) -----
const originalRequest = http.request;
const send = init.portTransportOrigin
  ? portAwareRequest(originalRequest, new URL(init.portTransportOrigin), post)
  : (originalRequest as (...a: unknown[]) => http.ClientRequest);
(http as { request: typeof http.request }).request = function request(
  this: unknown,
  ...args: unknown[]
): http.ClientRequest {
  const req = send.apply(this, args);
  const owner = current;
  if (owner && req.path.startsWith('/admin/instances/')) {
    req.setHeader(INVOCATION_HEADER, owner.id);
    if (owner.returned) req.setHeader(AFTER_RETURN_HEADER, '1');
    owner.pending++;
    req.once('close', () => owner.pending--);
  }
  return req;
};

// --- The function folder: working directory and module search path (working-directory.ts) ---
enterFunctionFolder(init.functionDir, init.fallbackNodeModules);

function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: typeof err === 'string' ? err : util.inspect(err) };
}

// After NODE_PATH has been read from the native environment (working-directory.ts).
usePlainEnv();

let main: Main;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(path.join(init.functionDir, 'index.js')) as { main?: unknown };
  if (typeof loaded.main !== 'function') {
    throw new Error(`${path.join(init.functionDir, 'index.js')} does not export a main function`);
  }
  main = loaded.main as Main;
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'loadError', error: serializeError(err) });
}

port.on('message', (message: InvokeMessage | SdkResponseMessage | HeapRequestMessage) => {
  if (message.type === 'sdkResponse') deliverSdkResponse(message);
  else if (message.type === 'heap') {
    // The emulator's reset asks idle instances to let go of what their calls left behind.
    if (message.collect) collectGarbage();
    post({ type: 'heap', id: message.id, ...heapFigures() });
  } else void invoke(message);
});

async function invoke(message: InvokeMessage): Promise<void> {
  Object.assign(process.env, message.env);
  for (const key of message.unset ?? []) Reflect.deleteProperty(process.env, key);
  const me: Current = { id: message.invocationId, returned: false, pending: 0 };
  current = me;
  try {
    // The timeout runs from here (the instance's side counts from the send, a moment earlier).
    const context = runtimeContext(message.context, performance.now(), () => performance.now());
    const value = await callMain(main, message.event, context);
    me.returned = true;
    // The platform answers with JSON: what does not survive JSON does not reach the caller.
    const result = value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
    post({ type: 'result', invocationId: me.id, ok: true, result, pending: me.pending });
  } catch (err) {
    me.returned = true;
    post({
      type: 'result',
      invocationId: me.id,
      ok: false,
      error: serializeError(err),
      pending: me.pending,
    });
  }
}
