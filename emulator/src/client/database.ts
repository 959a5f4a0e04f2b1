// wx.cloud.database() for pages: the REAL JS database client (@cloudbase/database, the same
// code family as the mini-program's) with a local transport, and a thin adapter that gives it the
// mini-program's semantics where the two differ (platform-facts §5):
//   - doc(id).get() answers {data: doc}, and rejects when the document does not exist;
//   - add({data}) takes the document under `data` (the JS client would store the wrapper);
//   - where().get() returns at most 20 records (the mini-program's default and maximum);
//   - every call reports `errMsg` ('collection.get:ok', 'document.get:fail ...') and supports
//     the success/fail/complete callbacks besides the Promise;
//   - watch().close() returns a Promise.
// Queries, commands, serverDate and RegExp are the JS client's own, serialized by it; the
// '{openid}' placeholder travels untouched for the server to substitute.

import { Db } from '@cloudbase/database';
import { withCallbacks, wxError, type WxCallbacks, type WxError, type WxReturn } from './callbacks';
import { HttpClient, isRecord } from './http';
import { guardInitWatchRejections, onErrorOnce } from './watch-errors';

/** The mini-program client's default and maximum page size for get() (the server SDK's is 100/1000). */
export const CLIENT_MAX_LIMIT = 20;

/** The platform's numeric codes for the database error codes a client can meet (wx-server-sdk's table). */
const ERR_CODES: Record<string, number> = {
  DATABASE_REQUEST_FAILED: -502001,
  DATABASE_INVALID_OPERRATOR: -502002,
  DATABASE_PERMISSION_DENIED: -502003,
  DATABASE_COLLECTION_EXCEED_LIMIT: -502004,
  DATABASE_COLLECTION_NOT_EXIST: -502005,
  DATABASE_QUERY_SIZE_EXCEED_LIMIT: -602001,
  INVALID_PARAM: -501007,
};
const SYS_ERR = -501001;

/** Who a Db instance acts for: carried in the Db config, which the JS client hands to reqClass. */
export interface ClientIdentity {
  http: HttpClient;
  openid: string;
  env: string;
}

const IDENTITY = '__wxcloudEmulatorClient';

/**
 * The JS client's transport (`Db.reqClass`): one per query, built with the Db's config. It posts
 * the action to /admin/client as the user; the parsed body (with `code` on failure) is the answer.
 */
class LocalTransport {
  private readonly identity: ClientIdentity;

  constructor(config: Record<string, unknown>) {
    const identity = config[IDENTITY] as ClientIdentity | undefined;
    if (!identity) {
      throw new Error(
        'this @cloudbase/database Db was not created by createWx (no emulator identity in its config)',
      );
    }
    this.identity = identity;
  }

  async send(action: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const { http, openid, env } = this.identity;
    const answer = await http.request(
      'POST',
      `/admin/client?env=${encodeURIComponent(env)}`,
      { ...params, action },
      { 'x-wxcloud-openid': openid },
    );
    if (answer.status !== 200 || !isRecord(answer.body)) {
      // The SDK turns a non-200 answer into errCode -1; keep the body's message when there is one.
      return { code: 'HTTP_ERROR', message: `POST /admin/client answered HTTP ${answer.status}` };
    }
    return answer.body;
  }
}

// The JS client keeps its transport and its one realtime socket as statics. Several createWx
// users may share a process, so the transport is re-installed before every query is built (the
// identity travels in each Db's config) and each user's socket is swapped in around watch().
type DbStatics = { reqClass: unknown; ws: unknown; wsClass: unknown };
const statics = Db as unknown as DbStatics;
function useTransport(): void {
  statics.reqClass = LocalTransport;
}

/** A failed answer (`{code, message}`) as the mini-program reports it. */
function failure(api: string, body: Record<string, unknown>): WxError {
  const code = String(body.code);
  const errCode = ERR_CODES[code] ?? SYS_ERR;
  return wxError(api, `${errCode} ${code}: ${String(body.message ?? '')}`, errCode);
}

async function call(api: string, run: () => Promise<unknown>): Promise<Record<string, unknown>> {
  const res = await run();
  if (!isRecord(res)) throw wxError(api, 'the database answered nothing');
  if (res.code) throw failure(api, res);
  return res;
}

// Minimal shapes of the JS client's objects, as the adapter uses them.
interface JsQuery {
  where(query: object): JsQuery;
  orderBy(field: string, direction: string): JsQuery;
  limit(n: number): JsQuery;
  skip(n: number): JsQuery;
  field(projection: object): JsQuery;
  get(): Promise<unknown>;
  count(): Promise<unknown>;
  update(data: object): Promise<unknown>;
  remove(): Promise<unknown>;
  watch(options: object): { close(): void };
}
interface JsCollection extends JsQuery {
  doc(id: string | number): JsDoc;
  add(data: object): Promise<unknown>;
  aggregate(): JsAggregate;
}
/** The JS client's Aggregation: each stage method pushes a stage and returns the same object. */
type JsAggregate = Record<AggregateStage, (param: unknown) => JsAggregate> & {
  end(): Promise<unknown>;
};
interface JsDoc {
  field(projection: object): JsDoc;
  get(): Promise<unknown>;
  set(data: object): Promise<unknown>;
  update(data: object): Promise<unknown>;
  remove(): Promise<unknown>;
  watch(options: object): { close(): void };
}

export interface WatchOptions {
  onChange: (snapshot: unknown) => void;
  onError: (error: unknown) => void;
}
export interface Watcher {
  close(): Promise<void>;
}

/** Per createWx user: its realtime socket (the JS client's RealtimeWebSocketClient). */
export interface RealtimeSlot {
  ws: unknown;
  WebSocket: unknown;
}

function startWatch(
  api: string,
  slot: RealtimeSlot,
  options: WatchOptions,
  open: (o: object) => { close(): void },
): Watcher {
  if (!options || typeof options.onChange !== 'function' || typeof options.onError !== 'function') {
    // The mini-program requires both.
    throw new Error(`${api}: watch needs both onChange and onError functions`);
  }
  const saved = statics.ws;
  statics.ws = slot.ws;
  // Set for good, not just around open(): the JS client builds (and rebuilds) its socket later,
  // after an await, reading Db.wsClass then. Every Node user injects the same class (`ws`).
  if (slot.WebSocket) statics.wsClass = slot.WebSocket;
  let listener: { close(): void };
  try {
    // The mini-program marks its first snapshot `type: 'init'`; @cloudbase/database 1.4.3 does
    // so only when the query matched nothing, so the adapter marks the first one itself.
    let first = true;
    const onChange = (snapshot: Record<string, unknown>): void => {
      if (first && snapshot && typeof snapshot === 'object' && snapshot.type === undefined) {
        snapshot = { ...snapshot, type: 'init' };
      }
      first = false;
      options.onChange(snapshot);
    };
    // A refused watch reports once and rejects nothing (watch-errors.ts).
    guardInitWatchRejections();
    listener = open({ onChange, onError: onErrorOnce(options.onError) });
    slot.ws = statics.ws;
  } finally {
    statics.ws = saved;
  }
  return {
    // The mini-program's close() returns a Promise; the JS client's closes synchronously.
    close: async () => {
      await listener.close();
      // @cloudbase/database 1.4.3 leaves its 10 s CHECK_LAST timer re-arming itself forever after
      // a close (it keeps a Node process alive and pings a dead watch); the mini-program does not.
      (
        listener as { virtualClient?: { clearACKSchedule?: () => void } }
      ).virtualClient?.clearACKSchedule?.();
    },
  };
}

type Options<T> = WxCallbacks<T> | undefined;
type R_get = { data: Record<string, unknown>[]; errMsg: string };
type R_docget = { data: Record<string, unknown>; errMsg: string };
type R_count = { total: number; errMsg: string };
type R_update = { stats: { updated: number }; errMsg: string };
type R_remove = { stats: { removed: number }; errMsg: string };
type R_add = { _id: string | number; errMsg: string };
type R_set = { _id: string | number; stats: { updated: number; created: number }; errMsg: string };
type R_aggregate = { list: Record<string, unknown>[]; errMsg: string };

/** The stage methods of the mini-program's Aggregate (reference-sdk-api/database/aggregate). */
const AGGREGATE_STAGES = [
  'addFields',
  'bucket',
  'bucketAuto',
  'count',
  'geoNear',
  'group',
  'limit',
  'lookup',
  'match',
  'project',
  'replaceRoot',
  'sample',
  'skip',
  'sort',
  'sortByCount',
  'unwind',
] as const;
type AggregateStage = (typeof AGGREGATE_STAGES)[number];

/**
 * `collection.aggregate()`: stage methods chain (each returns the same Aggregate, as in the
 * mini-program) and `end()` runs it, answering `{list, errMsg: 'collection.aggregate:ok'}`.
 * The stages are recorded and handed to the JS client's Aggregation at end(), after the transport
 * is installed.
 */
export type MiniAggregate = { [K in AggregateStage]: (param: unknown) => MiniAggregate } & {
  end<O extends Options<R_aggregate>>(options?: O): WxReturn<O, R_aggregate>;
};

function createAggregate(collection: () => JsCollection): MiniAggregate {
  const stages: [AggregateStage, unknown][] = [];
  const aggregate = {
    end<O extends Options<R_aggregate>>(options?: O): WxReturn<O, R_aggregate> {
      return withCallbacks('collection.aggregate', options as O, async () => {
        const res = await call('collection.aggregate', () => {
          useTransport();
          let built = collection().aggregate();
          for (const [stage, param] of stages) built = built[stage](param);
          return built.end();
        });
        return { list: res.data as Record<string, unknown>[], errMsg: 'collection.aggregate:ok' };
      });
    },
  } as MiniAggregate;
  for (const stage of AGGREGATE_STAGES) {
    aggregate[stage] = (param: unknown) => {
      stages.push([stage, param]);
      return aggregate;
    };
  }
  return aggregate;
}

export class MiniQuery {
  constructor(
    protected readonly slot: RealtimeSlot,
    protected readonly query: () => JsQuery,
    protected readonly limitSet: number | undefined = undefined,
  ) {}

  private next(build: (q: JsQuery) => JsQuery, limit = this.limitSet): MiniQuery {
    const parent = this.query;
    return new MiniQuery(this.slot, () => build(parent()), limit);
  }

  where(condition: object): MiniQuery {
    return this.next((q) => q.where(condition));
  }
  orderBy(field: string, direction: 'asc' | 'desc'): MiniQuery {
    return this.next((q) => q.orderBy(field, direction));
  }
  limit(n: number): MiniQuery {
    return this.next((q) => q.limit(n), n);
  }
  skip(n: number): MiniQuery {
    return this.next((q) => q.skip(n));
  }
  field(projection: object): MiniQuery {
    return this.next((q) => q.field(projection));
  }

  private built(): JsQuery {
    useTransport();
    return this.query();
  }

  get<O extends Options<R_get>>(options?: O): WxReturn<O, R_get> {
    return withCallbacks('collection.get', options as O, async () => {
      // The mini-program returns 20 records at most, whatever limit() asked for.
      const limit = Math.min(this.limitSet ?? CLIENT_MAX_LIMIT, CLIENT_MAX_LIMIT);
      const res = await call('collection.get', () => this.built().limit(limit).get());
      return { data: res.data as Record<string, unknown>[], errMsg: 'collection.get:ok' };
    });
  }

  count<O extends Options<R_count>>(options?: O): WxReturn<O, R_count> {
    return withCallbacks('collection.count', options as O, async () => {
      const res = await call('collection.count', () => this.built().count());
      return { total: res.total as number, errMsg: 'collection.count:ok' };
    });
  }

  update<O extends { data: object } & WxCallbacks<R_update>>(options: O): WxReturn<O, R_update> {
    return withCallbacks('collection.update', options, async () => {
      const res = await call('collection.update', () =>
        this.built().update(dataOf('collection.update', options)),
      );
      return { stats: { updated: res.updated as number }, errMsg: 'collection.update:ok' };
    });
  }

  remove<O extends Options<R_remove>>(options?: O): WxReturn<O, R_remove> {
    return withCallbacks('collection.remove', options as O, async () => {
      const res = await call('collection.remove', () => this.built().remove());
      return { stats: { removed: res.deleted as number }, errMsg: 'collection.remove:ok' };
    });
  }

  watch(options: WatchOptions): Watcher {
    return startWatch('collection.watch', this.slot, options, (o) => this.built().watch(o));
  }
}

function dataOf(api: string, options: { data?: unknown } | undefined): object {
  if (!options || !isRecord(options.data)) {
    throw wxError(
      api,
      'parameter.data should be an object ({data: {...}}, as in the mini-program)',
    );
  }
  return options.data;
}

export class MiniCollection extends MiniQuery {
  constructor(
    slot: RealtimeSlot,
    private readonly collection: () => JsCollection,
  ) {
    super(slot, collection);
  }

  doc(id: string | number): MiniDocument {
    return new MiniDocument(this.slot, () => this.collection().doc(id), id);
  }

  aggregate(): MiniAggregate {
    return createAggregate(this.collection);
  }

  add<O extends { data: object } & WxCallbacks<R_add>>(options: O): WxReturn<O, R_add> {
    return withCallbacks('collection.add', options, async () => {
      const data = dataOf('collection.add', options);
      useTransport();
      // The platform, not the client, stamps `_openid` on a client's insert (the server does it).
      const res = await call('collection.add', () => this.collection().add(data));
      return { _id: res.id as string | number, errMsg: 'collection.add:ok' };
    });
  }
}

export class MiniDocument {
  constructor(
    private readonly slot: RealtimeSlot,
    private readonly doc: () => JsDoc,
    private readonly id: string | number,
  ) {}

  private built(): JsDoc {
    useTransport();
    return this.doc();
  }

  field(projection: object): MiniDocument {
    const parent = this.doc;
    return new MiniDocument(this.slot, () => parent().field(projection), this.id);
  }

  get<O extends Options<R_docget>>(options?: O): WxReturn<O, R_docget> {
    return withCallbacks('document.get', options as O, async () => {
      const res = await call('document.get', () => this.built().get());
      const [doc] = res.data as Record<string, unknown>[];
      if (!doc) {
        // The mini-program's own wording. Under a read rule a denied caller gets the permission
        // error instead (the server checks rules before existence).
        throw wxError('document.get', `document with _id ${String(this.id)} does not exist`);
      }
      return { data: doc, errMsg: 'document.get:ok' };
    });
  }

  set<O extends { data: object } & WxCallbacks<R_set>>(options: O): WxReturn<O, R_set> {
    return withCallbacks('document.set', options, async () => {
      const res = await call('document.set', () =>
        this.built().set(dataOf('document.set', options)),
      );
      const created = res.upsertedId === undefined || res.upsertedId === null ? 0 : 1;
      return {
        _id: this.id,
        stats: { updated: res.updated as number, created },
        errMsg: 'document.set:ok',
      };
    });
  }

  update<O extends { data: object } & WxCallbacks<R_update>>(options: O): WxReturn<O, R_update> {
    return withCallbacks('document.update', options, async () => {
      const res = await call('document.update', () =>
        this.built().update(dataOf('document.update', options)),
      );
      return { stats: { updated: res.updated as number }, errMsg: 'document.update:ok' };
    });
  }

  remove<O extends Options<R_remove>>(options?: O): WxReturn<O, R_remove> {
    return withCallbacks('document.remove', options as O, async () => {
      const res = await call('document.remove', () => this.built().remove());
      return { stats: { removed: res.deleted as number }, errMsg: 'document.remove:ok' };
    });
  }

  watch(options: WatchOptions): Watcher {
    return startWatch('document.watch', this.slot, options, (o) => this.built().watch(o));
  }
}

export interface MiniDatabase {
  collection(name: string): MiniCollection;
  command: unknown;
  serverDate(options?: { offset?: number }): unknown;
  RegExp(options: { regexp: string; options?: string }): unknown;
  Geo: unknown;
}

export function createDatabase(identity: ClientIdentity, slot: RealtimeSlot): MiniDatabase {
  // The realtime client keys its login by env and refuses an empty one; requests themselves carry
  // identity.env (empty: the emulator's default env), and the realtime server ignores this name.
  const db = new Db({ env: identity.env || 'default', [IDENTITY]: identity });
  const jsDb = db as unknown as {
    collection(name: string): JsCollection;
    command: unknown;
    serverDate(options?: object): unknown;
    RegExp(options: object): unknown;
    Geo: unknown;
  };
  return {
    collection(name) {
      if (typeof name !== 'string' || !name)
        throw new Error('db.collection needs a collection name');
      return new MiniCollection(slot, () => {
        useTransport();
        return jsDb.collection(name);
      });
    },
    command: jsDb.command,
    serverDate: (options) => jsDb.serverDate(options),
    RegExp: (options) => jsDb.RegExp(options),
    Geo: jsDb.Geo,
  };
}
