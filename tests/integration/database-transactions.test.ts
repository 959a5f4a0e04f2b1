import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// Conformance: updateAndReturn and transactions through the real SDKs. updateAndReturn is
// @cloudbase/database's Query.updateAndReturn (action database.modifyAndReturnDoc), reached
// through @cloudbase/node-sdk (the package wx-server-sdk wraps; wx-server-sdk 4.0.2 does not
// re-export it). Its answer shape is the SDK's own: {updated, doc}.

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ ...makeProject(), port: 0, inMemory: true });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const NODE_SDK = `
  const tcb = require(require.resolve('@cloudbase/node-sdk', { paths: [require.resolve('wx-server-sdk')] }));
  const app = tcb.init({ env: tcb.SYMBOL_CURRENT_ENV });
  const tdb = app.database();
  const $ = tdb.command;
  const strip = ({ requestId, ...rest }) => rest;
`;

test('updateAndReturn: the updated document back, atomically, also inside a transaction', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${NODE_SDK}
    const items = tdb.collection('ITEMS');
    await items.add([{ _id: 'c', n: 1, tag: 'x' }, { _id: 'd', n: 100, tag: 'y' }]);
    const r = {};
    r.plain = strip(await items.where({ tag: 'x' }).updateAndReturn({ n: $.inc(1) }));
    r.noMatch = strip(await items.where({ tag: 'nothing' }).updateAndReturn({ n: $.inc(1) }));
    // Twenty at once: MongoDB's findOneAndUpdate is atomic, so each caller sees its own value.
    const all = await Promise.all(Array.from({ length: 20 }, () => items.where({ _id: 'd' }).updateAndReturn({ n: $.inc(1) })));
    r.concurrent = all.map((a) => a.doc.n).sort((a, b) => a - b);
    const t = await tdb.startTransaction();
    r.inTxn = strip(await t.collection('ITEMS').where({ _id: 'c' }).updateAndReturn({ n: $.inc(10) }));
    r.outsideBeforeCommit = (await items.doc('c').get()).data[0].n;
    r.inTxnAgain = strip(await t.collection('ITEMS').where({ _id: 'c' }).updateAndReturn({ seen: true }));
    await t.commit();
    r.afterCommit = (await items.doc('c').get()).data[0];
    const t2 = await tdb.startTransaction();
    await t2.collection('ITEMS').where({ _id: 'c' }).updateAndReturn({ n: $.inc(1000) });
    await t2.rollback();
    r.afterRollback = (await items.doc('c').get()).data[0].n;
    return r;
  `,
  );
  expect(r.plain).toEqual({ updated: 1, doc: { _id: 'c', n: 2, tag: 'x' } });
  expect(r.noMatch).toEqual({ updated: 0, doc: null });
  expect(r.concurrent).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));
  expect(r.inTxn).toEqual({ updated: 1, doc: { _id: 'c', n: 12, tag: 'x' } });
  // Snapshot isolation: outside the transaction the write is not visible before the commit.
  expect(r.outsideBeforeCommit).toBe(2);
  expect(r.inTxnAgain).toEqual({ updated: 1, doc: { _id: 'c', n: 12, tag: 'x', seen: true } });
  expect(r.afterCommit).toEqual({ _id: 'c', n: 12, tag: 'x', seen: true });
  expect(r.afterRollback).toBe(12);
});

test('a transaction snapshot starts at its first operation, not at startTransaction', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const items = db.collection('ITEMS');
    const t = await db.startTransaction();
    // Committed after startTransaction but before the transaction's first operation: visible.
    await items.add({ data: { _id: 'early', v: 1 } });
    const r = {};
    r.early = (await t.collection('ITEMS').doc('early').get()).data;
    // Committed after the first operation: the transaction keeps its snapshot.
    await items.doc('early').update({ data: { v: 2 } });
    await items.add({ data: { _id: 'late', v: 1 } });
    r.earlyAgain = (await t.collection('ITEMS').doc('early').get()).data;
    r.late = await t.collection('ITEMS').doc('late').get().then((x) => x.data, (e) => 'missing');
    await t.rollback();
    return r;
  `,
  );
  // MongoDB manual ("Read Concern "snapshot"", transactions): the snapshot is established at the
  // transaction's first operation, so a commit in between is visible and later ones are not.
  expect(r.early).toEqual({ _id: 'early', v: 1 });
  expect(r.earlyAgain).toEqual({ _id: 'early', v: 1 });
  expect(r.late).toBe('missing');
});

test('ended, expired and conflicting transactions answer the cloud code and message', async () => {
  const notExist =
    '[ResourceUnavailable.TransactionNotExist] Transaction does not exist on the server, transaction must be commit or abort in 30 seconds.';
  const r = await runWithSdk<
    Record<string, { errCode?: number; errMsg?: string; code?: string; message?: string } | string>
  >(
    emulator.url,
    `
    const fail = async (p) => { try { await p; return 'no error'; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg, code: e.code, message: e.message }; } };
    const items = db.collection('ITEMS');
    await items.add({ data: [{ _id: 'a', v: 0 }, { _id: 'b', v: 0 }] });
    const r = {};
    const committed = await db.startTransaction();
    await committed.collection('ITEMS').doc('a').update({ data: { v: 1 } });
    await committed.commit();
    r.afterCommit = await fail(committed.collection('ITEMS').doc('a').get());
    const aborted = await db.startTransaction();
    await aborted.rollback();
    r.afterAbort = await fail(aborted.collection('ITEMS').doc('a').get());
    // Two open transactions write one document: the second conflicts with the first.
    const first = await db.startTransaction();
    const second = await db.startTransaction();
    await first.collection('ITEMS').doc('b').update({ data: { v: 1 } });
    r.lockConflict = await fail(second.collection('ITEMS').doc('b').update({ data: { v: 2 } }));
    await first.rollback();
    await second.rollback();
    // No other transaction: a plain write committed after the transaction's first operation.
    const lone = await db.startTransaction();
    await lone.collection('ITEMS').doc('b').get();
    await items.doc('b').update({ data: { v: 5 } });
    r.snapshotConflict = await fail(lone.collection('ITEMS').doc('b').update({ data: { v: 6 } }));
    await lone.rollback();
    return r;
  `,
  );
  // wx-server-sdk has no errCode for the transaction codes: SYS_ERR, -501001.
  for (const key of ['afterCommit', 'afterAbort']) {
    expect(r[key]).toMatchObject({ errCode: -501001, errMsg: expect.stringContaining(notExist) });
  }
  expect((r.afterCommit as { errMsg: string }).errMsg).toContain('committed');
  expect((r.afterAbort as { errMsg: string }).errMsg).toContain('aborted');
  const conflict =
    '[ResourceUnavailable.TransactionConflict] Transaction is conflict, maybe resource operated by others.';
  expect(r.lockConflict).toMatchObject({
    errCode: -501001,
    errMsg: expect.stringContaining(conflict),
  });
  expect((r.lockConflict as { errMsg: string }).errMsg).toContain('another open transaction');
  expect(r.snapshotConflict).toMatchObject({ errMsg: expect.stringContaining(conflict) });
  // No other transaction exists: the message must not claim one.
  expect((r.snapshotConflict as { errMsg: string }).errMsg).not.toMatch(/another|open transaction/);
  expect((r.snapshotConflict as { errMsg: string }).errMsg).toContain(
    "was changed by a write committed after this transaction's first operation",
  );

  // The lifetime is 30 s from startTransaction (the cloud's message says so), on the emulated clock.
  const store = emulator.services.database.store;
  const txn = store.startTransaction();
  await emulator.advanceClock(29_000);
  expect(store.openTransactionIds()).toEqual([txn]);
  await emulator.advanceClock(1_001);
  let thrown: unknown;
  try {
    store.commitTransaction(txn);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toMatchObject({
    code: 'DATABASE_TRANSACTION_FAIL',
    message: expect.stringContaining(notExist),
  });
});
