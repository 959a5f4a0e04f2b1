import { randomBytes } from 'node:crypto';
import { EmulatorError } from '../errors';
import type { StoreClock, Write } from './store';
import type { Doc, DocId } from './values';

/**
 * The store's open transactions: snapshot isolation with first-writer-wins locks. A transaction
 * never copies a collection: it keeps only the documents it wrote and the pre-images of the ones
 * other commits changed after it began, and reads the committed documents through those.
 */

export interface Transaction {
  id: string;
  startedAt: number;
  /** Pending writes by collection and id: the transaction's locks. */
  writes: Map<string, Map<DocId, Write>>;
  /** Pre-images of documents other commits changed since this transaction began (its snapshot). */
  snapshot: Map<string, Map<DocId, Doc | null>>;
  expiry: { cancel(): void };
}

/** A transaction's view over one collection: what it sees instead of the committed documents. */
export type Overlay = Map<DocId, Doc | null>;

/**
 * How long an abandoned transaction keeps its locks. MongoDB (under the cloud database) aborts
 * transactions after 60 s by default; the cloud's own figure is not documented. 30 s on the
 * emulated clock, so a test can expire one with clock/advance.
 */
export const TRANSACTION_TIMEOUT_MS = 30_000;

export class Transactions {
  private readonly open = new Map<string, Transaction>();
  /** Transactions that ended, kept so a late call can say why it fails. */
  private readonly ended = new Map<string, string>();

  constructor(private readonly clock: StoreClock) {}

  start(): string {
    const id = `local-txn-${randomBytes(16).toString('hex')}`;
    const expiry = this.clock.schedule(
      this.clock.now() + TRANSACTION_TIMEOUT_MS,
      `database transaction ${id} expires`,
      () => this.end(id, 'expired after 30 s without commit or abort'),
    );
    this.open.set(id, {
      id,
      startedAt: this.clock.now(),
      writes: new Map(),
      snapshot: new Map(),
      expiry,
    });
    return id;
  }

  /** The open transaction `id` names, or undefined without an id; an ended one says why. */
  find(id: string | undefined): Transaction | undefined {
    return id === undefined ? undefined : this.require(id);
  }

  require(id: string): Transaction {
    const txn = this.open.get(id);
    if (txn) return txn;
    const ended = this.ended.get(id);
    throw new EmulatorError(
      'DATABASE_TRANSACTION_FAIL',
      ended ? `transaction ${id} is no longer open: ${ended}` : `no transaction with id ${id}`,
    );
  }

  end(id: string, why: string): void {
    const txn = this.open.get(id);
    if (!txn) return;
    txn.expiry.cancel();
    this.open.delete(id);
    this.ended.set(id, why);
    // Bounded memory: keep the last 1000 ended ids.
    if (this.ended.size > 1000) {
      const oldest = this.ended.keys().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
    }
  }

  ids(): string[] {
    return [...this.open.keys()];
  }

  /** Every write a transaction staged, in staging order per collection. */
  staged(txn: Transaction): Write[] {
    return [...txn.writes.values()].flatMap((byId) => [...byId.values()]);
  }

  /** What `txn` sees differently from the committed documents of a collection, if anything. */
  overlay(collection: string, txn: Transaction | undefined): Overlay | undefined {
    if (!txn) return undefined;
    const snapshot = txn.snapshot.get(collection);
    const writes = txn.writes.get(collection);
    if (!snapshot?.size && !writes?.size) return undefined;
    const overlay: Overlay = new Map(snapshot);
    for (const [id, write] of writes ?? []) overlay.set(id, write.after);
    return overlay;
  }

  /**
   * Records writes in a transaction. Snapshot isolation, first writer wins: a document another
   * open transaction has written, or one a commit changed since this transaction began, conflicts.
   */
  stage(txn: Transaction, writes: Write[]): void {
    for (const w of writes) {
      if (this.lockHolder(w.collection, w.id, txn) || txn.snapshot.get(w.collection)?.has(w.id)) {
        throw conflict(w.collection, w.id);
      }
    }
    for (const w of writes) {
      let byId = txn.writes.get(w.collection);
      if (!byId) txn.writes.set(w.collection, (byId = new Map()));
      const earlier = byId.get(w.id);
      // Two writes to one document inside a transaction publish as one change at commit.
      const kind = earlier?.kind === 'add' && w.after ? 'add' : w.kind;
      byId.set(w.id, { ...w, before: earlier ? earlier.before : w.before, kind });
    }
  }

  /**
   * Before a plain write commits: a document an open transaction has written fails with a
   * conflict (MongoDB would make the write wait for the lock; see database.md).
   */
  refuseLocked(writes: Write[]): void {
    for (const w of writes) {
      if (this.lockHolder(w.collection, w.id)) throw conflict(w.collection, w.id);
    }
  }

  /** As a commit changes a document, every open transaction keeps the version it saw. */
  preserveSnapshots(collection: string, id: DocId, before: Doc | null): void {
    for (const txn of this.open.values()) {
      let snap = txn.snapshot.get(collection);
      if (!snap) txn.snapshot.set(collection, (snap = new Map()));
      if (!snap.has(id)) snap.set(id, before);
    }
  }

  /** The lock holder of a document, if an open transaction has written it. */
  private lockHolder(collection: string, id: DocId, except?: Transaction): Transaction | undefined {
    for (const txn of this.open.values()) {
      if (txn !== except && txn.writes.get(collection)?.has(id)) return txn;
    }
    return undefined;
  }
}

function conflict(collection: string, id: DocId): EmulatorError {
  return new EmulatorError(
    'DATABASE_TRANSACTION_CONFLICT',
    `[ResourceUnavailable.TransactionConflict] Transaction is conflict, maybe resource operated by others: ${collection}/${String(id)} is being written by another transaction`,
  );
}
