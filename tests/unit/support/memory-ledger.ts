import type { Ledger, Plan } from '../../../server/ledger';
import {
  openKeyFor,
  unlockIdFor,
  type AnomalyRecord,
  type OrderRecord,
  type UniOrderSummary,
  type UnlockRecord,
} from '../../../server/records';

const clone = <T>(value: T): T => structuredClone(value);

/**
 * The fast tier's stand-in for the cloud database: same contract as CloudLedger, atomic because
 * JavaScript runs each `apply` to completion, and able to fail writes on demand.
 */
export class MemoryLedger implements Ledger {
  readonly orders = new Map<string, OrderRecord>();
  readonly unlocks = new Map<string, UnlockRecord>();
  readonly anomalies = new Map<string, AnomalyRecord>();
  /** Number of upcoming writes to refuse, as a database outage would. */
  failWrites = 0;
  writes = 0;

  private write(): void {
    if (this.failWrites > 0) {
      this.failWrites--;
      throw new Error('injected database write failure');
    }
    this.writes++;
  }

  async insertOrder(order: OrderRecord): Promise<'inserted' | 'open-order-exists'> {
    for (const existing of this.orders.values()) {
      if (existing.openKey === order.openKey) return 'open-order-exists';
    }
    if (this.orders.has(order._id)) throw new Error(`duplicate key _id ${order._id}`);
    this.write();
    this.orders.set(order._id, clone(order));
    return 'inserted';
  }

  async getOrder(tradeno: string): Promise<OrderRecord | undefined> {
    const order = this.orders.get(tradeno);
    return order && clone(order);
  }

  async findOpenOrder(openid: string, itemId: string): Promise<OrderRecord | undefined> {
    const key = openKeyFor(openid, itemId);
    for (const order of this.orders.values()) {
      if (order.openKey === key && order.status === 'pending') return clone(order);
    }
    return undefined;
  }

  async savePrepay(tradeno: string, uniOrder: UniOrderSummary, now: number): Promise<void> {
    const order = this.orders.get(tradeno);
    if (!order || order.status !== 'pending')
      throw new Error(`order ${tradeno} is no longer pending`);
    this.write();
    this.orders.set(tradeno, { ...order, uniOrder: clone(uniOrder), updatedAt: now });
  }

  async apply<T>(tradeno: string, decide: (order: OrderRecord | undefined) => Plan<T>): Promise<T> {
    const current = this.orders.get(tradeno);
    const plan = decide(current && clone(current));
    const writes =
      (plan.order && current ? 1 : 0) +
      (plan.grantUnlock ? 1 : 0) +
      (plan.revokeUnlock ? 1 : 0) +
      (plan.anomaly ? 1 : 0);
    // All or nothing: one failure refuses the whole transaction before anything is written.
    for (let i = 0; i < writes; i++) this.write();
    if (plan.order && current) this.orders.set(tradeno, { ...current, ...clone(plan.order) });
    if (plan.grantUnlock) this.unlocks.set(plan.grantUnlock._id, clone(plan.grantUnlock));
    if (plan.revokeUnlock)
      this.unlocks.delete(unlockIdFor(plan.revokeUnlock.openid, plan.revokeUnlock.itemId));
    if (plan.anomaly) this.anomalies.set(plan.anomaly._id, clone(plan.anomaly));
    return plan.result;
  }

  async getUnlock(openid: string, itemId: string): Promise<UnlockRecord | undefined> {
    const unlock = this.unlocks.get(unlockIdFor(openid, itemId));
    return unlock && clone(unlock);
  }

  async recordAnomaly(anomaly: AnomalyRecord): Promise<void> {
    this.write();
    this.anomalies.set(anomaly._id, clone(anomaly));
  }

  async listExpiredPending(before: number, limit: number): Promise<OrderRecord[]> {
    return [...this.orders.values()]
      .filter((o) => o.status === 'pending' && o.expiresAt < before)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(0, limit)
      .map(clone);
  }
}
