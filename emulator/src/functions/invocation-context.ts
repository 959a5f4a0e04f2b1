/**
 * What the platform hands one invocation besides the function's own code: the event (with the
 * `userInfo` it injects for mini-program calls) and the per-invocation variables behind
 * `getWXContext()`.
 */

export interface Caller {
  /** getWXContext().SOURCE: `wx_client`, `wx_paycallback`, `wx_trigger`, or a chain (`...,scf`). */
  source: string;
  /** Empty for timers and other callers without a user. */
  openid: string;
  appid: string;
  clientIp: string;
}

/**
 * The event `main` receives. A call from a mini-program (`wx_client`) gets
 * `userInfo: {appId, openId}` injected by the platform, overwriting any the client sent (it is
 * what makes it trustworthy; Tencent's CloudPay sample reads `event.userInfo.openId`, and the
 * older server-API docs describe it). Timers, pay callbacks and function-to-function calls get
 * the event as sent: a pay callback's own event carries a `userInfo` of WeChat Pay's making.
 */
export function platformEvent(data: unknown, caller: Caller): unknown {
  const event = data ?? {};
  if (caller.source !== 'wx_client' || typeof event !== 'object' || Array.isArray(event)) {
    return event;
  }
  return { ...event, userInfo: { appId: caller.appid, openId: caller.openid } };
}

/** What getWXContext() can return besides ENV and SOURCE: the platform's WX_CONTEXT_KEYS. */
export const WX_CONTEXT_KEYS = 'WX_OPENID,WX_APPID,WX_UNIONID,WX_CLIENTIP,WX_CLIENTIPV6';

/**
 * The per-invocation variables: `set` before main runs, `unset` removed. `getWXContext()`
 * returns each key WX_CONTEXT_KEYS names that is set (wx-server-sdk's getWXContext skips unset
 * ones, in every version read here), plus ENV and SOURCE. The docs (Cloud.getWXContext) give
 * OPENID and APPID "when a mini-program calls the function", CLIENTIP/CLIENTIPV6 for the
 * mini-program client, UNIONID only when the unionid conditions are met (never, locally); so a
 * timer sees ENV and SOURCE only. A function called by another keeps the caller's user, and a pay
 * callback carries the payer (as the emulator did before; unconfirmed on the cloud). Removing
 * what is absent keeps a value from the instance's previous invocation out of this one.
 */
export function invocationEnv(caller: Caller): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = { TCB_SOURCE: caller.source };
  if (caller.openid) {
    set.WX_OPENID = caller.openid;
    set.WX_APPID = caller.appid;
  }
  if (caller.source.split(',')[0] === 'wx_client') set.WX_CLIENTIP = caller.clientIp;
  const unset = WX_CONTEXT_KEYS.split(',').filter((key) => !(key in set));
  return { set, unset };
}

/**
 * The platform's environment for an instance (platform-facts §1), pointed at the emulator: `url`
 * is the instance's own /admin address; TCB_ENV and SCF_NAMESPACE name the default env until an
 * invocation sets its own (invocationEnv's caller).
 */
export function instanceEnvironment(options: {
  name: string;
  url: string;
  envId: string;
  functionEnv: Record<string, Record<string, string>>;
}): Record<string, string> {
  const { name, url, envId, functionEnv } = options;
  return {
    // What the console's 环境变量 would set: for every function ('*'), then for this one.
    ...functionEnv['*'],
    ...functionEnv[name],
    PATH: process.env.PATH ?? '',
    TCB_CONTEXT_CNFG: JSON.stringify({ URL: url }),
    TENCENTCLOUD_RUNENV: 'SCF',
    TENCENTCLOUD_SECRETID: 'local-dummy-id',
    TENCENTCLOUD_SECRETKEY: 'local-dummy-key',
    TENCENTCLOUD_SESSIONTOKEN: 'local-dummy-token',
    TENCENTCLOUD_REGION: 'ap-shanghai',
    TCB_ENV: envId,
    SCF_NAMESPACE: envId,
    SCF_FUNCTIONNAME: name,
    SCF_FUNCTIONVERSION: '$LATEST',
    // @cloudbase/node-sdk 2.1.x (wx-server-sdk 2.1.x-2.2.x) reads TCB_CONTEXT_CNFG only when
    // TCB_CONTEXT_KEYS names it, and otherwise falls back to the in-cloud hosts; newer ones
    // read it regardless (their lib/cloudbase.js getCloudbaseContext).
    TCB_CONTEXT_KEYS: 'TCB_SOURCE,TCB_CONTEXT_CNFG',
    WX_CONTEXT_KEYS,
    // The SDK prints every database call unless SILENCE is set; the cloud sets it too.
    SILENCE: 'true',
  };
}
