// The two calling styles of every asynchronous wx API: with `success`/`fail`/`complete` the call
// returns nothing and reports through them (as WeChat does); without any, it returns a Promise.

export interface WxCallbacks<T> {
  success?: (res: T) => void;
  fail?: (err: WxError) => void;
  complete?: (res: T | WxError) => void;
}

/** What a failed wx API reports: `errMsg` is always '<api>:fail <detail>'. */
export interface WxError {
  errMsg: string;
  errCode?: number;
}

export function wxError(api: string, detail: string, errCode?: number): WxError {
  return errCode === undefined
    ? { errMsg: `${api}:fail ${detail}` }
    : { errCode, errMsg: `${api}:fail ${detail}` };
}

/** Anything thrown inside an API becomes a `WxError` for `api` (an existing one passes through). */
export function toWxError(api: string, err: unknown): WxError {
  if (typeof err === 'object' && err !== null && typeof (err as WxError).errMsg === 'string') {
    return err as WxError;
  }
  return wxError(api, err instanceof Error ? err.message : String(err));
}

/** What a call returns: nothing when it was given a callback, else a Promise (as in WeChat). */
export type WxReturn<O, T> = O extends
  { success: unknown } | { fail: unknown } | { complete: unknown }
  ? undefined
  : Promise<T>;

export function withCallbacks<T, O extends WxCallbacks<T> | undefined>(
  api: string,
  options: O,
  run: () => Promise<T>,
): WxReturn<O, T> {
  const promise = run().catch((err: unknown) => Promise.reject(toWxError(api, err)));
  if (!options || (!options.success && !options.fail && !options.complete)) {
    return promise as WxReturn<O, T>;
  }
  promise.then(
    (res) => {
      options.success?.(res);
      options.complete?.(res);
    },
    (err: WxError) => {
      options.fail?.(err);
      options.complete?.(err);
    },
  );
  return undefined as WxReturn<O, T>;
}
