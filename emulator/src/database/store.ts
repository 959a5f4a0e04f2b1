import { randomBytes } from 'node:crypto';
import type { Query } from 'mingo/query';
import { EmulatorError } from '../errors';
import { candidateIds, CollectionIndex, conditionsOf, fieldValue, type IndexSpec } from './indexes';
import { compileQuery } from './queries';
import { applyUpdate, equalityFields } from './updates';
import { Transactions, type Overlay, type Transaction } from './transactions';
import { checkDocumentLimits } from './limits';
import { nearQueryOf, sortByDistance } from './geo';
import { mongoQuery } from './mingo-context';
import { projectDocs } from './projection';
import { checkFieldNames } from './write-checks';
import { clone, isDocId, sameValue, toCanonical, type Doc, type DocId } from './values';

export type { IndexSpec } from './indexes';
export { TRANSACTION_TIMEOUT_MS } from './transactions';

/**
 * The database's core: collections of documents with MongoDB query and update semantics (mingo),
 * unique indexes, snapshot-isolation transactions, write faults and a change feed. It knows nothing
 * about the SDK's wire format (handlers.ts) or about rules: a rules layer can sit between client
 * requests and these operations. Every operation is synchronous, so each is atomic.
 */

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
  /** When each document was first stored: query results keep store order, as a scan does. */
  order: Map<DocId, number>;
  indexes: CollectionIndex[];
  rules: unknown;
}

/** An empty query, for sorting, paging and projecting documents already filtered. */
const ALL = mongoQuery({});

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
    this.checkUnique(collection, writes, overlay);
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
    this.checkUnique(collection, writes, overlay);
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
        this.checkUnique(this.collection(name), mine);
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
      if (collection) this.checkUnique(collection, writes);
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
      if (doc && test(doc)) found.push({ doc, at: order(collection, id) });
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

  /**
   * Unique indexes over the collection as it would be after `writes` (a missing field is null).
   * Only the written keys are checked: their current owners, the transaction's own documents
   * and the batch itself are the only documents that can collide with them.
   */
  private checkUnique(collection: Collection, writes: Write[], overlay?: Overlay): void {
    const unique = collection.indexes.filter((index) => index.spec.unique);
    if (!unique.length || !writes.some((w) => w.after)) return;
    const batch = new Map<DocId, Doc | null>();
    for (const w of writes) batch.set(w.id, w.after);
    const finalDoc = (id: DocId): Doc | null | undefined =>
      batch.has(id) ? batch.get(id) : viewDoc(collection, overlay, id);
    for (const index of unique) {
      for (const w of writes) {
        if (!w.after) continue;
        const keys = index.keysOf(w.after);
        const key = keys.join('\u0000');
        const rivals = new Set<DocId>(index.owners(keys));
        for (const id of overlay?.keys() ?? []) rivals.add(id);
        for (const id of batch.keys()) rivals.add(id);
        for (const id of rivals) {
          if (id === w.id) continue;
          const other = finalDoc(id);
          if (other && index.keysOf(other).join('\u0000') === key) {
            const after = w.after;
            const dup = Object.fromEntries(index.fields.map((f) => [f, fieldValue(after, f)]));
            throw duplicateKey(collection.name, index.spec.name, dup);
          }
        }
      }
    }
  }
}

/** Nesting depth and size of every document a write would store (limits.ts). */
function checkLimits(writes: Write[]): void {
  for (const w of writes) if (w.after) checkDocumentLimits(w.after, w.before ? 'update' : 'insert');
}

/** A document as a reader with `overlay` (a transaction's view, if any) sees it. */
function viewDoc(collection: Collection, overlay: Overlay | undefined, id: DocId): Doc | null {
  if (overlay?.has(id)) return overlay.get(id) ?? null;
  return collection.docs.get(id) ?? null;
}

function order(collection: Collection, id: DocId): number {
  // Documents only a transaction sees come after the committed ones, as a scan reads them.
  return collection.order.get(id) ?? Number.MAX_SAFE_INTEGER;
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

/** MongoDB's duplicate-key message, under the platform's generic database failure code. */
/**
 * A unique index cannot be declared over documents that already share a key: MongoDB's
 * createIndex fails with E11000 in that case (manual, "Unique Indexes": "MongoDB cannot create a
 * unique index on the specified index field(s) if the collection already contains data that would
 * violate the unique constraint"); a missing field counts as null, as in checkUnique. The wording
 * past "E11000" is the emulator's, naming the duplicates so they can be fixed.
 */
function refuseDuplicates(collection: Collection, index: CollectionIndex): void {
  const byKey = new Map<string, DocId[]>();
  for (const [id, doc] of collection.docs) {
    const key = index.keysOf(doc).join('\u0000');
    const ids = byKey.get(key);
    if (ids) ids.push(id);
    else byKey.set(key, [id]);
  }
  const clashes = [...byKey.values()].filter((ids) => ids.length > 1);
  if (!clashes.length) return;
  const shown = clashes.slice(0, 5).map((ids) => {
    const doc = collection.docs.get(ids[0]) as Doc;
    const key = Object.fromEntries(index.fields.map((f) => [f, fieldValue(doc, f)]));
    return `${toCanonical(key)} held by _id ${ids.map((id) => JSON.stringify(id)).join(', ')}`;
  });
  const more = clashes.length > shown.length ? `; and ${clashes.length - shown.length} more` : '';
  throw new EmulatorError(
    'INVALID_PARAM',
    `E11000 cannot declare unique index ${index.spec.name} on ${collection.name} (database/${collection.name}.json): documents already share a key: ${shown.join('; ')}${more}. Remove or change the duplicates, or drop "unique"`,
  );
}

function duplicateKey(collection: string, index: string, key: Doc): EmulatorError {
  return new EmulatorError(
    'DATABASE_REQUEST_FAILED',
    `E11000 duplicate key error collection: ${collection} index: ${index} dup key: ${toCanonical(key)}`,
  );
}
