import type { DB } from 'wx-server-sdk';
import type { Ledger, Plan } from './ledger';
import {
  COLLECTIONS,
  openKeyFor,
  unlockIdFor,
  type AnomalyRecord,
  type OrderRecord,
  type UnlockRecord,
} from './records';

/** The slice of wx-server-sdk's database this ledger uses (typed loosely by the SDK itself). */
type Database = DB.Database;

interface SdkError {
  errCode?: number;
  errMsg?: string;
  message?: string;
}

function errorText(err: unknown): string {
  const e = err as SdkError;
  return `${e?.errMsg ?? ''} ${e?.message ?? ''}`;
}

/** A unique-index violation: the platform reports it by message (no dedicated errCode). */
export function isDuplicateKeyError(err: unknown): boolean {
  return /duplicate|E11000|重复/i.test(errorText(err));
}

/** `doc(id).get()` throws for a missing document outside transactions (platform-facts §2). */
function isMissingDocError(err: unknown): boolean {
  return /not exist|cannot find|不存在/i.test(errorText(err));
}

/**
 * The SDK's typings return `Promise<Result | void | string>` for every call (the union of its
 * callback and Promise styles); with no callback passed the Promise resolves to the result.
 */
async function answer<T>(call: unknown): Promise<T> {
  const res = await call;
  if (res === null || typeof res !== 'object')
    throw new Error(`unexpected database answer ${String(res)}`);
  return res as T;
}

/** Strips `_id` for update/set payloads (the database refuses to change a document's id). */
function withoutId<T extends { _id?: string }>(doc: T): Omit<T, '_id'> {
  const { _id: _ignored, ...rest } = doc;
  return rest;
}

/** The production ledger: wx-server-sdk's database, with CloudBase transactions for every change. */
export class CloudLedger implements Ledger {
  constructor(private readonly db: Database) {}

  private orders() {
    return this.db.collection(COLLECTIONS.orders);
  }

  async insertOrder(order: OrderRecord): Promise<'inserted' | 'open-order-exists'> {
    try {
      await this.orders().add({ data: order });
      return 'inserted';
    } catch (err) {
      // The unique index on openKey: another open order for this user and item won the race.
      if (isDuplicateKeyError(err) && (await this.findOpenOrder(order.openid, order.itemId))) {
        return 'open-order-exists';
      }
      throw err;
    }
  }

  async getOrder(tradeno: string): Promise<OrderRecord | undefined> {
    try {
      const res = await answer<{ data?: OrderRecord }>(this.orders().doc(tradeno).get());
      return res.data ?? undefined;
    } catch (err) {
      if (isMissingDocError(err)) return undefined;
      throw err;
    }
  }

  async findOpenOrder(openid: string, itemId: string): Promise<OrderRecord | undefined> {
    const res = await answer<{ data: OrderRecord[] }>(
      this.orders()
        .where({ openKey: openKeyFor(openid, itemId) })
        .limit(1)
        .get(),
    );
    const order = res.data[0];
    return order?.status === 'pending' ? order : undefined;
  }

  async savePrepay(tradeno: string, uniOrder: OrderRecord['uniOrder'], now: number): Promise<void> {
    const _ = this.db.command;
    const res = await answer<{ stats: { updated: number } }>(
      this.orders()
        .where({ _id: tradeno, status: 'pending' })
        .update({ data: { uniOrder: _.set(uniOrder), updatedAt: now } }),
    );
    if (res.stats.updated !== 1) {
      throw new Error(`order ${tradeno} is no longer pending; its payment is not handed out`);
    }
  }

  async apply<T>(tradeno: string, decide: (order: OrderRecord | undefined) => Plan<T>): Promise<T> {
    return (await this.db.runTransaction(async (t: DB.Database) => {
      let current: OrderRecord | undefined;
      try {
        const res = await answer<{ data?: OrderRecord | null }>(
          t.collection(COLLECTIONS.orders).doc(tradeno).get(),
        );
        current = res.data ?? undefined;
      } catch (err) {
        if (!isMissingDocError(err)) throw err;
      }
      const plan = decide(current);
      const _ = this.db.command;
      if (plan.order && current) {
        const data: Record<string, unknown> = {};
        // _.set replaces objects and arrays whole instead of merging into them.
        for (const [key, value] of Object.entries(plan.order)) {
          data[key] = value !== null && typeof value === 'object' ? _.set(value) : value;
        }
        await t.collection(COLLECTIONS.orders).doc(tradeno).update({ data });
      }
      if (plan.grantUnlock) {
        await t
          .collection(COLLECTIONS.unlocks)
          .doc(plan.grantUnlock._id)
          .set({ data: withoutId(plan.grantUnlock) });
      }
      if (plan.revokeUnlock) {
        const id = unlockIdFor(plan.revokeUnlock.openid, plan.revokeUnlock.itemId);
        await t.collection(COLLECTIONS.unlocks).doc(id).remove();
      }
      if (plan.anomaly) {
        await t
          .collection(COLLECTIONS.anomalies)
          .doc(plan.anomaly._id)
          .set({ data: withoutId(plan.anomaly) });
      }
      return plan.result;
    })) as T;
  }

  async getUnlock(openid: string, itemId: string): Promise<UnlockRecord | undefined> {
    const res = await answer<{ data: UnlockRecord[] }>(
      this.db
        .collection(COLLECTIONS.unlocks)
        .where({ _id: unlockIdFor(openid, itemId) })
        .limit(1)
        .get(),
    );
    return res.data[0];
  }

  async recordAnomaly(anomaly: AnomalyRecord): Promise<void> {
    await this.db
      .collection(COLLECTIONS.anomalies)
      .doc(anomaly._id)
      .set({ data: withoutId(anomaly) });
  }

  async listExpiredPending(before: number, limit: number): Promise<OrderRecord[]> {
    const _ = this.db.command;
    const res = await answer<{ data: OrderRecord[] }>(
      this.orders()
        .where({ status: 'pending', expiresAt: _.lt(before) })
        .orderBy('expiresAt', 'asc')
        .limit(limit)
        .get(),
    );
    return res.data;
  }
}
