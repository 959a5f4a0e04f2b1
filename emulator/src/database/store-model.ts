import { randomBytes } from 'node:crypto';
import { EmulatorError } from '../errors';
import type { CollectionIndex, IndexSpec } from './indexes';
import { checkDocumentLimits } from './limits';
import type { Overlay } from './transactions';
import type { Doc, DocId } from './values';

/**
 * The store's data model (store.ts): the shapes its operations take and publish, one collection's
 * in-memory form, and the small rules every write path shares (names, ids, limits, what a reader
 * in a transaction sees).
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

export interface Collection {
  name: string;
  docs: Map<DocId, Doc>;
  /** When each document was first stored: query results keep store order, as a scan does. */
  order: Map<DocId, number>;
  indexes: CollectionIndex[];
  rules: unknown;
}

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

/** Nesting depth and size of every document a write would store (limits.ts). */
export function checkLimits(writes: Write[]): void {
  for (const w of writes) if (w.after) checkDocumentLimits(w.after, w.before ? 'update' : 'insert');
}

/** A document as a reader with `overlay` (a transaction's view, if any) sees it. */
export function viewDoc(
  collection: Collection,
  overlay: Overlay | undefined,
  id: DocId,
): Doc | null {
  if (overlay?.has(id)) return overlay.get(id) ?? null;
  return collection.docs.get(id) ?? null;
}

export function storeOrder(collection: Collection, id: DocId): number {
  // Documents only a transaction sees come after the committed ones, as a scan reads them.
  return collection.order.get(id) ?? Number.MAX_SAFE_INTEGER;
}
