import { randomBytes } from 'node:crypto';
import cloud from 'wx-server-sdk';
import type { CloudPayApi } from './cloudpay';
import { CloudContentStore } from './cloud-content';
import { CloudLedger } from './cloud-ledger';
import type { ContentDeps } from './content';
import { loadConfig } from './config';
import { toErrorReply, type ErrorReply } from './errors';
import type { Caller, PaymentDeps } from './payments';
import { newTradeNo } from './trade-no';

/**
 * Wiring for the deployed functions: the real wx-server-sdk, the function's environment, the
 * system clock. Everything the flows do is decided in the payment flows (payments.ts); this file only connects it.
 */
// DYNAMIC_CURRENT_ENV (a symbol the typings do not admit) = the env the function runs in.
cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV as unknown as string });

let deps: PaymentDeps | undefined;

/** Built on first use, so a configuration error becomes a reply rather than a crashed instance. */
export function paymentDeps(): PaymentDeps {
  deps ??= {
    ledger: new CloudLedger(cloud.database()),
    // wx-server-sdk has no typings for cloudPay; server/cloudpay.ts describes it.
    pay: (cloud as unknown as { cloudPay: CloudPayApi }).cloudPay,
    config: loadConfig(),
    now: () => Date.now(),
    nonceStr: () => randomBytes(16).toString('hex'),
    newTradeNo: (now) => newTradeNo(now),
  };
  return deps;
}

/** Who is calling, from the platform (never from the event). */
export function currentCaller(): Caller {
  const context = cloud.getWXContext();
  return { openid: context.OPENID, clientIp: context.CLIENTIP, source: context.SOURCE };
}

/**
 * A function's `main` from one flow: the dependencies (a configuration error becomes the flow's
 * error reply, never a crashed instance), the caller from the platform, the event as received.
 */
export function functionMain<T>(
  flow: (deps: PaymentDeps, caller: Caller, event: unknown) => Promise<T>,
): (event: unknown) => Promise<T | ErrorReply> {
  return async (event) => {
    let deps: PaymentDeps;
    try {
      deps = paymentDeps();
    } catch (err) {
      return toErrorReply(err);
    }
    return flow(deps, currentCaller(), event);
  };
}

let contentDeps: ContentDeps | undefined;

/**
 * A content function's `main` (getcontent, getcatalog): the same wiring as functionMain, with the
 * content store over the cloud database and storage.
 */
export function contentMain<T>(
  flow: (deps: ContentDeps, caller: Caller, event: unknown) => Promise<T>,
): (event: unknown) => Promise<T | ErrorReply> {
  return async (event) => {
    try {
      const payment = paymentDeps();
      contentDeps ??= {
        ledger: payment.ledger,
        content: new CloudContentStore(cloud),
        config: payment.config,
        now: payment.now,
      };
    } catch (err) {
      return toErrorReply(err);
    }
    return flow(contentDeps, currentCaller(), event);
  };
}
