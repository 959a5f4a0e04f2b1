import { Db } from '@cloudbase/database';
import WebSocket from 'ws';

/**
 * Test clients for the realtime watch and the security rules: the REAL @cloudbase/database
 * client (1.4.3) with a tiny transport that posts to /admin/client as one user, and a raw
 * WebSocket client speaking the frames directly (for what the real client cannot do).
 */

export type Body = Record<string, unknown>;

/** POST /admin/client as `openid`: the same body the JS database client sends. */
export async function clientCall(
  url: string,
  openid: string,
  action: string,
  params: Body = {},
): Promise<Body> {
  const response = await fetch(`${url}/admin/client`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-wxcloud-openid': openid },
    body: JSON.stringify({ action, ...params }),
  });
  return (await response.json()) as Body;
}

/**
 * A real `Db` acting as `openid`. Db.reqClass, Db.wsClass and Db.ws are static in this client
 * (one shared socket per process), so one user per test file uses the real client; other users
 * use RawClient.
 */
export function realDb(url: string, openid: string, envId = 'local-env'): Db {
  class Transport {
    send(action: string, params: Body): Promise<Body> {
      return clientCall(url, openid, action, params);
    }
  }
  Db.reqClass = Transport;
  Db.wsClass = TrackedWebSocket;
  return new Db({ env: envId });
}

/** Every socket the real client opened in this file, so the file can close them all at the end. */
const clientSockets = new Set<WebSocket>();
class TrackedWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    clientSockets.add(this);
  }
}

/**
 * Closes every socket the real client opened, as "no listeners left" (3001, so it does not try
 * to reconnect), and resolves once each reports closed. Call it before stopping the emulator: a
 * socket the server drops looks abnormal to the client, which then retries against a stopped
 * emulator, logging each attempt after the file ended ("Cannot log after tests are done") and
 * keeping jest alive. The client also closes its socket by itself when its last watch closes,
 * and logs that close event a moment later: waiting for every close keeps that log in time too.
 */
export async function closeRealClientSockets(): Promise<void> {
  const open = [...clientSockets].filter((socket) => socket.readyState !== WebSocket.CLOSED);
  await Promise.all(
    open.map(
      (socket) =>
        new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          if (socket.readyState !== WebSocket.CLOSING) socket.close(3001, 'No Realtime Listeners');
        }),
    ),
  );
  // The client's own close handler runs in the same emit; let anything it schedules settle.
  await new Promise((resolve) => setImmediate(resolve));
}

/** Collects values and lets a test await the n-th one or one matching a predicate. */
export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { test: (items: T[]) => boolean; resolve: () => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(this.items)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `test(items)` holds (jest's timeout bounds the wait). */
  until(test: (items: T[]) => boolean): Promise<T[]> {
    if (test(this.items)) return Promise.resolve(this.items);
    return new Promise((resolve) => {
      this.waiters.push({ test, resolve: () => resolve(this.items) });
    });
  }

  count(n: number): Promise<T[]> {
    return this.until((items) => items.length >= n);
  }
}

export interface Frame {
  watchId?: string;
  requestId?: string;
  msgType: string;
  msgData: Body | null;
}

let seq = 0;

/** A raw realtime socket for one user: signs in through auth.wsWebSign, then speaks frames. */
export class RawClient {
  readonly frames = new Inbox<Frame>();
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
  }

  static async connect(url: string, openid: string): Promise<RawClient> {
    const signed = (await clientCall(url, openid, 'auth.wsWebSign')) as { data: { wsUrl: string } };
    const ws = new WebSocket(signed.data.wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const client = new RawClient(ws);
    await client.request({ msgType: 'LOGIN', msgData: { envId: 'local-env' } });
    return client;
  }

  /** Sends a frame and resolves with the answer carrying its requestId. */
  async request(frame: Omit<Frame, 'requestId'>): Promise<Frame> {
    const requestId = `test-${++seq}`;
    const start = this.frames.items.length;
    this.ws.send(JSON.stringify({ ...frame, requestId }));
    const items = await this.frames.until((all) =>
      all.slice(start).some((f) => f.requestId === requestId),
    );
    return items.slice(start).find((f) => f.requestId === requestId) as Frame;
  }

  send(frame: Omit<Frame, 'requestId'>): void {
    this.ws.send(JSON.stringify({ ...frame, requestId: `test-${++seq}` }));
  }

  /** Frames are answered in order: once PONG is back, every earlier push has arrived. */
  async flush(): Promise<void> {
    await this.request({ msgType: 'PING', msgData: null });
  }

  pushes(watchId: string): Frame[] {
    return this.frames.items.filter((f) => f.msgType === 'NEXT_EVENT' && f.watchId === watchId);
  }

  initWatch(watchId: string, collName: string, query: unknown, extra: Body = {}): Promise<Frame> {
    return this.request({
      watchId,
      msgType: 'INIT_WATCH',
      msgData: { envId: 'local-env', collName, query: JSON.stringify(query), ...extra },
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Parses the `Doc` JSON text of wire events. */
export function eventsOf(frame: Frame): Body[] {
  const events = ((frame.msgData ?? {}) as { events?: Body[] }).events ?? [];
  return events.map((e) => ({ ...e, Doc: e.Doc ? (JSON.parse(e.Doc as string) as Body) : e.Doc }));
}

/** Silences the realtime client's console chatter for a test file; returns a restore function. */
export function quietConsole(): () => void {
  const spies = (['log', 'warn', 'error'] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation(() => undefined),
  );
  return () => spies.forEach((spy) => spy.mockRestore());
}
