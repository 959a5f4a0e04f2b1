import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import type { ChangeEvent } from '../../emulator/src/database';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// The database's control routes, faults, change feed, events, limits and transaction expiry.

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ ...makeProject(), port: 0, inMemory: true });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

// Control-route answers are checked field by field; a loose type keeps the assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${emulator.url}/emulator/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

test('collections and documents over the control API, as relaxed EJSON, with no side effects', async () => {
  const list = await call('GET', '/collections');
  expect(list.json.collections.map((c: { name: string }) => c.name)).toEqual([
    'ITEMS',
    'USERPAYLOG',
    'USERUNLOCK',
  ]);
  expect(list.json.collections[1]).toEqual({
    name: 'USERPAYLOG',
    count: 0,
    indexes: [{ name: 'tradeno_1', keys: { tradeno: 1 }, unique: true }],
    hasRules: true,
    declared: true,
    // Custom rules (database/USERPAYLOG.json), not one of the basic permissions.
    permission: 'CUSTOM',
  });
  expect(await call('PUT', '/collections/ORDERS')).toEqual({
    status: 201,
    json: { name: 'ORDERS', created: true },
  });
  expect(await call('PUT', '/collections/ORDERS')).toEqual({
    status: 200,
    json: { name: 'ORDERS', created: false },
  });
  expect((await call('PUT', '/collections/bad%20name')).status).toBe(400);

  await runWithSdk(
    emulator.url,
    `await db.collection('ORDERS').add({ data: { _id: 'o1', fee: 1, at: new Date('2024-01-02T03:04:05.000Z') } });
     await db.collection('ORDERS').add({ data: { _id: 42, fee: 2.5 } });`,
  );
  const docs = await call('GET', '/collections/ORDERS/documents');
  expect(docs.json).toEqual({
    documents: [
      { _id: 'o1', fee: 1, at: { $date: '2024-01-02T03:04:05Z' } },
      { _id: 42, fee: 2.5 },
    ],
  });
  expect((await call('GET', '/collections/ORDERS/documents/o1')).json).toEqual({
    document: docs.json.documents[0],
  });
  expect((await call('GET', '/collections/ORDERS/documents/42')).json).toEqual({
    document: { _id: 42, fee: 2.5 },
  });
  const missing = await call('GET', '/collections/ORDERS/documents/nope');
  expect(missing.status).toBe(404);
  expect(missing.json.error.code).toBe('DOCUMENT_NOT_FOUND');
  expect((await call('GET', '/collections/NOPE/documents')).status).toBe(404);
  expect((await call('GET', '/collections/NOPE/documents/x')).status).toBe(404);
  // Reads created nothing.
  expect(
    (await call('GET', '/collections')).json.collections.map((c: { name: string }) => c.name),
  ).toEqual(['ITEMS', 'ORDERS', 'USERPAYLOG', 'USERUNLOCK']);

  // Export, reset, import: the same documents come back, types included.
  const exported = await call('GET', '/database/export');
  expect(exported.json.collections.ORDERS).toEqual(docs.json.documents);
  await call('POST', '/reset');
  expect((await call('GET', '/collections/ORDERS/documents')).json).toEqual({ documents: [] });
  expect((await call('POST', '/database/import', exported.json)).json).toEqual({
    ok: true,
    collections: 4,
    documents: 2,
  });
  const back = await runWithSdk<{ isDate: boolean; fee: number }>(
    emulator.url,
    `const d = (await db.collection('ORDERS').doc('o1').get()).data; return { isDate: d.at instanceof Date, fee: d.fee };`,
  );
  expect(back).toEqual({ isDate: true, fee: 1 });
  expect((await call('POST', '/database/import', { collections: {} })).status).toBe(400);
  expect(emulator.services.database.rules('USERPAYLOG')).toEqual({
    read: 'doc._openid == auth.openid',
    write: false,
  });
});

test('failWrites makes the next N writes to a collection fail, writing nothing', async () => {
  const bad = await call('POST', '/faults', {
    database: { failWrites: { collection: 'USERPAYLOG' } },
  });
  expect(bad.status).toBe(400);
  expect(bad.json.error.message).toMatch(/failWrites\.count must be a number/);
  expect(
    (await call('POST', '/faults', { database: { failWrites: { collection: 'NOPE', count: 1 } } }))
      .json.error.message,
  ).toBe('failWrites: no collection NOPE');
  expect((await call('POST', '/faults', { database: { oops: 1 } })).status).toBe(400);
  expect(
    await call('POST', '/faults', {
      database: { failWrites: { collection: 'USERPAYLOG', count: 2 } },
    }),
  ).toEqual({
    status: 200,
    json: { ok: true },
  });
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const fail = async (p) => { try { await p; return 'ok'; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg }; } };
    const logs = db.collection('USERPAYLOG');
    const r = {};
    r.other = await fail(db.collection('ITEMS').add({ data: { a: 1 } }));
    r.first = await fail(logs.add({ data: { tradeno: 'T1' } }));
    const t = await db.startTransaction();
    await t.collection('USERPAYLOG').add({ data: { tradeno: 'T2' } });
    try { await t.commit(); r.second = 'ok'; } catch (e) { r.second = e.code; }
    r.third = await fail(logs.add({ data: { tradeno: 'T3' } }));
    r.tradenos = (await logs.get()).data.map((d) => d.tradeno);
    return r;
  `,
  );
  expect(r.other).toBe('ok');
  expect(r.first).toEqual({
    errCode: -502001,
    errMsg:
      'collection.add:fail -502001 database request fail. wxcloud-emulator fault: a write to USERPAYLOG failed on purpose (failWrites); nothing was written, 1 more to fail',
  });
  expect(r.second).toBe('DATABASE_REQUEST_FAILED');
  expect(r.third).toBe('ok');
  expect(r.tradenos).toEqual(['T3']);
  emulator.services.database.injectWriteFailures('ITEMS', 1);
  await call('POST', '/faults', { database: { clear: true } });
  expect(emulator.services.database.store.pendingWriteFailures()).toEqual({});
});

test('change feed publishes committed writes in commit order; transactions at commit', async () => {
  const changes: ChangeEvent[] = [];
  const unsubscribe = emulator.services.database.onChange((e) => changes.push(e));
  try {
    await runWithSdk(
      emulator.url,
      `
      const c = db.collection('ITEMS');
      await c.add({ data: { _id: 'x', n: 1 } });
      await c.doc('x').update({ data: { n: 2 } });
      await c.doc('x').update({ data: { n: 2 } });
      await c.doc('x').set({ data: { m: 1 } });
      const t = await db.startTransaction();
      await t.collection('ITEMS').doc('x').update({ data: { m: 2 } });
      await t.collection('ITEMS').add({ data: { _id: 'y' } });
      await c.add({ data: { _id: 'z' } });
      await t.commit();
      await c.doc('x').remove();
      `,
    );
  } finally {
    unsubscribe();
  }
  expect(changes.map((e) => [e.kind, e.docId, e.before, e.after])).toEqual([
    ['add', 'x', null, { _id: 'x', n: 1 }],
    ['update', 'x', { _id: 'x', n: 1 }, { _id: 'x', n: 2 }],
    ['replace', 'x', { _id: 'x', n: 2 }, { _id: 'x', m: 1 }],
    ['add', 'z', null, { _id: 'z' }],
    ['update', 'x', { _id: 'x', m: 1 }, { _id: 'x', m: 2 }],
    ['add', 'y', null, { _id: 'y' }],
    ['remove', 'x', { _id: 'x', m: 2 }, null],
  ]);
  const seqs = changes.map((e) => e.seq);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(
    emulator.services.database.query(
      'ITEMS',
      { _id: { $in: ['y', 'z'] } },
      { order: [['_id', -1]] },
    ),
  ).toEqual([{ _id: 'z' }, { _id: 'y' }]);
  const ops = emulator.events.since(0, 'database.operation').map((e) => e.data);
  expect(ops).toContainEqual(
    expect.objectContaining({
      action: 'database.commitTransaction',
      ok: true,
      count: 2,
      transactionId: expect.any(String),
    }),
  );
  expect(ops).toContainEqual(
    expect.objectContaining({ action: 'database.insertDocument', collection: 'ITEMS', count: 1 }),
  );
});

test('limit defaults to 100 and caps at 1000; abandoned transactions expire on the emulated clock', async () => {
  const store = emulator.services.database.store;
  store.insert(
    'ITEMS',
    Array.from({ length: 1001 }, (_, i) => ({ i })),
  );
  const txn = await runWithSdk<{ id: string }>(
    emulator.url,
    `const t = await db.startTransaction();
     await t.collection('ITEMS').doc('held').set({ data: { v: 1 } });
     return { id: t.getTransactionId ? t.getTransactionId() : t._transaction.getTransactionId() };`,
  );
  const sizes = await runWithSdk<number[]>(
    emulator.url,
    `const c = db.collection('ITEMS');
     const locked = await c.doc('held').set({ data: { v: 2 } }).then(() => 0, () => 1);
     return [(await c.get()).data.length, (await c.limit(1000).get()).data.length, (await c.skip(1000).limit(5).get()).data.length, locked];`,
  );
  expect(sizes).toEqual([100, 1000, 1, 1]);
  expect(store.openTransactionIds()).toEqual([txn.id]);
  await emulator.advanceClock(30_001);
  expect(store.openTransactionIds()).toEqual([]);
  const after = await runWithSdk<number>(
    emulator.url,
    `await db.collection('ITEMS').doc('held').set({ data: { v: 3 } }); return (await db.collection('ITEMS').doc('held').get()).data.v;`,
  );
  expect(after).toBe(3);
  expect(() => store.commitTransaction(txn.id)).toThrow(
    /TransactionNotExist\] Transaction does not exist on the server, transaction must be commit or abort in 30 seconds\. \(wxcloud-emulator: transaction \S+ expired/,
  );
});
