import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { EJSON } from 'bson';
import { EmulatorError } from '../../errors';
import type { EmulatorContext } from '../../service';
import type { RulesEngine } from '../rules';
import type { ChangeEvent, Store } from '../store';
import { toPlain, type Doc } from '../values';
import { MAX_WATCH_DOCS, Watch, type DbEvent } from './watch';

export { Watch } from './watch';
export type { DbEvent } from './watch';

/**
 * Realtime watch over WebSocket, speaking the frames of @cloudbase/database 1.4.3's realtime
 * client (src/realtime/websocket-client.ts and virtual-websocket-client.ts): LOGIN → LOGIN_RES,
 * INIT_WATCH → INIT_EVENT, pushed NEXT_EVENTs, REBUILD_WATCH → NEXT_EVENT, CHECK_LAST →
 * CHECK_EVENT, CLOSE_WATCH, PING → PONG, and ERROR. Identity: `auth.wsWebSign` (a client request)
 * mints a token bound to the caller's openid; the socket URL carries it and every watch on the
 * socket is checked against that user's read rule. Watches outlive their socket for a while so a
 * client that reconnects rebuilds them without missing a change.
 */

export const REALTIME_PATH = '/ws/realtime';
/** A watch whose socket dropped waits this long (real time) for its REBUILD_WATCH. */
const DETACHED_TTL_MS = 5 * 60_000;
const MAX_TOKENS = 1000;
const MAX_WATCHES_PER_SOCKET = 100;
/**
 * Caps that keep one user, or everyone together, from exhausting the emulator's memory (the
 * cloud's own caps are not documented): watches per user (attached or waiting for a rebuild) and
 * in all. Past a cap INIT_WATCH is refused with an error naming it.
 */
export const MAX_WATCHES_PER_OPENID = 100;
export const MAX_WATCHES = 2000;
/**
 * A socket whose client reads so slowly that this much is waiting to be sent is closed; the
 * client reconnects and rebuilds its watches from their replay buffers (or re-inits).
 */
export const MAX_SOCKET_BACKLOG_BYTES = 8 * 1024 * 1024;

interface Frame {
  watchId?: string;
  requestId?: string;
  msgType?: string;
  msgData?: Record<string, unknown> | null;
}

interface Connection {
  ws: WebSocket;
  openid: string;
  /** The env the client signed in to (auth.wsWebSign under `?env=`): its watches read that env. */
  env: string;
  watches: Map<string, Watch>;
}

export class RealtimeServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  /** Token → user and env, from auth.wsWebSign; oldest dropped beyond MAX_TOKENS. */
  private readonly tokens = new Map<string, { openid: string; env: string }>();
  /** Every live watch by queryID, attached to a socket or waiting for a rebuild. */
  private readonly watches = new Map<string, Watch>();
  private readonly owners = new Map<Watch, Connection | undefined>();
  /** The env each live watch reads: a change reaches only the watches of its own env. */
  private readonly watchEnvs = new Map<Watch, string>();
  private readonly expiries = new Map<Watch, NodeJS.Timeout>();
  private readonly connections = new Set<Connection>();
  private unsubscribes: (() => void)[] = [];
  private requestSeq = 0;

  constructor(
    private readonly ctx: EmulatorContext,
    /** The store of a hosted env. */
    private readonly storeOf: (env: string) => Store,
    private readonly rules: RulesEngine,
  ) {}

  /** Follows every env's committed changes. */
  start(envs: { env: string; store: Store }[]): void {
    for (const { env, store } of envs) {
      this.unsubscribes.push(store.onChange((change) => this.push(env, change)));
    }
  }

  /** `auth.wsWebSign`: a token for this user in this env and the socket URL that carries it. */
  sign(
    openid: string,
    env: string,
  ): { signStr: string; wsUrl: string; secretVersion: number; envId: string } {
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, { openid, env });
    // More than MAX_TOKENS entries, so the first key (the oldest sign-in) exists.
    if (this.tokens.size > MAX_TOKENS) {
      this.tokens.delete(this.tokens.keys().next().value as string);
    }
    // The emulator serves plain HTTP; its sockets are ws:// on the same host and port.
    const wsUrl = `ws://${new URL(this.ctx.url()).host}${REALTIME_PATH}?token=${token}`;
    return { signStr: token, wsUrl, secretVersion: 1, envId: env };
  }

  /**
   * Handles WebSocket upgrades: REALTIME_PATH is the emulator's only WebSocket endpoint, so an
   * upgrade to any other path is answered 404 at once (unanswered, the client would wait until
   * its own timeout).
   */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Mutation testing, two survivors, neither a way in: `req.url ?? '/'` → another string
      // (no coverage: Node sets req.url on every request a server receives); `?? ''` → another
      // string (a missing token is refused either way: no signed token is that string).
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== REALTIME_PATH) {
        socket.end(
          'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n' +
            `no WebSocket endpoint at ${url.pathname}; the realtime watch is at ${REALTIME_PATH}\n`,
        );
        return;
      }
      const signedIn = this.tokens.get(url.searchParams.get('token') ?? '');
      if (!signedIn) {
        socket.end(
          'HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n' +
            'unknown or missing token: get one from auth.wsWebSign\n',
        );
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) =>
        this.connect(ws, signedIn.openid, signedIn.env),
      );
    });
  }

  /** A reset emptied every collection of `env`: each watch on it sees its documents removed. */
  reset(env: string): void {
    for (const watch of this.watches.values()) {
      if (this.watchEnvs.get(watch) !== env) continue;
      const events = watch.clear();
      if (events) this.sendEvents(watch, events);
    }
  }

  /** Drops every socket and watch (emulator stop). */
  stop(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    this.unsubscribes = [];
    for (const timer of this.expiries.values()) clearTimeout(timer);
    this.expiries.clear();
    for (const connection of this.connections) connection.ws.terminate();
    this.connections.clear();
    this.watches.clear();
    this.owners.clear();
    this.watchEnvs.clear();
    this.wss.close();
  }

  /** Live sockets (for tests: dropping one on purpose). */
  sockets(): WebSocket[] {
    return [...this.connections].map((c) => c.ws);
  }

  /** Every live watch (attached to a socket or waiting for its rebuild), for tests and the console. */
  describeWatches(): {
    queryId: string;
    watchId: string;
    openid: string;
    env: string;
    collection: string;
    attached: boolean;
    currEvent: number;
  }[] {
    return [...this.watches.values()].map((watch) => ({
      queryId: watch.queryId,
      watchId: watch.watchId,
      openid: watch.openid,
      env: this.watchEnvs.get(watch) ?? this.ctx.config.envId,
      collection: watch.spec.collection,
      attached: this.owners.get(watch) !== undefined,
      currEvent: watch.currEvent,
    }));
  }

  // ---- sockets --------------------------------------------------------------------------------

  private connect(ws: WebSocket, openid: string, env: string): void {
    const connection: Connection = { ws, openid, env, watches: new Map() };
    this.connections.add(connection);
    ws.on('message', (data: RawData) => this.receive(connection, data));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.connections.delete(connection);
      // Watches wait for the client's REBUILD_WATCH on a new socket, still collecting events.
      for (const watch of connection.watches.values()) this.detach(watch);
      connection.watches.clear();
    });
  }

  private receive(connection: Connection, data: RawData): void {
    let frame: Frame;
    try {
      const parsed: unknown = JSON.parse(rawText(data));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('not an object');
      frame = parsed as Frame;
    } catch {
      this.send(
        connection,
        errorFrame(undefined, undefined, 'SYS_ERR', 'frame is not a JSON object'),
      );
      return;
    }
    try {
      this.handle(connection, frame);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.send(connection, errorFrame(frame, undefined, 'SYS_ERR', message));
    }
  }

  private handle(connection: Connection, frame: Frame): void {
    const data = frame.msgData ?? {};
    switch (frame.msgType) {
      case 'PING':
        this.send(connection, reply(frame, 'PONG', null));
        return;
      case 'LOGIN':
        this.send(connection, reply(frame, 'LOGIN_RES', { envId: connection.env }));
        return;
      // LOGIN is answered but not required first: the token in the socket URL already names the
      // user, and @cloudbase/database 1.4.3 can skip LOGIN on a fresh socket (it reuses a login
      // cached from the previous socket until that one's close event lands). Refusing would
      // hand the page a spurious onError.
      case 'INIT_WATCH':
        this.initWatch(connection, frame, data);
        return;
      case 'REBUILD_WATCH':
        this.rebuildWatch(connection, frame, data);
        return;
      case 'CHECK_LAST': {
        const watch = this.owned(connection, data.queryID);
        if (!watch) {
          this.send(
            connection,
            errorFrame(frame, undefined, 'QUERYID_INVALID_ERROR', 'no such watch'),
          );
          return;
        }
        this.send(
          connection,
          reply(frame, 'CHECK_EVENT', { queryID: watch.queryId, currEvent: watch.currEvent }),
        );
        return;
      }
      case 'CLOSE_WATCH': {
        const watch = frame.watchId ? connection.watches.get(frame.watchId) : undefined;
        if (watch) this.drop(watch);
        // The client does not wait for an answer to CLOSE_WATCH.
        return;
      }
      default:
        this.send(
          connection,
          errorFrame(
            frame,
            undefined,
            'SYS_ERR',
            `msgType ${JSON.stringify(frame.msgType)} is not emulated by wxcloud-emulator`,
          ),
        );
    }
  }

  private initWatch(connection: Connection, frame: Frame, data: Record<string, unknown>): void {
    if (typeof frame.watchId !== 'string' || !frame.watchId) {
      throw new Error('INIT_WATCH needs a watchId');
    }
    const collection = data.collName;
    if (typeof collection !== 'string' || !collection)
      throw new Error('INIT_WATCH needs msgData.collName');
    let filter: Doc;
    try {
      filter = this.rules.authorizeRead(
        collection,
        parseWatchQuery(data.query, this.ctx.clock.now()),
        connection.openid,
        'realtime.watch',
      );
    } catch (err) {
      if (err instanceof EmulatorError && err.code === 'DATABASE_PERMISSION_DENIED') {
        // The code the client knows for this (typings/realtime.ts); it ends the watch with onError.
        this.send(
          connection,
          errorFrame(frame, frame.watchId, 'COLLECTION_PERMISSION_DENIED', err.message),
        );
        return;
      }
      throw err;
    }
    const order = parseOrder(data.orderBy);
    const limit = parseLimit(data.limit);
    if (
      connection.watches.size >= MAX_WATCHES_PER_SOCKET &&
      !connection.watches.has(frame.watchId)
    ) {
      throw new Error(`at most ${MAX_WATCHES_PER_SOCKET} watches per socket`);
    }
    if (!connection.watches.has(frame.watchId)) {
      let mine = 0;
      for (const w of this.watches.values()) if (w.openid === connection.openid) mine += 1;
      if (mine >= MAX_WATCHES_PER_OPENID) {
        throw new Error(
          `at most ${MAX_WATCHES_PER_OPENID} watches per user (wxcloud-emulator's cap); close some first`,
        );
      }
      if (this.watches.size >= MAX_WATCHES) {
        throw new Error(
          `at most ${MAX_WATCHES} watches in all (wxcloud-emulator's cap); close some first`,
        );
      }
    }
    const matching = this.storeOf(connection.env).find(collection, filter);
    if (limit === undefined && matching.length > MAX_WATCH_DOCS) {
      throw new Error(
        `the watch would hold ${matching.length} records; the platform allows ${MAX_WATCH_DOCS} (add a limit or narrow the query)`,
      );
    }
    const previous = connection.watches.get(frame.watchId);
    if (previous) this.drop(previous);
    const watch = new Watch(
      { collection, filter, order, limit },
      connection.openid,
      frame.watchId,
      matching,
    );
    this.watches.set(watch.queryId, watch);
    this.watchEnvs.set(watch, connection.env);
    this.own(watch, connection);
    this.ctx.events.emit('database.operation', {
      action: 'realtime.initWatch',
      collection,
      openid: connection.openid,
      env: connection.env,
      ok: true,
      count: matching.length,
    });
    this.send(
      connection,
      reply(frame, 'INIT_EVENT', {
        queryID: watch.queryId,
        currEvent: watch.currEvent,
        events: watch.initEvents(),
      }),
    );
  }

  private rebuildWatch(connection: Connection, frame: Frame, data: Record<string, unknown>): void {
    // A watch that is gone (expired, closed) and one of another user answer the same.
    const watch = this.owned(connection, data.queryID, true);
    const eventId = typeof data.eventID === 'number' ? data.eventID : NaN;
    if (!watch || !Number.isInteger(eventId)) {
      this.send(
        connection,
        errorFrame(
          frame,
          frame.watchId,
          'QUERYID_INVALID_ERROR',
          'no such watch to rebuild; start a new one',
        ),
      );
      return;
    }
    const events = watch.since(eventId);
    if (!events) {
      this.send(
        connection,
        errorFrame(
          frame,
          frame.watchId,
          'QUERYID_INVALID_ERROR',
          'the watch missed more changes than the emulator keeps; start a new one',
        ),
      );
      return;
    }
    if (typeof frame.watchId === 'string' && frame.watchId) watch.watchId = frame.watchId;
    this.own(watch, connection);
    this.send(
      connection,
      reply(frame, 'NEXT_EVENT', { queryID: watch.queryId, currEvent: watch.currEvent, events }),
    );
  }

  // ---- watches --------------------------------------------------------------------------------

  /** Fans a committed change out to every watch of its env, in commit order (store.onChange). */
  private push(env: string, change: ChangeEvent): void {
    for (const watch of this.watches.values()) {
      if (this.watchEnvs.get(watch) !== env) continue;
      const events = watch.apply(change);
      if (events) this.sendEvents(watch, events);
    }
  }

  private sendEvents(watch: Watch, events: DbEvent[]): void {
    const connection = this.owners.get(watch);
    // A detached watch keeps its events in its buffer for REBUILD_WATCH.
    if (!connection) return;
    this.send(connection, {
      watchId: watch.watchId,
      requestId: `local-rt-${++this.requestSeq}`,
      msgType: 'NEXT_EVENT',
      msgData: { queryID: watch.queryId, currEvent: watch.currEvent, events },
    });
  }

  /** The watch with this queryID if the connection's user owns it in the connection's env. */
  private owned(
    connection: Connection,
    queryId: unknown,
    anyConnection = false,
  ): Watch | undefined {
    const watch = typeof queryId === 'string' ? this.watches.get(queryId) : undefined;
    if (!watch || watch.openid !== connection.openid) return undefined;
    if (this.watchEnvs.get(watch) !== connection.env) return undefined;
    if (!anyConnection && this.owners.get(watch) !== connection) return undefined;
    return watch;
  }

  private own(watch: Watch, connection: Connection): void {
    const previous = this.owners.get(watch);
    if (previous && previous !== connection) {
      for (const [id, w] of previous.watches) if (w === watch) previous.watches.delete(id);
    }
    clearTimeout(this.expiries.get(watch));
    this.expiries.delete(watch);
    this.owners.set(watch, connection);
    connection.watches.set(watch.watchId, watch);
  }

  private detach(watch: Watch): void {
    this.owners.set(watch, undefined);
    const timer = setTimeout(() => this.drop(watch), DETACHED_TTL_MS);
    timer.unref();
    this.expiries.set(watch, timer);
  }

  private drop(watch: Watch): void {
    clearTimeout(this.expiries.get(watch));
    this.expiries.delete(watch);
    const connection = this.owners.get(watch);
    if (connection?.watches.get(watch.watchId) === watch) connection.watches.delete(watch.watchId);
    this.owners.delete(watch);
    this.watchEnvs.delete(watch);
    this.watches.delete(watch.queryId);
  }

  private send(connection: Connection, frame: Frame): void {
    if (connection.ws.readyState !== WebSocket.OPEN) return;
    if (connection.ws.bufferedAmount > MAX_SOCKET_BACKLOG_BYTES) {
      // Too slow a reader: drop the socket rather than queue without end (see above).
      connection.ws.terminate();
      return;
    }
    connection.ws.send(JSON.stringify(frame));
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function reply(frame: Frame, msgType: string, msgData: Record<string, unknown> | null): Frame {
  return { watchId: frame.watchId, requestId: frame.requestId, msgType, msgData };
}

function errorFrame(
  frame: Frame | undefined,
  watchId: string | undefined,
  code: string,
  message: string,
): Frame {
  return {
    watchId: watchId ?? frame?.watchId,
    requestId: frame?.requestId,
    msgType: 'ERROR',
    msgData: { code, message },
  };
}

/**
 * The watch query. @cloudbase/database 1.4.3 sends `JSON.stringify(<EJSON query string>)` for
 * where().watch() (a JSON string holding EJSON text), `JSON.stringify({_id})` for doc().watch(),
 * and nothing for collection.watch(). All three are accepted.
 */
export function parseWatchQuery(raw: unknown, now: number): Doc {
  if (raw === undefined || raw === null || raw === '') return {};
  let value: unknown = raw;
  if (typeof value === 'string') value = JSON.parse(value) as unknown;
  if (typeof value === 'string') value = value === '' ? {} : (JSON.parse(value) as unknown);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('INIT_WATCH msgData.query must be a JSON object (or a JSON string of one)');
  }
  return toPlain(EJSON.deserialize(value as Doc, { relaxed: true }), now) as Doc;
}

/** `orderBy` as the client builds it (`{field: 'asc' | 'desc'}`), or `{field: 1 | -1}`. */
function parseOrder(raw: unknown): [string, 1 | -1][] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('orderBy must be an object like {"field": "asc"}');
  return Object.entries(raw as Record<string, unknown>).map(([field, direction]) => {
    if (direction === 'asc' || direction === 1) return [field, 1];
    if (direction === 'desc' || direction === -1) return [field, -1];
    throw new Error(`orderBy.${field} must be "asc" or "desc"`);
  });
}

function parseLimit(raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === 0) return undefined;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > MAX_WATCH_DOCS) {
    throw new Error(`limit must be an integer from 1 to ${MAX_WATCH_DOCS}`);
  }
  return raw;
}
