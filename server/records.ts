import type { PaymentParams } from './cloudpay';
import type { OrderStatus } from './order-state';

/** Collection names, shared with `database/<NAME>.json`. */
export const COLLECTIONS = {
  orders: 'USERPAYLOG',
  unlocks: 'USERUNLOCK',
  anomalies: 'PAYANOMALY',
  content: 'PAIDCONTENT',
} as const;

/** What unifiedOrder answered, kept on the order (the recipe's `uniOrder`), minus noise. */
export interface UniOrderSummary {
  returnCode: string;
  resultCode?: string;
  errCodeDes?: string;
  prepayId?: string;
  /** Kept so a second tap reuses the same payment instead of opening a second order. */
  payment?: PaymentParams;
}

export interface StatusChange {
  at: number;
  from: OrderStatus;
  to: OrderStatus;
  /** What caused it: callback, query, expire, refund, refundnotify, userpay. */
  by: string;
}

/**
 * A `USERPAYLOG` record. The recipe's fields are kept as its readers expect; `_id` is the trade
 * number, so the callback (which only knows the trade number) reads the order by id inside a
 * transaction, which CloudBase transactions require.
 */
export interface OrderRecord {
  _id: string;
  tradeno: string;
  /** The payer, from getWXContext() only. `_openid` is what the security rule reads. */
  openid: string;
  _openid: string;
  itemId: string;
  body: string;
  /** Fen, from the server catalog. */
  totalfee: number;
  /** The recipe's flag: 1 once money was received. */
  paystatus: 0 | 1;
  status: OrderStatus;
  /** The recipe's creation time, `YYYY-MM-DD HH:mm:ss` UTC+8. */
  paytime: string;
  createdAt: number;
  /** After this the order is no longer payable (WeChat's time_expire). */
  expiresAt: number;
  updatedAt: number;
  /**
   * Unique index: `openid|itemId` while pending, the trade number afterwards, so the database itself
   * refuses a second open order for the same user and item (two taps racing included).
   */
  openKey: string;
  uniOrder: UniOrderSummary | null;
  transactionId?: string;
  /** WeChat's time_end, `yyyyMMddHHmmss` UTC+8. */
  timeEnd?: string;
  paidAt?: number;
  closedAt?: number;
  /** When payquery last asked WeChat Pay about it (its per-order rate limit). */
  lastQueryAt?: number;
  refund?: { outRefundNo: string; refundFee: number; requestedAt: number; refundedAt?: number };
  history: StatusChange[];
}

/** A `USERUNLOCK` record: one per user and item, its id derived from both. */
export interface UnlockRecord {
  _id: string;
  openid: string;
  _openid: string;
  itemId: string;
  tradeno: string;
  unlockedAt: number;
}

/** A `PAYANOMALY` record: something that needs a human (money for a closed order, a wrong amount). */
export interface AnomalyRecord {
  _id: string;
  tradeno: string;
  kind: string;
  detail: string;
  /** The event or query result that showed it, as received. */
  evidence: Record<string, unknown>;
  at: number;
  resolved: boolean;
}

export function unlockIdFor(openid: string, itemId: string): string {
  return `${openid}__${itemId}`;
}

export function openKeyFor(openid: string, itemId: string): string {
  return `${openid}|${itemId}`;
}
