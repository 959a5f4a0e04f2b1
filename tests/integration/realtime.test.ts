// Realtime watch: the REAL @cloudbase/database 1.4.3 realtime client (and raw frames where that
// client cannot go) against the emulator's /ws/realtime, with writes from the store, the real
// wx-server-sdk and transactions. Refusal texts (e.g. the 401 body) are the emulator's wording.
import type { Query } from '@cloudbase/database';
import WebSocket from 'ws';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import type { ChangeEvent } from '../../emulator/src/database';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';
import {
  clientCall,
  closeRealClientSockets,
  eventsOf,
  Inbox,
  quietConsole,
  RawClient,
  realDb,
  type Body,
} from './realtime-helpers';

const ALICE = 'o-alice-rt';
const BOB = 'o-bob-rt';

interface Snapshot {
  id: number;
  type?: string;
  docChanges: {
    dataType: string;
    queueType: string;
    docId: string;
    doc?: Body;
    updatedFields?: Body;
    removedFields?: string[];
  }[];
  docs: Body[];
}

let emu: RunningEmulator;
let restoreConsole: () => void;

beforeAll(async () => {
  restoreConsole = quietConsole();
  const { projectDir, functionsDir } = makeProject({
    ORDERS: { rules: { read: 'doc._openid == auth.openid', write: false } },
    BOARD: { rules: { read: true, write: false } },
  });
  emu = await startEmulator({ projectDir, functionsDir, port: 0, inMemory: true });
});
afterAll(async () => {
  await closeRealClientSockets();
  await emu.stop();
  restoreConsole();
});
beforeEach(() => emu.reset());

const store = (): RunningEmulator['services']['database']['store'] => emu.services.database.store;

/** Starts a real-client watch; resolves with its snapshots inbox once the init snapshot is in. */
async function watchWith(
  query: Query,
): Promise<{ snapshots: Inbox<Snapshot>; errors: unknown[]; close: () => Promise<void> }> {
  const snapshots = new Inbox<Snapshot>();
  const errors: unknown[] = [];
  const listener = query.watch({
    onChange: (s) => snapshots.push(s as unknown as Snapshot),
    onError: (e) => errors.push(e),
  });
  await snapshots.count(1);
  const close = async (): Promise<void> => {
    // close() is typed void but returns the closing Promise.
    await (listener.close() as unknown as Promise<void>);
    // @cloudbase/database 1.4.3 keeps re-arming a 10 s CHECK_LAST timer for a closed watch
    // forever; clear it so jest can exit (the listener exposes its client in debug mode).
    const { virtualClient } = listener as { virtualClient?: { clearACKSchedule?(): void } };
    virtualClient?.clearACKSchedule?.();
  };
  return { snapshots, errors, close };
}

/** Opens a socket with the `ws` client: 101 when it connected, else the refusal's status and body. */
function upgradeOutcome(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', reject);
  });
}

test('auth.wsWebSign answers the socket URL for the caller; a bad token cannot connect', async () => {
  const signed = (await clientCall(emu.url, ALICE, 'auth.wsWebSign')) as { data: Body };
  expect(signed.data).toMatchObject({ envId: 'local-env', secretVersion: expect.any(Number) });
  expect(signed.data.wsUrl).toMatch(
    new RegExp(`^ws://127\\.0\\.0\\.1:${emu.port}/ws/realtime\\?token=[0-9a-f]{32}$`),
  );
  // From the server SDK path (no client identity) it is refused with a clear message.
  const fromServer = await fetch(`${emu.url}/admin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'auth.wsWebSign' }),
  });
  expect(await fromServer.json()).toMatchObject({
    code: 'INVALID_PARAM',
    message: expect.stringContaining('/admin/client'),
  });
  // A real WebSocket client (Node's fetch refuses upgrade headers before sending anything). The
  // 401 and its body come only from the server's refusal branch; the signed URL connects.
  const wsUrl = String(signed.data.wsUrl);
  const wsBase = wsUrl.replace(/\?token=.*$/, '');
  for (const url of [`${wsBase}?token=forged`, `${wsBase}?token=`, wsBase]) {
    expect(await upgradeOutcome(url)).toEqual({
      status: 401,
      body: 'unknown or missing token: get one from auth.wsWebSign\n',
    });
  }
  expect(await upgradeOutcome(wsUrl)).toEqual({ status: 101, body: '' });
  // The signed token opens only the realtime endpoint: another path is answered 404 at once.
  const elsewhere = wsUrl.replace('/ws/realtime?', '/ws/elsewhere?');
  expect(await upgradeOutcome(elsewhere)).toEqual({
    status: 404,
    body: 'no WebSocket endpoint at /ws/elsewhere; the realtime watch is at /ws/realtime\n',
  });
});

test('the emulator keeps the last 1000 sign-ins: the oldest token is dropped and then refused', async () => {
  // MAX_TOKENS is the emulator's own bound (the platform's token lifetime is not documented).
  const realtime = emu.services.database.realtime;
  const first = realtime.sign(ALICE, 'local-env');
  for (let i = 0; i < 999; i++) realtime.sign(BOB, 'local-env');
  expect(await upgradeOutcome(first.wsUrl)).toEqual({ status: 101, body: '' });
  const latest = realtime.sign(BOB, 'local-env');
  expect(await upgradeOutcome(first.wsUrl)).toEqual({
    status: 401,
    body: 'unknown or missing token: get one from auth.wsWebSign\n',
  });
  expect(await upgradeOutcome(latest.wsUrl)).toEqual({ status: 101, body: '' });
});

test('where().watch: init snapshot, then a server update pushes the whole doc and its fields', async () => {
  store().insert('ORDERS', [
    { _id: 'a1', _openid: ALICE, status: 'pending', fee: 1, meta: { n: 1, gone: true } },
    { _id: 'b1', _openid: BOB, status: 'pending', fee: 1 },
  ]);
  const db = realDb(emu.url, ALICE);
  const w = await watchWith(db.collection('ORDERS').where({ _id: 'a1', _openid: '{openid}' }));
  const [init] = w.snapshots.items;
  expect(init.docs).toEqual([
    { _id: 'a1', _openid: ALICE, status: 'pending', fee: 1, meta: { n: 1, gone: true } },
  ]);
  expect(init.docChanges).toMatchObject([{ dataType: 'init', queueType: 'init', docId: 'a1' }]);

  store().update(
    'ORDERS',
    { _id: 'a1' },
    {
      kind: 'operators',
      modifier: { $set: { status: 'paid', 'meta.n': 2 }, $unset: { 'meta.gone': '' } },
    },
    { multi: false, upsert: false },
  );
  const [, next] = await w.snapshots.count(2);
  expect(next.id).toBe(init.id + 1);
  expect(next.docChanges).toMatchObject([
    {
      dataType: 'update',
      queueType: 'update',
      docId: 'a1',
      updatedFields: { status: 'paid', 'meta.n': 2 },
      removedFields: ['meta.gone'],
    },
  ]);
  expect(next.docs).toEqual([
    { _id: 'a1', _openid: ALICE, status: 'paid', fee: 1, meta: { n: 2 } },
  ]);
  expect(w.errors).toEqual([]);
  await w.close();
});

test('where().watch: documents enter (add/enqueue, update/enqueue) and leave (update/dequeue, remove/dequeue)', async () => {
  const db = realDb(emu.url, ALICE);
  const w = await watchWith(
    db.collection('ORDERS').where({ _openid: '{openid}', status: 'pending' }),
  );
  expect(w.snapshots.items[0]).toMatchObject({ docs: [], type: 'init' });

  store().insert('ORDERS', [{ _id: 'p1', _openid: ALICE, status: 'pending' }]);
  store().insert('ORDERS', [{ _id: 'x1', _openid: BOB, status: 'pending' }]); // not in the query
  store().insert('ORDERS', [{ _id: 'p2', _openid: ALICE, status: 'paid' }]);
  const set = (id: string, status: string): void => {
    store().update(
      'ORDERS',
      { _id: id },
      { kind: 'operators', modifier: { $set: { status } } },
      { multi: false, upsert: false },
    );
  };
  set('p2', 'pending'); // enters by update
  set('p1', 'paid'); // leaves by update
  store().remove('ORDERS', { _id: 'p2' }, { multi: false });

  const all = await w.snapshots.count(5);
  const changes = all
    .slice(1)
    .map((s) => s.docChanges.map((c) => [c.docId, c.dataType, c.queueType]));
  expect(changes).toEqual([
    [['p1', 'add', 'enqueue']],
    [['p2', 'update', 'enqueue']],
    [['p1', 'update', 'dequeue']],
    [['p2', 'remove', 'dequeue']],
  ]);
  expect(all.map((s) => s.id)).toEqual([0, 1, 2, 3, 4]);
  expect(all[2].docs.map((d) => d._id)).toEqual(['p1', 'p2']);
  expect(all[4].docs).toEqual([]);
  await w.close();
});

test('orderBy + limit: the top N is re-evaluated, with limit events for documents pushed in or out', async () => {
  store().insert('BOARD', [
    { _id: 's10', score: 10 },
    { _id: 's20', score: 20 },
    { _id: 's30', score: 30 },
  ]);
  const raw = await RawClient.connect(emu.url, BOB);
  const init = await raw.initWatch('w-top', 'BOARD', {}, { orderBy: { score: 'desc' }, limit: 2 });
  expect(init.msgType).toBe('INIT_EVENT');
  expect(eventsOf(init).map((e) => [e.DocID, e.DataType, e.QueueType])).toEqual([
    ['s30', 'init', 'init'],
    ['s20', 'init', 'init'],
  ]);
  const base = (init.msgData as { currEvent: number }).currEvent;

  store().insert('BOARD', [{ _id: 's25', score: 25 }]); // enters, pushes s20 out
  store().insert('BOARD', [{ _id: 's5', score: 5 }]); // below the top 2: no event
  store().remove('BOARD', { _id: 's30' }, { multi: false }); // leaves, pulls s20 back in
  store().update(
    'BOARD',
    { _id: 's10' },
    { kind: 'operators', modifier: { $set: { score: 99 } } },
    { multi: false, upsert: false },
  );
  await raw.flush();

  const pushes = raw.pushes('w-top');
  expect(pushes.map((p) => (p.msgData as { currEvent: number }).currEvent)).toEqual([
    base + 1,
    base + 2,
    base + 3,
  ]);
  expect(
    pushes.map((p) => eventsOf(p).map((e) => [e.ID, e.DocID, e.DataType, e.QueueType])),
  ).toEqual([
    [
      [base + 1, 's25', 'add', 'enqueue'],
      [base + 1, 's20', 'limit', 'dequeue'],
    ],
    [
      [base + 2, 's30', 'remove', 'dequeue'],
      [base + 2, 's20', 'limit', 'enqueue'],
    ],
    [
      [base + 3, 's10', 'update', 'enqueue'],
      [base + 3, 's20', 'limit', 'dequeue'],
    ],
  ]);
  // Every event carries the whole document (the 1.4.3 client crashes on partial ones).
  expect(eventsOf(pushes[2])[0].Doc).toEqual({ _id: 's10', score: 99 });
  raw.close();
});

test('@cloudbase/database 1.4.3 itself cannot send orderBy on a watch (it calls reduce on an object)', () => {
  const db = realDb(emu.url, ALICE);
  expect(() =>
    db
      .collection('BOARD')
      .orderBy('score', 'desc')
      .watch({ onChange: () => undefined, onError: () => undefined }),
  ).toThrow(/reduce is not a function/);
});

test('concurrent writes from the server SDK, transactions and the store reach the watcher in commit order, exactly once', async () => {
  const commits: string[] = [];
  const off = emu.services.database.onChange((c: ChangeEvent) => {
    if (c.collection === 'BOARD')
      commits.push(`${String(c.docId)}:${String((c.after ?? {}).n ?? 'x')}`);
  });
  const db = realDb(emu.url, ALICE);
  const w = await watchWith(db.collection('BOARD').where({ kind: 'c' }));

  const sdk = runWithSdk(
    emu.url,
    `
    const board = db.collection('BOARD');
    await Promise.all(Array.from({ length: 20 }, (unused, i) => board.add({ data: { _id: 'sdk' + i, kind: 'c', n: 0 } })));
    await Promise.all(Array.from({ length: 20 }, (unused, i) => board.doc('sdk' + i).update({ data: { n: _.inc(1) } })));
    await db.runTransaction(async (t) => {
      await t.collection('BOARD').doc('sdk0').update({ data: { n: 100 } });
      await t.collection('BOARD').doc('sdk1').update({ data: { n: 101 } });
    });
    return true;
  `,
  );
  for (let i = 0; i < 30; i++) store().insert('BOARD', [{ _id: `st${i}`, kind: 'c', n: i }]);
  await sdk;
  const expected = 20 + 20 + 2 + 30;
  expect(commits).toHaveLength(expected);
  const snapshots = await w.snapshots.count(1 + expected);
  const seen = snapshots
    .slice(1)
    .flatMap((s) => s.docChanges.map((c) => `${c.docId}:${String(c.doc?.n ?? 'x')}`));
  expect(seen).toEqual(commits);
  // Ids strictly +1: the client never had to rebuild.
  expect(snapshots.map((s) => s.id)).toEqual(snapshots.map((_, i) => i));
  off();
  await w.close();
});

test('a socket dropped mid-stream is rebuilt by the client without losing or repeating a change', async () => {
  const db = realDb(emu.url, ALICE);
  const w = await watchWith(db.collection('BOARD').where({ kind: 'drop' }));
  store().insert('BOARD', [{ _id: 'd1', kind: 'drop', n: 1 }]);
  await w.snapshots.count(2);

  const realtime = emu.services.database.realtime;
  const [socket] = realtime.sockets();
  socket.terminate(); // as a network failure would: no close frame
  // Written while the client has no socket: kept in the watch's buffer for REBUILD_WATCH.
  for (let n = 2; n <= 6; n++) {
    store().update(
      'BOARD',
      { _id: 'd1' },
      { kind: 'operators', modifier: { $set: { n } } },
      { multi: false, upsert: false },
    );
  }
  store().insert('BOARD', [{ _id: 'd2', kind: 'drop', n: 1 }]);

  const snapshots = await w.snapshots.count(8);
  expect(snapshots.map((s) => s.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(
    snapshots.slice(2).map((s) => s.docChanges.map((c) => `${c.docId}:${String(c.doc?.n)}`)),
  ).toEqual([['d1:2'], ['d1:3'], ['d1:4'], ['d1:5'], ['d1:6'], ['d2:1']]);
  expect(snapshots[7].docs.map((d) => d._id)).toEqual(['d1', 'd2']);
  // The watch lives on the new socket: a later write arrives once.
  expect(realtime.sockets()).toHaveLength(1);
  expect(realtime.sockets()[0]).not.toBe(socket);
  store().insert('BOARD', [{ _id: 'd3', kind: 'drop', n: 1 }]);
  const after = await w.snapshots.count(9);
  expect(after).toHaveLength(9);
  expect(w.errors).toEqual([]);
  await w.close();
});

test('REBUILD_WATCH replays what a watch missed; CHECK_LAST answers the last id; CLOSE_WATCH stops pushes', async () => {
  const first = await RawClient.connect(emu.url, BOB);
  const init = await first.initWatch('w-r', 'BOARD', { kind: 'r' });
  const queryID = (init.msgData as { queryID: string }).queryID;
  store().insert('BOARD', [{ _id: 'r1', kind: 'r' }]);
  await first.flush();
  first.close();
  await new Promise<void>((resolve) => first.ws.once('close', () => resolve()));
  store().insert('BOARD', [{ _id: 'r2', kind: 'r' }]);
  store().insert('BOARD', [{ _id: 'r3', kind: 'r' }]);

  // Another user cannot take the watch over: same answer as for a watch that never existed.
  const mallory = await RawClient.connect(emu.url, ALICE);
  const stolen = await mallory.request({
    watchId: 'w-r',
    msgType: 'REBUILD_WATCH',
    msgData: { queryID, eventID: 0 },
  });
  const unknown = await mallory.request({
    watchId: 'w-r',
    msgType: 'REBUILD_WATCH',
    msgData: { queryID: 'nope', eventID: 0 },
  });
  expect(stolen.msgType).toBe('ERROR');
  expect(stolen.msgData).toEqual(unknown.msgData);
  expect(stolen.msgData).toMatchObject({ code: 'QUERYID_INVALID_ERROR' });
  mallory.close();

  const second = await RawClient.connect(emu.url, BOB);
  const rebuilt = await second.request({
    watchId: 'w-r',
    msgType: 'REBUILD_WATCH',
    msgData: { queryID, eventID: 1 },
  });
  expect(rebuilt.msgType).toBe('NEXT_EVENT');
  expect(eventsOf(rebuilt).map((e) => [e.ID, e.DocID, e.DataType])).toEqual([
    [2, 'r2', 'add'],
    [3, 'r3', 'add'],
  ]);
  const check = await second.request({
    watchId: 'w-r',
    msgType: 'CHECK_LAST',
    msgData: { queryID, eventID: 3 },
  });
  expect(check).toMatchObject({ msgType: 'CHECK_EVENT', msgData: { queryID, currEvent: 3 } });

  const pushedBefore = second.pushes('w-r').length;
  second.send({ watchId: 'w-r', msgType: 'CLOSE_WATCH', msgData: null });
  await second.flush();
  const live = emu.services.database.realtime.describeWatches().map((d) => d.queryId);
  expect(live).not.toContain(queryID);
  store().insert('BOARD', [{ _id: 'r4', kind: 'r' }]);
  await second.flush();
  expect(second.pushes('w-r')).toHaveLength(pushedBefore);
  second.close();
});

test('real client close() ends the watch on the server', async () => {
  const db = realDb(emu.url, ALICE);
  const realtime = emu.services.database.realtime;
  const before = new Set(realtime.describeWatches().map((d) => d.queryId));
  const w = await watchWith(db.collection('BOARD').where({ kind: 'close' }));
  const mine = realtime.describeWatches().filter((d) => !before.has(d.queryId));
  expect(mine).toMatchObject([{ openid: ALICE, collection: 'BOARD', attached: true }]);
  await w.close();
  // The client sends CLOSE_WATCH without waiting for an answer, then closes its idle socket.
  const gone = (): boolean =>
    !realtime.describeWatches().some((d) => d.queryId === mine[0].queryId);
  for (let i = 0; i < 200 && !gone(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(gone()).toBe(true);
});
