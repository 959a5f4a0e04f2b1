import { randomBytes } from 'node:crypto';
import { Query } from 'mingo';
import { compileQuery } from '../queries';
import type { ChangeEvent } from '../store';
import { sameValue, toRelaxed, type Doc, type DocId } from '../values';

/**
 * One realtime watch: a query over a collection, the documents it currently shows (the top
 * `limit` by `order`), its event counter and a buffer of recent events for REBUILD_WATCH.
 * It turns each committed change (store.onChange, commit order) into the events the JS database
 * client (@cloudbase/database 1.4.3, virtual-websocket-client.ts) applies to its local copy.
 * Everything here is synchronous: a change is fully applied before the next one arrives.
 */

export type DataType = 'init' | 'update' | 'replace' | 'add' | 'remove' | 'limit';
export type QueueType = 'init' | 'update' | 'enqueue' | 'dequeue';

/** One event on the wire (field names as the client reads them). */
export interface DbEvent {
  ID: number;
  DataType: DataType;
  QueueType: QueueType;
  DocID: DocId;
  /** The whole document as JSON text: @cloudbase/database 1.4.3 crashes on partial updates. */
  Doc: string;
  UpdatedFields?: string;
  /** Both spellings: the client parses the lowercase one (platform-facts §2). */
  RemovedFields?: string;
  removedFields?: string;
}

export interface WatchSpec {
  collection: string;
  /** Plain JS MongoDB filter, '{openid}' already substituted. */
  filter: Doc;
  order: [string, 1 | -1][];
  limit?: number;
}

/** The platform's cap on records per watch. */
export const MAX_WATCH_DOCS = 5000;
/** Events kept per watch for REBUILD_WATCH; older gaps fall back to a re-init. */
export const EVENT_BUFFER = 2000;
/** The most a watch's replay buffer holds (its events' document text); oldest go first. */
export const EVENT_BUFFER_CHARS = 1024 * 1024;

/**
 * One text per document version, shared by every watch: a change reaches all watches as the same
 * objects (store.onChange), so a thousand watches on one 20 KB document hold one 20 KB string,
 * not a thousand.
 */
const docTexts = new WeakMap<object, string>();
const fieldTexts = new WeakMap<ChangeEvent, { updated: string; removed: string }>();

export class Watch {
  readonly queryId = `local-query-${randomBytes(8).toString('hex')}`;
  /** Every document matching the filter (the visible ones are the first `limit` in order). */
  private readonly matched = new Map<DocId, Doc>();
  private visible: DocId[] = [];
  private currentId = 0;
  private readonly buffer: DbEvent[][] = [];
  private bufferChars = 0;
  private readonly query: Query<Doc>;

  constructor(
    readonly spec: WatchSpec,
    readonly openid: string,
    public watchId: string,
    initial: Doc[],
  ) {
    this.query = compileQuery(spec.filter);
    for (const doc of initial) this.matched.set(doc._id as DocId, doc);
    this.visible = this.computeVisible();
  }

  /** The id of the last event (the INIT_EVENT's `currEvent` right after construction). */
  get currEvent(): number {
    return this.currentId;
  }

  /** The INIT_EVENT events: every visible document, all with the init id. */
  initEvents(): DbEvent[] {
    return this.visible.map((id) => event(this.currentId, 'init', 'init', id, this.doc(id)));
  }

  /** Events for one committed change, under a new id; undefined when the watch is not affected. */
  apply(change: ChangeEvent): DbEvent[] | undefined {
    if (change.collection !== this.spec.collection) return undefined;
    const id = change.docId;
    const matchesAfter = change.after !== null && this.query.test(change.after);
    if (!this.matched.has(id) && !matchesAfter) return undefined;
    const before = new Set(this.visible);
    if (matchesAfter && change.after) this.matched.set(id, change.after);
    else this.matched.delete(id);
    this.visible = this.computeVisible();
    const after = new Set(this.visible);

    const events: DbEvent[] = [];
    const changed = change.after ?? change.before ?? { _id: id };
    const dataType: DataType = change.kind === 'replace' ? 'replace' : 'update';
    if (before.has(id) && after.has(id)) {
      events.push(withFields(event(0, dataType, 'update', id, changed), change));
    } else if (before.has(id)) {
      const removed = change.after === null;
      const e = event(0, removed ? 'remove' : dataType, 'dequeue', id, changed);
      events.push(removed ? e : withFields(e, change));
    } else if (after.has(id)) {
      const e = event(0, change.kind === 'add' ? 'add' : dataType, 'enqueue', id, changed);
      events.push(change.kind === 'add' ? e : withFields(e, change));
    }
    // Other documents pushed out of, or pulled into, the top `limit` by this change.
    for (const other of before) {
      if (other !== id && !after.has(other)) {
        events.push(event(0, 'limit', 'dequeue', other, this.lastSeen(other, change)));
      }
    }
    for (const other of this.visible) {
      if (other !== id && !before.has(other)) {
        events.push(event(0, 'limit', 'enqueue', other, this.doc(other)));
      }
    }
    return events.length ? this.record(events) : undefined;
  }

  /** Removes every visible document (emulator reset empties collections without change events). */
  clear(): DbEvent[] | undefined {
    const events = this.visible.map((id) => event(0, 'remove', 'dequeue', id, this.doc(id)));
    this.matched.clear();
    this.visible = [];
    return events.length ? this.record(events) : undefined;
  }

  /**
   * What a client that has seen `eventId` missed, for REBUILD_WATCH: the buffered events after
   * it, or (when the buffer no longer reaches back) a re-init under a new id, or undefined when
   * neither can bring the client up to date (a gap and nothing visible to re-init with).
   */
  since(eventId: number): DbEvent[] | undefined {
    if (eventId >= this.currentId) return [];
    const missed = this.currentId - eventId;
    if (missed <= this.buffer.length) return this.buffer.slice(-missed).flat();
    if (!this.visible.length) return undefined;
    // The client's copy is older than the buffer: replace it wholesale (queueType init resets
    // the client's list). An empty result cannot be expressed this way (see realtime.md).
    const id = ++this.currentId;
    const events = this.visible.map((docId) => event(id, 'init', 'init', docId, this.doc(docId)));
    this.keep(events);
    return events;
  }

  get size(): number {
    return this.matched.size;
  }

  private record(events: DbEvent[]): DbEvent[] {
    const id = ++this.currentId;
    for (const e of events) e.ID = id;
    this.keep(events);
    return events;
  }

  /** Buffers one change's events, dropping the oldest past EVENT_BUFFER or EVENT_BUFFER_CHARS. */
  private keep(events: DbEvent[]): void {
    this.buffer.push(events);
    this.bufferChars += charsOf(events);
    while (
      this.buffer.length > 1 &&
      (this.buffer.length > EVENT_BUFFER || this.bufferChars > EVENT_BUFFER_CHARS)
    ) {
      this.bufferChars -= charsOf(this.buffer.shift() as DbEvent[]);
    }
  }

  private doc(id: DocId): Doc {
    return this.matched.get(id) ?? { _id: id };
  }

  /** A document that left the visible set without changing is still in `matched`. */
  private lastSeen(id: DocId, change: ChangeEvent): Doc {
    return (
      this.matched.get(id) ?? (change.docId === id ? (change.before ?? { _id: id }) : { _id: id })
    );
  }

  private computeVisible(): DocId[] {
    const { order, limit } = this.spec;
    const docs = [...this.matched.values()];
    // mingo's sort, as store.find uses, over the documents in store order: the same top-N a
    // fresh query would answer (ties aside, see realtime.md).
    let cursor = new Query<Doc>({}, {}).find<Doc>(docs);
    if (order.length) cursor = cursor.sort(Object.fromEntries(order));
    cursor = cursor.limit(Math.min(limit ?? MAX_WATCH_DOCS, MAX_WATCH_DOCS));
    return cursor.all().map((doc) => doc._id as DocId);
  }
}

function event(
  id: number,
  dataType: DataType,
  queueType: QueueType,
  docId: DocId,
  doc: Doc,
): DbEvent {
  let text = docTexts.get(doc);
  if (text === undefined) docTexts.set(doc, (text = json(doc)));
  return { ID: id, DataType: dataType, QueueType: queueType, DocID: docId, Doc: text };
}

function charsOf(events: DbEvent[]): number {
  return events.reduce((n, e) => n + e.Doc.length + (e.UpdatedFields?.length ?? 0), 0);
}

function json(value: unknown): string {
  return JSON.stringify(toRelaxed(value));
}

/** UpdatedFields / RemovedFields by dotted path, between a change's before and after. */
function withFields(e: DbEvent, change: ChangeEvent): DbEvent {
  let fields = fieldTexts.get(change);
  if (!fields) {
    const updated: Record<string, unknown> = {};
    const removed: string[] = [];
    diff(change.before ?? {}, change.after ?? {}, '', updated, removed);
    fields = { updated: json(updated), removed: JSON.stringify(removed) };
    fieldTexts.set(change, fields);
  }
  return {
    ...e,
    UpdatedFields: fields.updated,
    RemovedFields: fields.removed,
    removedFields: fields.removed,
  };
}

function isPlainObject(value: unknown): value is Doc {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

function diff(
  before: Doc,
  after: Doc,
  prefix: string,
  updated: Record<string, unknown>,
  removed: string[],
): void {
  for (const [key, value] of Object.entries(after)) {
    const path = `${prefix}${key}`;
    if (!(key in before)) updated[path] = value;
    else if (isPlainObject(before[key]) && isPlainObject(value)) {
      diff(before[key] as Doc, value, `${path}.`, updated, removed);
    } else if (!sameValue(before[key], value)) updated[path] = value;
  }
  for (const key of Object.keys(before)) if (!(key in after)) removed.push(`${prefix}${key}`);
}
