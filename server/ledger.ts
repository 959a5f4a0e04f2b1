import type { AnomalyRecord, OrderRecord, UniOrderSummary, UnlockRecord } from './records';

/** The writes one order event makes, decided from the order as read inside the transaction. */
export interface Plan<T> {
  /** Fields to set on the order. */
  order?: Partial<OrderRecord>;
  grantUnlock?: UnlockRecord;
  revokeUnlock?: { openid: string; itemId: string };
  anomaly?: AnomalyRecord;
  /** What `apply` resolves to once the writes committed. */
  result: T;
}

/**
 * Where orders, unlocks and anomalies live. The cloud implementation uses wx-server-sdk's
 * database; unit tests use an in-memory one. Every state change goes through `apply`, which runs
 * `decide` on the order as it is inside one transaction and commits all its writes or none.
 */
export interface Ledger {
  /** Inserts a new order; `open-order-exists` when the user already has one open for the item. */
  insertOrder(order: OrderRecord): Promise<'inserted' | 'open-order-exists'>;
  getOrder(tradeno: string): Promise<OrderRecord | undefined>;
  findOpenOrder(openid: string, itemId: string): Promise<OrderRecord | undefined>;
  /** Stores unifiedOrder's answer on a pending order. */
  savePrepay(tradeno: string, uniOrder: UniOrderSummary, now: number): Promise<void>;
  apply<T>(tradeno: string, decide: (order: OrderRecord | undefined) => Plan<T>): Promise<T>;
  getUnlock(openid: string, itemId: string): Promise<UnlockRecord | undefined>;
  /** Idempotent by `_id`: the same anomaly seen twice is one record. */
  recordAnomaly(anomaly: AnomalyRecord): Promise<void>;
  /** Pending orders whose expiresAt is before `before`, oldest first. */
  listExpiredPending(before: number, limit: number): Promise<OrderRecord[]>;
}
