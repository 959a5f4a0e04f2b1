/**
 * Calls a function's `main` the ways the cloud's Node.js runtime accepts (SCF's handler forms):
 * - `async main(event, context)` or any `main` returning a promise: its resolved value;
 * - `main(event, context)` returning a plain value: that value;
 * - `main(event, context, callback)`: `callback(error, result)` decides, unless `main` returns
 *   a promise or value other than undefined first (SCF takes whichever comes first).
 * A throw, a rejection or `callback(error)` fails the invocation.
 */
export type Main = (event: unknown, context: unknown, callback?: MainCallback) => unknown;
export type MainCallback = (error?: unknown, result?: unknown) => void;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    !!value &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function callMain(main: Main, event: unknown, context: unknown): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    let settled = false;
    const ok = (value: unknown): void => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    const fail = (error: unknown): void => {
      if (!settled) {
        settled = true;
        reject(
          error instanceof Error || !error || typeof error !== 'object' ? error : toError(error),
        );
      }
    };
    // A callback-style main (three parameters) may answer through the callback only.
    const takesCallback = main.length >= 3;
    const callback: MainCallback = (error, result) => {
      if (error !== undefined && error !== null) fail(error);
      else ok(result);
    };
    let returned: unknown;
    try {
      returned = main(event, context, callback);
    } catch (err) {
      fail(err);
      return;
    }
    if (isThenable(returned)) {
      returned.then((value) => {
        if (!takesCallback || value !== undefined) ok(value);
      }, fail);
    } else if (!takesCallback || returned !== undefined) {
      ok(returned);
    }
  });
}

/** `callback({code: 1})` and the like: keep what was passed, readable in the error message. */
function toError(value: object): Error {
  const err = new Error(JSON.stringify(value));
  err.name = 'CallbackError';
  return err;
}

/**
 * The context `main` receives: the platform's fields as sent (SCF's Node.js runtime passes
 * `memory_limit_in_mb`, `time_limit_in_ms`, `request_id`, `function_name`, `function_version`,
 * `namespace`, `tencentcloud_region`, `environment`, `environ`...; the SCF docs describe the
 * context as JSON data), plus `getRemainingTimeInMillis()`: the milliseconds left before the
 * invocation times out, counted from `startedAt` (ms on the monotonic `now`).
 *
 * Knowingly beyond the documented SCF context: no Tencent source found lists
 * getRemainingTimeInMillis for SCF; it is AWS Lambda's Node.js context method
 * (docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html), which code ported from Lambda
 * calls. It is non-enumerable, so `JSON.stringify(context)` and `Object.keys(context)` show only
 * the platform's fields, as the cloud's logs print them.
 */
export function runtimeContext(
  context: Record<string, unknown>,
  startedAt: number,
  now: () => number,
): Record<string, unknown> {
  const limit = Number(context.time_limit_in_ms);
  const withMethod = { ...context };
  Object.defineProperty(withMethod, 'getRemainingTimeInMillis', {
    value: (): number =>
      Number.isFinite(limit) ? Math.max(0, Math.round(startedAt + limit - now())) : 0,
    enumerable: false,
  });
  return withMethod;
}
