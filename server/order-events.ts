import { CloudPayError, ensureSuccess, type CloudPayApi, type QueryOrderResult } from './cloudpay';
import type { PayConfig } from './config';
import { ErrorCodes, type ErrorReply } from './errors';
import type { Ledger, Plan } from './ledger';
import {
  paymentMismatches,
  paystatusOf,
  transition,
  type OrderEventType,
  type OrderStatus,
  type PaymentFacts,
} from './order-state';
import { unlockIdFor, type AnomalyRecord, type OrderRecord } from './records';

/*
 * The one path for every order event (the state machine's verdict, the order, the unlock and any
 * anomaly written in one ledger transaction) and asking WeChat Pay what became of an order: what
 * userpay, the callbacks, payquery, payexpire and the refunds share.
 */

/** Everything the flows need from outside, injected so tests control time, ids and WeChat Pay. */
export interface PaymentDeps {
  ledger: Ledger;
  pay: CloudPayApi;
  config: PayConfig;
  now: () => number;
  nonceStr: () => string;
  newTradeNo: (now: number) => string;
}

export interface Caller {
  openid: unknown;
  clientIp?: unknown;
  /** getWXContext().SOURCE */
  source?: unknown;
}

export interface OrderView {
  docid: string;
  tradeno: string;
  status: OrderStatus;
  paystatus: 0 | 1;
}

/**
 * Callbacks run only for WeChat Pay (SOURCE wx_paycallback, set by the platform, not the event):
 * a mini-program user can invoke a callback function directly, and is refused with nothing written.
 */
export function refuseUnlessWeChatPay(caller: Caller, fn: string): ErrorReply | undefined {
  if (caller.source === 'wx_paycallback') return undefined;
  return { errcode: ErrorCodes.NOT_CALLBACK, errmsg: `${fn} only accepts WeChat Pay callbacks` };
}

/** The only reply WeChat Pay takes as an acknowledgement (platform-facts §3). */
export const ACK = { errcode: 0, errmsg: 'SUCCESS' } as const;

/** WeChat Pay refuses closeOrder in the first 5 minutes of an order. */
const CLOSE_AFTER_MS = 5 * 60_000;

function change(
  order: OrderRecord,
  to: OrderStatus,
  by: string,
  now: number,
): Partial<OrderRecord> {
  return {
    status: to,
    paystatus: paystatusOf(to),
    // Only a pending order holds the user+item key; afterwards a new order may be opened.
    // Mutation testing: `to === 'pending'` → false survives as an equivalent mutant: no transition
    // in order-state's TABLE leads to pending, so the key is always released; kept should one.
    openKey: to === 'pending' ? order.openKey : order.tradeno,
    updatedAt: now,
    history: [...order.history, { at: now, from: order.status, to, by }],
  };
}

export function anomaly(
  tradeno: string,
  kind: string,
  detail: string,
  evidence: unknown,
  now: number,
): AnomalyRecord {
  return {
    _id: `${tradeno}__${kind}`,
    tradeno,
    kind,
    detail,
    evidence: JSON.parse(JSON.stringify(evidence ?? null)) as Record<string, unknown>,
    at: now,
    resolved: false,
  };
}

export type ApplyOutcome = 'applied' | 'duplicate' | 'rejected' | 'anomaly';

/**
 * The one code path for every order event: reads the order inside the ledger's transaction, asks
 * the state machine, and writes the order, the unlock and any anomaly together.
 */
export function applyEvent(
  deps: PaymentDeps,
  tradeno: string,
  event: OrderEventType,
  by: string,
  extra?: (order: OrderRecord) => Partial<OrderRecord>,
  evidence: unknown = {},
  /** Checks the event's facts against the order as read inside the transaction. */
  mismatches: (order: OrderRecord) => string[] = () => [],
): Promise<{ outcome: ApplyOutcome; order?: OrderRecord; reason?: string }> {
  const now = deps.now();
  return deps.ledger.apply(
    tradeno,
    (order): Plan<{ outcome: ApplyOutcome; order?: OrderRecord; reason?: string }> => {
      if (!order) {
        const reason = `${event} for an unknown order`;
        return {
          anomaly: anomaly(tradeno, 'unknown-order', reason, evidence, now),
          result: { outcome: 'anomaly', reason },
        };
      }
      const problems = mismatches(order);
      if (problems.length) {
        const reason = problems.join('; ');
        return {
          anomaly: anomaly(tradeno, 'payment-mismatch', reason, evidence, now),
          result: { outcome: 'anomaly', order, reason },
        };
      }
      const verdict = transition(order.status, event);
      switch (verdict.outcome) {
        case 'duplicate':
          return { result: { outcome: 'duplicate', order } };
        case 'rejected':
          return { result: { outcome: 'rejected', order, reason: verdict.reason } };
        case 'anomaly':
          return {
            anomaly: anomaly(
              tradeno,
              `${event.toLowerCase()}-when-${order.status}`,
              verdict.reason,
              evidence,
              now,
            ),
            result: { outcome: 'anomaly', order, reason: verdict.reason },
          };
        case 'applied': {
          const patch = { ...extra?.(order), ...change(order, verdict.to, by, now) };
          const next = { ...order, ...patch };
          return {
            order: patch,
            grantUnlock:
              verdict.unlock === 'grant'
                ? {
                    _id: unlockIdFor(order.openid, order.itemId),
                    openid: order.openid,
                    _openid: order.openid,
                    itemId: order.itemId,
                    tradeno: order.tradeno,
                    unlockedAt: now,
                  }
                : undefined,
            revokeUnlock:
              verdict.unlock === 'revoke'
                ? { openid: order.openid, itemId: order.itemId }
                : undefined,
            result: { outcome: 'applied', order: next },
          };
        }
      }
    },
  );
}

/**
 * Marks the order we asked about paid from facts WeChat Pay reported, after checking them against
 * it: an answer naming another order number (or none) is a mismatch on ours, never a payment
 * applied to whichever order it names.
 */
export async function confirmPayment(
  deps: PaymentDeps,
  tradeno: string,
  facts: PaymentFacts & { timeEnd?: string },
  by: string,
  evidence: unknown,
): Promise<ApplyOutcome> {
  const now = deps.now();
  // The facts are checked against the order inside the transaction: one read, no race.
  const result = await applyEvent(
    deps,
    tradeno,
    'PAYMENT_CONFIRMED',
    by,
    () => ({ transactionId: facts.transactionId, timeEnd: facts.timeEnd, paidAt: now }),
    evidence,
    (order) => paymentMismatches(order, facts, deps.config.subMchId),
  );
  return result.outcome;
}

function queryFacts(
  result: QueryOrderResult,
  subMchId: string,
): PaymentFacts & { timeEnd?: string } {
  return {
    outTradeNo: String(result.outTradeNo ?? ''),
    totalFee: Number(result.totalFee),
    // queryOrder answers for the merchant it was asked about; a missing field means ours.
    subMchId: String(result.subMchId ?? subMchId),
    transactionId: String(result.transactionId ?? ''),
    timeEnd: result.timeEnd,
  };
}

/**
 * Asks WeChat Pay what became of an order and applies it: the path shared by the callback
 * (which confirms before trusting its event), payquery and payexpire.
 * Returns the trade state WeChat Pay reported.
 */
export async function reconcile(
  deps: PaymentDeps,
  order: OrderRecord,
  by: string,
): Promise<string> {
  const { config } = deps;
  let result: QueryOrderResult;
  try {
    result = ensureSuccess(
      'queryOrder',
      await deps.pay.queryOrder({
        subMchId: config.subMchId,
        outTradeNo: order.tradeno,
        nonceStr: deps.nonceStr(),
      }),
    );
  } catch (err) {
    // An order WeChat Pay never saw (unifiedOrder failed or never ran) can never be paid.
    if (
      err instanceof CloudPayError &&
      /不存在|NOTEXIST/i.test(err.message) &&
      order.status === 'pending'
    ) {
      await applyEvent(deps, order.tradeno, 'PREPAY_FAILED', by);
      return 'ORDERNOTEXIST';
    }
    throw err;
  }
  const state = result.tradeState ?? 'UNKNOWN';
  if (state === 'SUCCESS' || state === 'REFUND') {
    await confirmPayment(deps, order.tradeno, queryFacts(result, config.subMchId), by, result);
  } else if (state === 'CLOSED' || state === 'REVOKED') {
    await applyEvent(deps, order.tradeno, 'CLOSED', by, () => ({ closedAt: deps.now() }), result);
  }
  return state;
}

/** closeOrder then mark closed; refused while WeChat's 5-minute rule holds. */
export async function closeAtWeChat(
  deps: PaymentDeps,
  order: OrderRecord,
  by: string,
): Promise<boolean> {
  // Mutation testing, one survivor: `return false` → true, since no caller can tell (payexpire
  // only sees orders past their lifetime, more than 5 minutes, and userpay ignores the answer).
  if (deps.now() - order.createdAt < CLOSE_AFTER_MS) return false;
  ensureSuccess(
    'closeOrder',
    await deps.pay.closeOrder({
      subMchId: deps.config.subMchId,
      outTradeNo: order.tradeno,
      nonceStr: deps.nonceStr(),
    }),
  );
  await applyEvent(deps, order.tradeno, 'CLOSED', by, () => ({ closedAt: deps.now() }));
  return true;
}

export function view(order: OrderRecord): OrderView {
  return {
    docid: order._id,
    tradeno: order.tradeno,
    status: order.status,
    paystatus: order.paystatus,
  };
}
