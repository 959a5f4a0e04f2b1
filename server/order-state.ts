/**
 * The order state machine: the one place that decides how an order's `status` may change.
 * Pure: no I/O, no clock. The callback, the reconciliation query, expiry and refunds all ask
 * `transition()` and act on its verdict, so a late, duplicated or reordered event can never move
 * an order somewhere the table does not allow.
 *
 *   pending ──PAYMENT_CONFIRMED──▶ paid ──REFUND_REQUESTED──▶ refunding ──REFUND_SUCCEEDED──▶ refunded
 *      │  └──PREPAY_FAILED──▶ failed        └──REFUND_SUCCEEDED──▶ refunded   │
 *      └──CLOSED──▶ closed                                  paid ◀──REFUND_FAILED┘
 */

export type OrderStatus =
  /** Recorded before unifiedOrder; payable until it expires. The only open state. */
  | 'pending'
  /** WeChat Pay confirmed the money; the unlock is granted in the same transaction. */
  | 'paid'
  /** Never paid and closed at WeChat Pay (expired, or closed by the shop): nobody can pay it. */
  | 'closed'
  /** unifiedOrder refused the order: no payment can exist for it. */
  | 'failed'
  /** WeChat Pay accepted a refund request; the money is on its way back. */
  | 'refunding'
  /** The refund is confirmed; the unlock is revoked in the same transaction. */
  | 'refunded';

export const ORDER_STATUSES: readonly OrderStatus[] = [
  'pending',
  'paid',
  'closed',
  'failed',
  'refunding',
  'refunded',
];

export type OrderEventType =
  /** unifiedOrder answered FAIL. */
  | 'PREPAY_FAILED'
  /** The payment callback or queryOrder says SUCCESS, with a matching amount and merchant. */
  | 'PAYMENT_CONFIRMED'
  /** closeOrder succeeded, or queryOrder says CLOSED. */
  | 'CLOSED'
  /** refund was accepted by WeChat Pay. */
  | 'REFUND_REQUESTED'
  /** queryRefund says the refund succeeded. */
  | 'REFUND_SUCCEEDED'
  /** queryRefund says the refund was closed or failed. */
  | 'REFUND_FAILED';

export const ORDER_EVENTS: readonly OrderEventType[] = [
  'PREPAY_FAILED',
  'PAYMENT_CONFIRMED',
  'CLOSED',
  'REFUND_REQUESTED',
  'REFUND_SUCCEEDED',
  'REFUND_FAILED',
];

/** What to do to the user's unlock record alongside the order write. */
export type UnlockEffect = 'grant' | 'revoke' | 'none';

export type Transition =
  /** Move to `to`; write the order (and the unlock effect) atomically. */
  | { outcome: 'applied'; from: OrderStatus; to: OrderStatus; unlock: UnlockEffect }
  /** The event's result already holds (a duplicate or late event): change nothing, succeed. */
  | { outcome: 'duplicate'; status: OrderStatus }
  /** A request that is not allowed in this state (the caller's mistake): change nothing, refuse. */
  | { outcome: 'rejected'; status: OrderStatus; reason: string }
  /** The outside world contradicts our records (e.g. money for a closed order): record it for a human. */
  | { outcome: 'anomaly'; status: OrderStatus; reason: string };

type Rule =
  | { to: OrderStatus; unlock?: UnlockEffect }
  | 'duplicate'
  | { rejected: string }
  | { anomaly: string };

const PAID_AFTER_END = 'WeChat Pay reports a payment for an order we had ended: refund it by hand';

/** Every (status, event) pair, spelled out: a forgotten pair is a compile error. */
const TABLE: Record<OrderStatus, Record<OrderEventType, Rule>> = {
  pending: {
    PREPAY_FAILED: { to: 'failed' },
    PAYMENT_CONFIRMED: { to: 'paid', unlock: 'grant' },
    CLOSED: { to: 'closed' },
    REFUND_REQUESTED: { rejected: 'the order is not paid: there is nothing to refund' },
    REFUND_SUCCEEDED: { anomaly: 'a refund succeeded for an order never recorded as paid' },
    REFUND_FAILED: { anomaly: 'a refund result arrived for an order never recorded as paid' },
  },
  paid: {
    PREPAY_FAILED: { rejected: 'the order is already paid' },
    PAYMENT_CONFIRMED: 'duplicate',
    CLOSED: { anomaly: 'WeChat Pay reports closed an order we recorded as paid' },
    REFUND_REQUESTED: { to: 'refunding' },
    // A refund made elsewhere (the merchant platform) still revokes what it paid for.
    REFUND_SUCCEEDED: { to: 'refunded', unlock: 'revoke' },
    REFUND_FAILED: 'duplicate',
  },
  refunding: {
    PREPAY_FAILED: { rejected: 'the order is already paid' },
    PAYMENT_CONFIRMED: 'duplicate',
    CLOSED: { anomaly: 'WeChat Pay reports closed an order being refunded' },
    REFUND_REQUESTED: 'duplicate',
    REFUND_SUCCEEDED: { to: 'refunded', unlock: 'revoke' },
    // The money stayed with the shop, so the unlock (never revoked) stays too.
    REFUND_FAILED: { to: 'paid' },
  },
  refunded: {
    PREPAY_FAILED: { rejected: 'the order is already paid' },
    // The original payment's callback arriving late: the refund already settled it.
    PAYMENT_CONFIRMED: 'duplicate',
    CLOSED: { anomaly: 'WeChat Pay reports closed an order we refunded' },
    REFUND_REQUESTED: 'duplicate',
    REFUND_SUCCEEDED: 'duplicate',
    REFUND_FAILED: { anomaly: 'a refund failure arrived for an order already refunded' },
  },
  closed: {
    PREPAY_FAILED: 'duplicate',
    PAYMENT_CONFIRMED: { anomaly: PAID_AFTER_END },
    CLOSED: 'duplicate',
    REFUND_REQUESTED: { rejected: 'the order was never paid: there is nothing to refund' },
    REFUND_SUCCEEDED: { anomaly: 'a refund succeeded for a closed order' },
    REFUND_FAILED: { anomaly: 'a refund result arrived for a closed order' },
  },
  failed: {
    PREPAY_FAILED: 'duplicate',
    PAYMENT_CONFIRMED: { anomaly: PAID_AFTER_END },
    CLOSED: 'duplicate',
    REFUND_REQUESTED: { rejected: 'the order was never paid: there is nothing to refund' },
    REFUND_SUCCEEDED: { anomaly: 'a refund succeeded for an order that never reached WeChat Pay' },
    REFUND_FAILED: {
      anomaly: 'a refund result arrived for an order that never reached WeChat Pay',
    },
  },
};

export function transition(status: OrderStatus, event: OrderEventType): Transition {
  const rule = TABLE[status][event];
  if (rule === 'duplicate') return { outcome: 'duplicate', status };
  if ('rejected' in rule) return { outcome: 'rejected', status, reason: rule.rejected };
  if ('anomaly' in rule) return { outcome: 'anomaly', status, reason: rule.anomaly };
  return { outcome: 'applied', from: status, to: rule.to, unlock: rule.unlock ?? 'none' };
}

/** The recipe's `paystatus`: 1 once money was received for the order (refunded or not). */
export function paystatusOf(status: OrderStatus): 0 | 1 {
  return status === 'paid' || status === 'refunding' || status === 'refunded' ? 1 : 0;
}

export function isOrderStatus(value: unknown): value is OrderStatus {
  // Mutation testing: `typeof value === 'string'` → `true` survives as an equivalent mutant
  // (includes() is false for every non-string); the check is there for the type narrowing.
  return typeof value === 'string' && (ORDER_STATUSES as readonly string[]).includes(value);
}

/** What WeChat Pay says about a payment, from a callback or queryOrder. */
export interface PaymentFacts {
  outTradeNo: string;
  totalFee: number;
  subMchId: string;
  transactionId: string;
}

/**
 * Checks payment facts against the stored order and our merchant: the amount is `totalFee` (not
 * `cashFee`, which a coupon lowers) and the merchant is `subMchId` (the callback's `mchId` is the
 * service provider's). Returns the mismatches; empty means the facts fit the order.
 */
export function paymentMismatches(
  order: { tradeno: string; totalfee: number },
  facts: PaymentFacts,
  expectedSubMchId: string,
): string[] {
  const problems: string[] = [];
  if (facts.outTradeNo !== order.tradeno) {
    problems.push(`outTradeNo ${facts.outTradeNo} is not the order's ${order.tradeno}`);
  }
  if (facts.totalFee !== order.totalfee) {
    problems.push(`totalFee ${facts.totalFee} does not match the order's ${order.totalfee} fen`);
  }
  if (facts.subMchId !== expectedSubMchId) {
    problems.push(`subMchId ${facts.subMchId} is not our merchant ${expectedSubMchId}`);
  }
  if (!facts.transactionId) problems.push('no transactionId');
  return problems;
}
