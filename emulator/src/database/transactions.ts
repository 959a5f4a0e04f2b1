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
  /**
   * Whether the transaction has run an operation. Its snapshot starts there, not at
   * startTransaction (MongoDB: "the snapshot is established by the first operation", which is
   * what the cloud database runs): a document committed in between is visible to it.
   */
  begun: boolean;
  /** Pending writes by collection and id: the transaction's locks. */
  writes: Map<string, Map<DocId, Write>>;
  /** Pre-images of documents other commits changed since its first operation (its snapshot). */
  snapshot: Map<string, Map<DocId, Doc | null>>;
  expiry: { cancel(): void };
}

/** A transaction's view over one collection: what it sees instead of the committed documents. */
export type Overlay = Map<DocId, Doc | null>;

/**
 * A transaction's lifetime, from startTransaction: the cloud's own error text says a transaction
 * "must be commit or abort in 30 seconds" (MongoDB's default would be 60 s). On the emulated
 * clock, so a test can expire one with clock/advance.
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
      () => this.end(id, 'expired: 30 s passed without commit or abort'),
    );
    this.open.set(id, {
      id,
      startedAt: this.clock.now(),
      begun: false,
      writes: new Map(),
      snapshot: new Map(),
      expiry,
    });
    return id;
  }

  /**
   * The open transaction `id` names for an operation (read or write), or undefined without an id;
   * its snapshot starts with its first operation.
   */
  find(id: string | undefined): Transaction | undefined {
    if (id === undefined) return undefined;
    const txn = this.require(id);
    txn.begun = true;
    return txn;
  }

  /**
   * An open transaction. An ended, expired or unknown one fails as the cloud answers (code
   * DATABASE_TRANSACTION_FAIL, message `[ResourceUnavailable.TransactionNotExist] ...`, as
   * reported from the cloud); the emulator adds why, in parentheses.
   */
  require(id: string): Transaction {
    const txn = this.open.get(id);
    if (txn) return txn;
    const ended = this.ended.get(id);
    throw new EmulatorError(
      'DATABASE_TRANSACTION_FAIL',
      `${TRANSACTION_NOT_EXIST} (wxcloud-emulator: ${ended ? `transaction ${id} ${ended}` : `no transaction ${id} was started here`})`,
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
      if (this.lockHolder(w.collection, w.id, txn)) {
        throw conflict(w.collection, w.id, 'is being written by another open transaction');
      }
      if (txn.snapshot.get(w.collection)?.has(w.id)) {
        throw conflict(
          w.collection,
          w.id,
          "was changed by a write committed after this transaction's first operation",
        );
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
      if (this.lockHolder(w.collection, w.id)) {
        throw conflict(w.collection, w.id, 'is being written by an open transaction');
      }
    }
  }

  /** As a commit changes a document, every begun transaction keeps the version it saw. */
  preserveSnapshots(collection: string, id: DocId, before: Doc | null): void {
    for (const txn of this.open.values()) {
      if (!txn.begun) continue;
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

/**
 * The cloud's message for a transaction that does not exist (any more): its lifetime is 30 s.
 * Reported from the cloud; the text after it in the cloud's answer is not documented.
 */
export const TRANSACTION_NOT_EXIST =
  '[ResourceUnavailable.TransactionNotExist] Transaction does not exist on the server, transaction must be commit or abort in 30 seconds.';

/** The cloud's conflict message, then what the emulator saw (never another transaction if none). */
function conflict(collection: string, id: DocId, why: string): EmulatorError {
  return new EmulatorError(
    'DATABASE_TRANSACTION_CONFLICT',
    `[ResourceUnavailable.TransactionConflict] Transaction is conflict, maybe resource operated by others. (wxcloud-emulator: ${collection}/${String(id)} ${why})`,
  );
}
