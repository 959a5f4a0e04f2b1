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
