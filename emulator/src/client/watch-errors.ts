/**
 * How a failed watch reaches the program. The mini-program calls a watch's `onError` once and
 * the watch is over (reference-sdk-api/database/collection/Collection.watch). @cloudbase/database
 * 1.4.3, which createWx runs, differs when the server refuses the watch (rules deny it, say):
 * - websocket-client.js hands the raw ERROR message to onError, then virtual-websocket-client.js
 *   (handleWatchEstablishmentError -> closeWithError) calls onError again with a CloudSDKError;
 * - its constructor calls `this.initWatch()` without a catch, so the same failure also surfaces
 *   as an unhandled promise rejection, which ends a Node program.
 * The adapter therefore reports the first error only, as an Error carrying errCode/errMsg, and
 * marks the constructor's initWatch promise handled (the failure has reached onError already).
 */
import { VirtualWebSocketClient } from '@cloudbase/database/dist/commonjs/realtime/virtual-websocket-client';

interface RawErrorMessage {
  msgType: 'ERROR';
  msgData?: { code?: string; message?: string };
}

function isRawErrorMessage(value: unknown): value is RawErrorMessage {
  return (
    !!value && typeof value === 'object' && (value as { msgType?: unknown }).msgType === 'ERROR'
  );
}

/** The error as the program sees it: an Error with errCode and errMsg, like other wx failures. */
function asWatchError(error: unknown): unknown {
  if (!isRawErrorMessage(error)) return error;
  const code = error.msgData?.code ?? 'SYS_ERR';
  const message = error.msgData?.message ?? 'the watch failed';
  return Object.assign(new Error(`${code}: ${message}`), { errCode: code, errMsg: message });
}

/** Wraps a watch's onError so it runs at most once per watch. */
export function onErrorOnce(onError: (error: unknown) => void): (error: unknown) => void {
  let reported = false;
  return (error) => {
    if (reported) return;
    reported = true;
    onError(asWatchError(error));
  };
}

let guarded = false;

/**
 * Makes every VirtualWebSocketClient's `initWatch` promise handled. The class assigns initWatch
 * in its constructor (`this.initWatch = async ...`) and calls it at once, so a prototype setter
 * sees the function first and wraps it; callers that await the promise still see the rejection.
 */
export function guardInitWatchRejections(): void {
  if (guarded) return;
  guarded = true;
  Object.defineProperty(VirtualWebSocketClient.prototype, 'initWatch', {
    configurable: true,
    set(this: object, initWatch: (...args: unknown[]) => Promise<unknown>) {
      Object.defineProperty(this, 'initWatch', {
        configurable: true,
        writable: true,
        value: (...args: unknown[]): Promise<unknown> => {
          const started = initWatch(...args);
          started.catch(() => undefined);
          return started;
        },
      });
    },
  });
}
