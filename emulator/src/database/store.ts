import type { Query } from 'mingo/query';
import { EmulatorError } from '../errors';
import { candidateIds, CollectionIndex, conditionsOf, fieldValue, type IndexSpec } from './indexes';
import { compileQuery } from './queries';
import { applyUpdate, equalityFields } from './updates';
import { Transactions, type Transaction } from './transactions';
import { nearQueryOf, sortByDistance } from './geo';
import { mongoQuery } from './mingo-context';
import { projectDocs } from './projection';
import { checkFieldNames } from './write-checks';
import {
  checkLimits,
  newDocId,
  storeOrder,
  validateCollectionName,
  viewDoc,
  type ChangeEvent,
  type ChangeKind,
  type Collection,
  type CollectionSpec,
  type FindOptions,
  type JournalEntry,
  type StoreClock,
  type UpdateSpec,
  type Write,
} from './store-model';
import { checkUnique, duplicateKey, refuseDuplicates } from './unique-keys';
import { clone, isDocId, sameValue, type Doc, type DocId } from './values';

export { newDocId, validateCollectionName } from './store-model';
export type {
  ChangeEvent,
  ChangeKind,
  CollectionSpec,
  FindOptions,
  JournalEntry,
  StoreClock,
  UpdateSpec,
  Write,
} from './store-model';
export type { IndexSpec } from './indexes';
export { TRANSACTION_TIMEOUT_MS } from './transactions';

/**
 * The database's core: collections of documents with MongoDB query and update semantics (mingo),
 * unique indexes, snapshot-isolation transactions, write faults and a change feed. It knows nothing
 * about the SDK's wire format (handlers.ts) or about rules: a rules layer can sit between client
 * requests and these operations. Every operation is synchronous, so each is atomic.
 */

/** An empty query, for sorting, paging and projecting documents already filtered. */
const ALL = mongoQuery({});

export class Store {
  private readonly collections = new Map<string, Collection>();
  private readonly transactions: Transactions;
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private readonly writeFailures = new Map<string, number>();
  private seq = 0;
  private stored = 0;

  constructor(
    clock: StoreClock,
    private readonly persist: (entry: JournalEntry) => void = () => undefined,
  ) {
    this.transactions = new Transactions(clock);
  }

  // ---- collections ----------------------------------------------------------------------------

  /** Creates a collection (idempotent); a spec replaces its rules and indexes. True if new. */
  createCollection(name: string, spec?: CollectionSpec, journal = true): boolean {
    validateCollectionName(name);
    const existing = this.collections.get(name);
    if (existing) {
      if (spec) {
        existing.rules = spec.rules;
        this.setIndexes(existing, spec.indexes ?? []);
      }
      return false;
    }
    if (journal) this.persist({ op: 'create', collection: name });
    const collection: Collection = {
      name,
      docs: new Map(),
      order: new Map(),
      indexes: [],
      rules: spec?.rules,
    };
    this.setIndexes(collection, spec?.indexes ?? []);
    this.collections.set(name, collection);
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
        indexes: c.indexes.map((index) => clone(index.spec)),
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
    const near = nearQueryOf(filter);
    if (near) this.requireGeoIndex(name, near.field);
    let docs = this.matching(name, filter, this.transactions.find(transactionId));
    // $near/$nearSphere return the nearest first unless the query sorts (MongoDB manual).
    if (near && !options.order?.length) docs = sortByDistance(docs, near.field, near.point);
    let cursor = ALL.find<Doc>(docs);
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
    return this.matching(name, filter, this.transactions.find(transactionId)).length;
  }

  /**
   * Geo nearness needs a "2dsphere" index on the field, as on the cloud (MongoDB: "unable to find
   * index for $geoNear query"); `field` undefined: the collection's only geo index (its name).
   */
  requireGeoIndex(name: string, field?: string): string {
    const geoFields = this.collection(name).indexes.flatMap((index) =>
      Object.entries(index.spec.keys)
        .filter(([, direction]) => direction === '2dsphere')
        .map(([key]) => key),
    );
    if (field !== undefined && geoFields.includes(field)) return field;
    if (field === undefined && geoFields.length === 1) return geoFields[0];
    throw new EmulatorError(
      'DATABASE_REQUEST_FAILED',
      field === undefined && geoFields.length > 1
        ? `$geoNear needs a key: ${name} has more than one 2dsphere index (${geoFields.join(', ')})`
        : `unable to find index for $geoNear query: declare {"keys": {"${field ?? '<field>'}": "2dsphere"}} in database/${name}.json`,
    );
  }

  /** One document by id as it is now (no transaction), or null. */
  get(name: string, id: DocId): Doc | null {
    const doc = this.collection(name).docs.get(id);
    return doc ? clone(doc) : null;
  }

  // ---- writes ---------------------------------------------------------------------------------

  /** Inserts documents (all or none); ids are generated where `_id` is absent. */
  insert(name: string, docs: Doc[], transactionId?: string): DocId[] {
    const txn = this.transactions.find(transactionId);
    const collection = this.collection(name);
    if (!txn) this.consumeWriteFailure([name]);
    const overlay = this.transactions.overlay(name, txn);
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
      if (viewDoc(collection, overlay, id) || seen.has(id)) {
        throw duplicateKey(name, '_id_', { _id: id });
      }
      seen.add(id);
      writes.push({ collection: name, id, before: null, after: { _id: id, ...doc }, kind: 'add' });
    }
    checkUnique(collection, writes, overlay);
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
    const txn = this.transactions.find(transactionId);
    const collection = this.collection(name);
    if (!txn) this.consumeWriteFailure([name]);
    const overlay = this.transactions.overlay(name, txn);
    const matched = this.matching(name, filter, txn);
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
    checkUnique(collection, writes, overlay);
    if (txn) this.stage(txn, writes);
    else this.commitWrites(writes);
    return { updated: writes.length - (upsertedId === undefined ? 0 : 1), upsertedId };
  }

  /** Removes the first (or, with `multi`, every) matching document; returns how many. */
  remove(name: string, filter: Doc, options: { multi: boolean }, transactionId?: string): number {
    const txn = this.transactions.find(transactionId);
    this.collection(name);
    if (!txn) this.consumeWriteFailure([name]);
    const matched = this.matching(name, filter, txn);
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
    return this.transactions.start();
  }

  /** Applies every staged write at once, or none (fault, unique index); the transaction ends. */
  commitTransaction(id: string): { writes: number } {
    const txn = this.transactions.require(id);
    const writes = this.transactions.staged(txn);
    try {
      const touched = [...new Set(writes.map((w) => w.collection))];
      this.consumeWriteFailure(touched);
      for (const name of touched) {
        const mine = writes.filter((w) => w.collection === name);
        checkUnique(this.collection(name), mine);
      }
      // Before-images as committed now (the transaction saw its snapshot's; kinds stay).
      const committed = writes.map((w) => ({ ...w, before: this.get(w.collection, w.id) }));
      this.transactions.end(id, 'committed');
      this.commitWrites(committed, id);
    } catch (err) {
      // A failed commit aborts, as the cloud does: the caller starts over.
      this.transactions.end(id, `aborted because its commit failed: ${(err as Error).message}`);
      throw err;
    }
    return { writes: writes.length };
  }

  abortTransaction(id: string): void {
    this.transactions.require(id);
    this.transactions.end(id, 'aborted');
  }

  openTransactionIds(): string[] {
    return this.transactions.ids();
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
    for (const id of this.transactions.ids()) this.transactions.end(id, 'ended by reset');
    if (journal) this.persist({ op: 'clear' });
    for (const collection of this.collections.values()) {
      collection.docs.clear();
      collection.order.clear();
      for (const index of collection.indexes) index.clear();
    }
  }

  /** Applies a journal entry while loading (no journal, no change events, no faults). */
  replay(entry: JournalEntry): void {
    if (entry.op === 'create') this.createCollection(entry.collection, undefined, false);
    else if (entry.op === 'clear') this.clearDocuments(false);
    else {
      for (const w of entry.writes) {
        this.createCollection(w.collection, undefined, false);
        this.putCommitted(this.collection(w.collection), w.id, w.doc);
      }
    }
  }

  /** The ids of a collection's committed documents (compaction walks them one at a time). */
  documentIds(name: string): DocId[] {
    return [...this.collection(name).docs.keys()];
  }

  /**
   * Every collection's committed documents as they are now, by reference, for export: a stored
   * document is never changed in place (every write stores a new object), so this is a
   * consistent snapshot costing one pointer per document, however long the export takes to
   * write out. Callers must not modify the documents.
   */
  snapshot(): { name: string; docs: readonly Doc[] }[] {
    return [...this.collections.values()].map((c) => ({
      name: c.name,
      docs: [...c.docs.values()],
    }));
  }

  /** Replaces the documents of one collection (import), through the journal, with change events. */
  replaceAll(name: string, docs: Doc[]): void {
    this.replaceCollections(new Map([[name, docs]]));
  }

  /**
   * Replaces the documents of each named collection (import), all or nothing: every document of
   * every collection is checked first (ids, limits, unique indexes), and only then are missing
   * collections created and everything committed as one journal entry.
   */
  replaceCollections(files: Map<string, Doc[]>): void {
    const all: Write[] = [];
    for (const [name, docs] of files) {
      validateCollectionName(name);
      const collection = this.collections.get(name);
      const writes: Write[] = [...(collection?.docs.values() ?? [])].map((doc) => ({
        collection: name,
        id: doc._id as DocId,
        before: clone(doc),
        after: null,
        kind: 'remove' as const,
      }));
      const removed = new Map(writes.map((w) => [w.id, w]));
      const seen = new Set<DocId>();
      for (const doc of docs) {
        if (!isDocId(doc._id))
          throw new EmulatorError('INVALID_PARAM', `a ${name} document has no valid _id`);
        if (seen.has(doc._id)) {
          throw new EmulatorError(
            'INVALID_PARAM',
            `collections.${name} holds _id ${JSON.stringify(doc._id)} twice`,
          );
        }
        seen.add(doc._id);
        // The names a write may not store may not arrive by import either (`$`, dots, __proto__).
        checkFieldNames(doc);
        const existing = removed.get(doc._id);
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
      checkLimits(writes);
      if (collection) checkUnique(collection, writes);
      all.push(...writes);
    }
    for (const name of files.keys()) this.createCollection(name);
    this.commitWrites(all);
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

  /**
   * The documents a reader sees that match `filter`, in store order: committed now, or (in a
   * transaction) its snapshot plus its own writes. An index or the `_id` map narrows what is
   * read when the filter allows; every candidate is still tested by the full query.
   */
  private matching(name: string, filter: Doc, txn?: Transaction): Doc[] {
    const collection = this.collection(name);
    const overlay = this.transactions.overlay(name, txn);
    const { byField, plainEqualities } = conditionsOf(filter);
    // Plain equalities are checked by value and need no compiled query (they cannot be invalid);
    // any other filter is compiled first, so an invalid operator is reported even when nothing
    // would be read.
    let query: Query<Doc> | undefined = plainEqualities ? undefined : compileQuery(filter);
    const test = (doc: Doc): boolean =>
      (plainEqualities && isExactHit(doc, filter)) || (query ??= compileQuery(filter)).test(doc);

    const candidates = candidateIds(collection.indexes, byField);
    if (candidates === undefined) {
      // No usable index: read everything, committed order, then what only this transaction sees.
      const out: Doc[] = [];
      for (const [id, committed] of collection.docs) {
        const doc = overlay?.has(id) ? overlay.get(id) : committed;
        if (doc && test(doc)) out.push(doc);
      }
      if (overlay) {
        for (const [id, doc] of overlay)
          if (doc && !collection.docs.has(id) && test(doc)) out.push(doc);
      }
      return out;
    }
    const ids = new Set(candidates);
    if (overlay) for (const id of overlay.keys()) ids.add(id);
    const found: { doc: Doc; at: number }[] = [];
    for (const id of ids) {
      const doc = viewDoc(collection, overlay, id);
      if (doc && test(doc)) found.push({ doc, at: storeOrder(collection, id) });
    }
    return found.sort((a, b) => a.at - b.at).map((f) => f.doc);
  }

  /** Stages writes in a transaction once their documents are within the limits. */
  private stage(txn: Transaction, writes: Write[]): void {
    checkLimits(writes);
    this.transactions.stage(txn, writes);
  }

  /** Stores (or, with null, removes) a committed document, keeping order and indexes current. */
  private putCommitted(collection: Collection, id: DocId, doc: Doc | null): void {
    const previous = collection.docs.get(id);
    if (previous) for (const index of collection.indexes) index.remove(id, previous);
    if (doc) {
      collection.docs.set(id, doc);
      if (!previous) collection.order.set(id, ++this.stored);
      for (const index of collection.indexes) index.add(id, doc);
    } else {
      collection.docs.delete(id);
      collection.order.delete(id);
    }
  }

  /** Declares a collection's indexes (at start, after the journal replay) and builds them. */
  private setIndexes(collection: Collection, specs: IndexSpec[]): void {
    const indexes = specs.map((spec) => new CollectionIndex(clone(spec)));
    for (const [id, doc] of collection.docs) {
      for (const index of indexes) index.add(id, doc);
    }
    // Checked before the indexes replace the old ones: a refused declaration changes nothing.
    for (const index of indexes) if (index.spec.unique) refuseDuplicates(collection, index);
    collection.indexes = indexes;
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
      this.transactions.refuseLocked(writes);
    }
    this.persist({
      op: 'write',
      writes: writes.map((w) => ({ collection: w.collection, id: w.id, doc: w.after })),
    });
    for (const w of writes) {
      const collection = this.collection(w.collection);
      this.transactions.preserveSnapshots(w.collection, w.id, collection.docs.get(w.id) ?? null);
      this.putCommitted(collection, w.id, w.after ? clone(w.after) : null);
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
}

/**
 * A filter of plain equalities (strings, numbers, booleans) against a document: true when every
 * value is the very same scalar, which mingo would match too; false sends the document to the
 * full test (arrays, paths through arrays, -0...), so it never decides a miss on its own.
 */
function isExactHit(doc: Doc, filter: Doc): boolean {
  for (const [field, value] of Object.entries(filter)) {
    if (!Object.is(fieldValue(doc, field), value)) return false;
  }
  return true;
}
