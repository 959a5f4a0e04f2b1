import { randomBytes } from 'node:crypto';
import { update as applyModifier } from 'mingo';
import type { Query } from 'mingo/query';
import { EmulatorError } from '../errors';
import { checkDocumentLimits } from './limits';
import { MONGO_CONTEXT } from './mingo-context';
import { projectDocs } from './projection';
import { compileQuery } from './query-plan';
import { checkFieldNames, checkOperandTypes } from './write-checks';
import { clone, isDocId, sameValue, toCanonical, type Doc, type DocId } from './values';

/**
 * The database's core: collections of documents with MongoDB query and update semantics (mingo),
 * unique indexes, snapshot-isolation transactions, write faults and a change feed. It knows nothing
 * about the SDK's wire format (handlers.ts) or about rules: a rules layer can sit between client
 * requests and these operations. Every operation is synchronous, so each is atomic.
 */

export interface IndexSpec {
  name: string;
  keys: Record<string, 1 | -1>;
  unique: boolean;
}

export interface CollectionSpec {
  rules?: unknown;
  indexes?: IndexSpec[];
}

export type ChangeKind = 'add' | 'update' | 'replace' | 'remove';

/** One committed document change, published after the commit, in commit order. */
export interface ChangeEvent {
  /** Increases by one per change across all collections (never reused within a run). */
  seq: number;
  collection: string;
  docId: DocId;
  kind: ChangeKind;
  before: Doc | null;
  after: Doc | null;
}

export interface FindOptions {
  /** Sort keys in priority order, 1 ascending, -1 descending. */
  order?: [string, 1 | -1][];
  limit?: number;
  offset?: number;
  /** MongoDB projection (`{field: 1}`, `{field: 0}`, `$slice`, `$elemMatch`). */
  projection?: Doc;
}

/** An update either applies operators (`$set`, `$inc`, ...) or replaces the whole document. */
export type UpdateSpec = { kind: 'operators'; modifier: Doc } | { kind: 'replace'; doc: Doc };

/** One document write inside a batch: `after` null removes. */
export interface Write {
  collection: string;
  id: DocId;
  before: Doc | null;
  after: Doc | null;
  kind: ChangeKind;
}

/** What the journal records; replaying entries in order rebuilds the data. */
export type JournalEntry =
  | { op: 'create'; collection: string }
  | { op: 'write'; writes: { collection: string; id: DocId; doc: Doc | null }[] }
  | { op: 'clear' };

export interface StoreClock {
  now(): number;
  schedule(at: number, label: string, run: () => void): { cancel(): void };
}

interface Collection {
  name: string;
  docs: Map<DocId, Doc>;
  indexes: IndexSpec[];
  rules: unknown;
}

interface Transaction {
  id: string;
  startedAt: number;
  /** Pending writes by collection and id: the transaction's locks. */
  writes: Map<string, Map<DocId, Write>>;
  /** Pre-images of documents other commits changed since this transaction began (its snapshot). */
  snapshot: Map<string, Map<DocId, Doc | null>>;
  expiry: { cancel(): void };
}

/**
 * How long an abandoned transaction keeps its locks. MongoDB (under the cloud database) aborts
 * transactions after 60 s by default; the cloud's own figure is not documented. 30 s on the
 * emulated clock, so a test can expire one with clock/advance.
 */
export const TRANSACTION_TIMEOUT_MS = 30_000;

const COLLECTION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

export function validateCollectionName(name: unknown): string {
  if (typeof name !== 'string' || !COLLECTION_NAME.test(name)) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `invalid collection name ${JSON.stringify(name)}: use 1-64 letters, digits, "_" or "-", not starting with "-"`,
    );
  }
  return name;
}

/** A new document id shaped like the cloud's: 32 lowercase hex characters. */
export function newDocId(): string {
  return randomBytes(16).toString('hex');
}

export class Store {
  private readonly collections = new Map<string, Collection>();
  private readonly transactions = new Map<string, Transaction>();
  /** Transactions that ended, kept so a late call can say why it fails. */
  private readonly endedTransactions = new Map<string, string>();
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private readonly writeFailures = new Map<string, number>();
  private seq = 0;

  constructor(
    private readonly clock: StoreClock,
    private readonly persist: (entry: JournalEntry) => void = () => undefined,
  ) {}

  // ---- collections ----------------------------------------------------------------------------

  /** Creates a collection (idempotent); a spec replaces its rules and indexes. True if new. */
  createCollection(name: string, spec?: CollectionSpec, journal = true): boolean {
    validateCollectionName(name);
    const existing = this.collections.get(name);
    if (existing) {
      if (spec) {
        existing.rules = spec.rules;
        existing.indexes = spec.indexes ?? [];
      }
      return false;
    }
    if (journal) this.persist({ op: 'create', collection: name });
    this.collections.set(name, {
      name,
      docs: new Map(),
      indexes: spec?.indexes ?? [],
      rules: spec?.rules,
    });
    return true;
  }

  hasCollection(name: string): boolean {
    return this.collections.has(name);
  }

  listCollections(): { name: string; count: number; indexes: IndexSpec[]; hasRules: boolean }[] {
    return [...this.collections.values()]
      .map((c) => ({
        name: c.name,
        count: c.docs.size,
        indexes: clone(c.indexes) as IndexSpec[],
        hasRules: c.rules !== undefined,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The security rules declared for a collection (`database/<NAME>.json`), if any. */
  rules(name: string): unknown {
    return clone(this.collection(name).rules);
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** Documents matching `filter`, sorted, paged and projected; copies, never the stored objects. */
  find(name: string, filter: Doc, options: FindOptions = {}, transactionId?: string): Doc[] {
    const docs = this.visibleDocs(name, transactionId);
    let cursor = compile(filter).find<Doc>(docs);
    if (options.order?.length) cursor = cursor.sort(Object.fromEntries(options.order));
    if (options.offset) cursor = cursor.skip(options.offset);
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    // Projected last, on copies (projection.ts: MongoDB's rules where mingo differs).
    return projectDocs(
      cursor.all().map((doc) => clone(doc)),
      options.projection,
    );
  }

  count(name: string, filter: Doc, transactionId?: string): number {
    const query = compile(filter);
    return this.visibleDocs(name, transactionId).filter((doc) => query.test(doc)).length;
  }

  /** One document by id as it is now (no transaction), or null. */
  get(name: string, id: DocId): Doc | null {
    const doc = this.collection(name).docs.get(id);
    return doc ? clone(doc) : null;
  }

  // ---- writes ---------------------------------------------------------------------------------

  /** Inserts documents (all or none); ids are generated where `_id` is absent. */
  insert(name: string, docs: Doc[], transactionId?: string): DocId[] {
    const txn = this.openTransaction(transactionId);
    const collection = this.collection(name);
    if (!txn) this.consumeWriteFailure([name]);
    const view = this.viewMap(name, txn);
    const writes: Write[] = [];
    const seen = new Set<DocId>();
    for (const input of docs) {
      const doc = clone(input);
      checkFieldNames(doc);
      if (doc._id === undefined) doc._id = newDocId();
      const id = doc._id;
      if (!isDocId(id)) {
        throw new EmulatorError('INVALID_PARAM', '_id must be a non-empty string or a number');
      }
      if (view.has(id) || seen.has(id)) throw duplicateKey(name, '_id_', { _id: id });
      seen.add(id);
      writes.push({ collection: name, id, before: null, after: { _id: id, ...doc }, kind: 'add' });
    }
    this.checkUnique(collection, writes, view);
    if (txn) this.stage(txn, writes);
    else this.commitWrites(writes);
    return writes.map((w) => w.id);
  }

  /**
   * Updates the first (or, with `multi`, every) matching document. `upsert` inserts one when none
   * matches. `updated` counts documents that actually changed, as MongoDB's nModified does.
   */
  update(
    name: string,
    filter: Doc,
    spec: UpdateSpec,
    options: { multi: boolean; upsert: boolean },
    transactionId?: string,
  ): { updated: number; upsertedId?: DocId } {
    const txn = this.openTransaction(transactionId);
    const collection = this.collection(name);
    if (!txn) this.consumeWriteFailure([name]);
    const view = this.viewMap(name, txn);
    const query = compile(filter);
    const matched = [...view.values()].filter((doc) => query.test(doc));
    const targets = options.multi ? matched : matched.slice(0, 1);
    const writes: Write[] = [];
    for (const before of targets) {
      const after = applyUpdate(before, spec, filter);
      if (sameValue(before, after)) continue;
      const kind: ChangeKind = spec.kind === 'replace' ? 'replace' : 'update';
      writes.push({
        collection: name,
        id: before._id as DocId,
        before: clone(before),
        after,
        kind,
      });
    }
    let upsertedId: DocId | undefined;
    if (!targets.length && options.upsert) {
      const seed = spec.kind === 'replace' ? {} : equalityFields(filter);
      const id = isDocId(filter._id) ? filter._id : newDocId();
      const after = applyUpdate({ ...seed, _id: id }, spec, filter);
      writes.push({ collection: name, id, before: null, after, kind: 'add' });
      upsertedId = id;
    }
    this.checkUnique(collection, writes, view);
    if (txn) this.stage(txn, writes);
    else this.commitWrites(writes);
    return { updated: writes.length - (upsertedId === undefined ? 0 : 1), upsertedId };
  }

  /** Removes the first (or, with `multi`, every) matching document; returns how many. */
  remove(name: string, filter: Doc, options: { multi: boolean }, transactionId?: string): number {
    const txn = this.openTransaction(transactionId);
    this.collection(name);
    if (!txn) this.consumeWriteFailure([name]);
    const query = compile(filter);
    const matched = [...this.viewMap(name, txn).values()].filter((doc) => query.test(doc));
    const targets = options.multi ? matched : matched.slice(0, 1);
    const writes: Write[] = targets.map((doc) => ({
      collection: name,
      id: doc._id as DocId,
      before: clone(doc),
      after: null,
      kind: 'remove',
    }));
    if (txn) this.stage(txn, writes);
    else this.commitWrites(writes);
    return writes.length;
  }

  // ---- transactions ---------------------------------------------------------------------------

  startTransaction(): string {
    const id = `local-txn-${newDocId()}`;
    const expiry = this.clock.schedule(
      this.clock.now() + TRANSACTION_TIMEOUT_MS,
      `database transaction ${id} expires`,
      () => this.endTransaction(id, 'expired after 30 s without commit or abort'),
    );
    this.transactions.set(id, {
      id,
      startedAt: this.clock.now(),
      writes: new Map(),
      snapshot: new Map(),
      expiry,
    });
    return id;
  }

  /** Applies every staged write at once, or none (fault, unique index); the transaction ends. */
  commitTransaction(id: string): { writes: number } {
    const txn = this.requireTransaction(id);
    const writes = [...txn.writes.values()].flatMap((byId) => [...byId.values()]);
    try {
      const touched = [...new Set(writes.map((w) => w.collection))];
      this.consumeWriteFailure(touched);
      for (const name of touched) {
        const mine = writes.filter((w) => w.collection === name);
        this.checkUnique(this.collection(name), mine, this.viewMap(name));
      }
      // Before-images as committed now (the transaction saw its snapshot's; kinds stay).
      const committed = writes.map((w) => ({ ...w, before: this.get(w.collection, w.id) }));
      this.endTransaction(id, 'committed');
      this.commitWrites(committed, id);
    } catch (err) {
      // A failed commit aborts, as the cloud does: the caller starts over.
      this.endTransaction(id, `aborted because its commit failed: ${(err as Error).message}`);
      throw err;
    }
    return { writes: writes.length };
  }

  abortTransaction(id: string): void {
    this.requireTransaction(id);
    this.endTransaction(id, 'aborted');
  }

  openTransactionIds(): string[] {
    return [...this.transactions.keys()];
  }

  // ---- change feed, faults, maintenance -------------------------------------------------------

  /** Calls `listener` after each committed change, in commit order; returns an unsubscribe. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next `count` write requests to `collection` fail, writing nothing (0 clears). */
  injectWriteFailures(collection: string, count: number): void {
    validateCollectionName(collection);
    if (!Number.isInteger(count) || count < 0 || count > 1000) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `failWrites.count must be an integer from 0 to 1000, got ${String(count)}`,
      );
    }
    if (count === 0) this.writeFailures.delete(collection);
    else this.writeFailures.set(collection, count);
  }

  pendingWriteFailures(): Record<string, number> {
    return Object.fromEntries(this.writeFailures);
  }

  clearFaults(): void {
    this.writeFailures.clear();
  }

  /** Empties every collection (keeping collections, rules and indexes) and ends transactions. */
  clearDocuments(journal = true): void {
    for (const id of [...this.transactions.keys()]) this.endTransaction(id, 'ended by reset');
    if (journal) this.persist({ op: 'clear' });
    for (const collection of this.collections.values()) collection.docs.clear();
  }

  /** Applies a journal entry while loading (no journal, no change events, no faults). */
  replay(entry: JournalEntry): void {
    if (entry.op === 'create') this.createCollection(entry.collection, undefined, false);
    else if (entry.op === 'clear') this.clearDocuments(false);
    else {
      for (const w of entry.writes) {
        this.createCollection(w.collection, undefined, false);
        const docs = this.collection(w.collection).docs;
        if (w.doc) docs.set(w.id, w.doc);
        else docs.delete(w.id);
      }
    }
  }

  /** The ids of a collection's committed documents (compaction walks them one at a time). */
  documentIds(name: string): DocId[] {
    return [...this.collection(name).docs.keys()];
  }

  /** Every collection and document, for compaction and export (copies). */
  dump(): { name: string; docs: Doc[] }[] {
    return [...this.collections.values()].map((c) => ({
      name: c.name,
      docs: [...c.docs.values()].map((d) => clone(d)),
    }));
  }

  /** Replaces the documents of one collection (import), through the journal, with change events. */
  replaceAll(name: string, docs: Doc[]): void {
    this.createCollection(name);
    const collection = this.collection(name);
    const writes: Write[] = [...collection.docs.values()].map((doc) => ({
      collection: name,
      id: doc._id as DocId,
      before: clone(doc),
      after: null,
      kind: 'remove' as const,
    }));
    const removed = new Set(writes.map((w) => w.id));
    for (const doc of docs) {
      if (!isDocId(doc._id))
        throw new EmulatorError('INVALID_PARAM', `a ${name} document has no valid _id`);
      const existing = removed.has(doc._id) ? writes.find((w) => w.id === doc._id) : undefined;
      if (existing) {
        existing.after = clone(doc);
        existing.kind = 'replace';
      } else {
        writes.push({
          collection: name,
          id: doc._id,
          before: null,
          after: clone(doc),
          kind: 'add',
        });
      }
    }
    this.checkUnique(collection, writes, new Map());
    this.commitWrites(writes);
  }

  // ---- internals ------------------------------------------------------------------------------

  private collection(name: string): Collection {
    const collection = this.collections.get(name);
    if (!collection) {
      // The cloud's code and message for a collection that was never created.
      throw new EmulatorError(
        'DATABASE_COLLECTION_NOT_EXIST',
        `[ResourceNotFound] Db or Table not exist: ${name}. Create the collection first (database/${name}.json, PUT /emulator/v1/collections/${name}, or db.createCollection).`,
      );
    }
    return collection;
  }

  private openTransaction(id: string | undefined): Transaction | undefined {
    return id === undefined ? undefined : this.requireTransaction(id);
  }

  private requireTransaction(id: string): Transaction {
    const txn = this.transactions.get(id);
    if (txn) return txn;
    const ended = this.endedTransactions.get(id);
    throw new EmulatorError(
      'DATABASE_TRANSACTION_FAIL',
      ended ? `transaction ${id} is no longer open: ${ended}` : `no transaction with id ${id}`,
    );
  }

  private endTransaction(id: string, why: string): void {
    const txn = this.transactions.get(id);
    if (!txn) return;
    txn.expiry.cancel();
    this.transactions.delete(id);
    this.endedTransactions.set(id, why);
    // Bounded memory: keep the last 1000 ended ids.
    if (this.endedTransactions.size > 1000) {
      const oldest = this.endedTransactions.keys().next().value;
      if (oldest !== undefined) this.endedTransactions.delete(oldest);
    }
  }

  /** The documents a reader sees: committed now, or the transaction's snapshot plus its writes. */
  private viewMap(name: string, txn?: Transaction): Map<DocId, Doc> {
    const view = new Map(this.collection(name).docs);
    if (!txn) return view;
    for (const [id, doc] of txn.snapshot.get(name) ?? []) {
      if (doc) view.set(id, doc);
      else view.delete(id);
    }
    for (const [id, write] of txn.writes.get(name) ?? []) {
      if (write.after) view.set(id, write.after);
      else view.delete(id);
    }
    return view;
  }

  private visibleDocs(name: string, transactionId: string | undefined): Doc[] {
    return [...this.viewMap(name, this.openTransaction(transactionId)).values()];
  }

  /** The lock holder of a document, if an open transaction has written it. */
  private lockHolder(collection: string, id: DocId, except?: Transaction): Transaction | undefined {
    for (const txn of this.transactions.values()) {
      if (txn !== except && txn.writes.get(collection)?.has(id)) return txn;
    }
    return undefined;
  }

  /**
   * Records writes in a transaction. Snapshot isolation, first writer wins: a document another
   * open transaction has written, or one a commit changed since this transaction began, conflicts.
   */
  private stage(txn: Transaction, writes: Write[]): void {
    checkLimits(writes);
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
   * Makes writes durable and visible: journal first (so an acknowledged write survives a kill),
   * then memory, then the change feed. Plain writes to a document an open transaction has
   * written fail with a conflict (MongoDB would make them wait for the lock; see database.md).
   */
  private commitWrites(writes: Write[], transactionId?: string): void {
    if (!writes.length) return;
    if (!transactionId) {
      checkLimits(writes); // a transaction's writes were checked when staged
      for (const w of writes)
        if (this.lockHolder(w.collection, w.id)) throw conflict(w.collection, w.id);
    }
    this.persist({
      op: 'write',
      writes: writes.map((w) => ({ collection: w.collection, id: w.id, doc: w.after })),
    });
    for (const w of writes) {
      const docs = this.collection(w.collection).docs;
      const before = docs.get(w.id) ?? null;
      for (const txn of this.transactions.values()) {
        let snap = txn.snapshot.get(w.collection);
        if (!snap) txn.snapshot.set(w.collection, (snap = new Map()));
        if (!snap.has(w.id)) snap.set(w.id, before);
      }
      if (w.after) docs.set(w.id, clone(w.after));
      else docs.delete(w.id);
    }
    for (const w of writes) {
      const event: ChangeEvent = {
        seq: ++this.seq,
        collection: w.collection,
        docId: w.id,
        kind: w.kind,
        before: clone(w.before),
        after: clone(w.after),
      };
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A listener's failure must not undo or hide a committed write.
        }
      }
    }
  }

  private consumeWriteFailure(collections: string[]): void {
    for (const name of collections) {
      const left = this.writeFailures.get(name);
      if (!left) continue;
      if (left <= 1) this.writeFailures.delete(name);
      else this.writeFailures.set(name, left - 1);
      throw new EmulatorError(
        'DATABASE_REQUEST_FAILED',
        `wxcloud-emulator fault: a write to ${name} failed on purpose (failWrites); nothing was written, ${left - 1} more to fail`,
      );
    }
  }

  /** Unique indexes over the collection as it would be after `writes` (a missing field is null). */
  private checkUnique(collection: Collection, writes: Write[], view: Map<DocId, Doc>): void {
    const unique = collection.indexes.filter((index) => index.unique);
    if (!unique.length || !writes.some((w) => w.after)) return;
    const final = new Map(view);
    for (const w of writes) {
      if (w.after) final.set(w.id, w.after);
      else final.delete(w.id);
    }
    for (const index of unique) {
      const fields = Object.keys(index.keys);
      const keyOf = (doc: Doc): string => toCanonical(fields.map((f) => fieldValue(doc, f)));
      const owners = new Map<string, DocId>();
      for (const [id, doc] of final) {
        const key = keyOf(doc);
        const other = owners.get(key);
        if (other !== undefined && other !== id) {
          const dup = Object.fromEntries(fields.map((f) => [f, fieldValue(doc, f)]));
          throw duplicateKey(collection.name, index.name, dup);
        }
        owners.set(key, id);
      }
    }
  }
}

/** Nesting depth and size of every document a write would store (limits.ts). */
function checkLimits(writes: Write[]): void {
  for (const w of writes) if (w.after) checkDocumentLimits(w.after, w.before ? 'update' : 'insert');
}

function compile(filter: Doc): Query<Doc> {
  return compileQuery(filter);
}

/**
 * The document `spec` makes of `before`. The filter goes to the update engine for the positional
 * `$` (MongoDB manual, "$ (update)"); a wrong-typed operand or a field name MongoDB cannot store
 * refuses the write (write-checks.ts).
 */
function applyUpdate(before: Doc, spec: UpdateSpec, filter: Doc): Doc {
  if (spec.kind === 'replace') {
    if ('_id' in spec.doc && !sameValue(spec.doc._id, before._id)) {
      throw new EmulatorError('INVALID_PARAM', 'a replacement document may not change _id');
    }
    checkFieldNames(spec.doc);
    return { ...clone(spec.doc), _id: before._id };
  }
  checkOperandTypes(before, spec.modifier);
  const after = clone(before);
  try {
    applyModifier(
      after,
      spec.modifier as Parameters<typeof applyModifier>[1],
      undefined,
      filter as Parameters<typeof applyModifier>[3],
      { cloneMode: 'deep', queryOptions: { context: MONGO_CONTEXT } },
    );
  } catch (err) {
    throw new EmulatorError('DATABASE_REQUEST_FAILED', `invalid update: ${(err as Error).message}`);
  }
  if (!sameValue(after._id, before._id)) {
    throw new EmulatorError('INVALID_PARAM', 'an update may not change _id');
  }
  checkFieldNames(after);
  return after;
}

/** The top-level equality conditions of a filter: what an upsert's new document starts from. */
function equalityFields(filter: Doc): Doc {
  const seed: Doc = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$') || key.includes('.')) continue;
    const isOperator =
      value !== null &&
      typeof value === 'object' &&
      !(value instanceof Date) &&
      !(value instanceof RegExp) &&
      Object.keys(value).some((k) => k.startsWith('$'));
    if (!isOperator && !(value instanceof RegExp)) seed[key] = clone(value);
  }
  return seed;
}

function fieldValue(doc: Doc, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Doc)[part];
  }
  return value === undefined ? null : value;
}

/** MongoDB's duplicate-key message, under the platform's generic database failure code. */
function duplicateKey(collection: string, index: string, key: Doc): EmulatorError {
  return new EmulatorError(
    'DATABASE_REQUEST_FAILED',
    `E11000 duplicate key error collection: ${collection} index: ${index} dup key: ${toCanonical(key)}`,
  );
}

function conflict(collection: string, id: DocId): EmulatorError {
  return new EmulatorError(
    'DATABASE_TRANSACTION_CONFLICT',
    `[ResourceUnavailable.TransactionConflict] Transaction is conflict, maybe resource operated by others: ${collection}/${String(id)} is being written by another transaction`,
  );
}
