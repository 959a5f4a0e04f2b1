import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// Conformance: the real, unmodified wx-server-sdk against the emulated database. Each script
// batches many calls (loading the SDK costs ~0.3 s); results are asserted exactly.

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ ...makeProject(), port: 0, inMemory: true });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

interface SdkError {
  errCode: number;
  errMsg: string;
}

test('add, doc get/set/update/remove, where get/update/remove/count, paging and errors', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const r = {};
    const fail = async (p) => { try { await p; return 'no error'; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg }; } };
    const items = db.collection('ITEMS');
    const added = await items.add({ data: { name: 'a', n: 3, tags: ['x'] } });
    r.added = { idLength: added._id.length, errMsg: added.errMsg };
    r.get = await items.doc(added._id).get();
    r.get.data._id = r.get.data._id === added._id;
    r.setNew = await items.doc('fixed-1').set({ data: { name: 'b', n: 1 } });
    r.setExisting = await items.doc('fixed-1').set({ data: { name: 'b2' } });
    r.afterSet = (await items.doc('fixed-1').get()).data;
    r.update = await items.doc('fixed-1').update({ data: { n: 7, 'deep.x': 1 } });
    r.updateSame = await items.doc('fixed-1').update({ data: { n: 7 } });
    r.afterUpdate = (await items.doc('fixed-1').get()).data;
    for (let i = 0; i < 5; i++) await items.add({ data: { name: 'p' + i, n: 10 + i } });
    r.paged = (await items.where({ n: _.gte(10) }).orderBy('n', 'desc').skip(1).limit(2).field({ name: true }).get()).data;
    r.fieldExclude = (await items.doc('fixed-1').field({ deep: false }).get()).data;
    r.ordered = (await items.orderBy('name', 'asc').orderBy('n', 'asc').limit(3).get()).data.map((d) => d.name);
    r.count = await items.where({ n: _.gte(10) }).count();
    r.countAll = (await items.count()).total;
    r.whereUpdate = await items.where({ n: _.gte(12) }).update({ data: { big: true } });
    r.bigCount = (await items.where({ big: true }).count()).total;
    r.whereRemove = await items.where({ big: true }).remove();
    r.docRemove = await items.doc('fixed-1').remove();
    r.docRemoveAgain = await items.doc('fixed-1').remove();
    r.left = (await items.get()).data.map((d) => d.name).sort();
    r.missingDoc = await fail(items.doc('no-such-doc').get());
    r.missingCollection = await fail(db.collection('NO_SUCH').get());
    r.missingCollectionAdd = await fail(db.collection('NO_SUCH').add({ data: { a: 1 } }));
    const logs = db.collection('USERPAYLOG');
    await logs.add({ data: { tradeno: 'T1', totalfee: 1 } });
    r.duplicate = await fail(logs.add({ data: { tradeno: 'T1', totalfee: 2 } }));
    await logs.add({ data: { totalfee: 3 } });
    r.duplicateMissingField = await fail(logs.add({ data: { totalfee: 4 } }));
    r.duplicateByUpdate = await fail(logs.where({ totalfee: 3 }).update({ data: { tradeno: 'T1' } }));
    r.logs = (await logs.orderBy('totalfee', 'asc').get()).data.map((d) => [d.tradeno || null, d.totalfee]);
    r.created = await db.createCollection('NEWCOLL');
    r.newColl = (await db.collection('NEWCOLL').count()).total;
    return r;
  `,
  );
  expect(r.added).toEqual({ idLength: 32, errMsg: 'collection.add:ok' });
  expect(r.get).toEqual({
    data: { _id: true, name: 'a', n: 3, tags: ['x'] },
    errMsg: 'document.get:ok',
  });
  expect(r.setNew).toEqual({
    _id: 'fixed-1',
    errMsg: 'document.set:ok',
    stats: { updated: 0, created: 1 },
  });
  expect(r.setExisting).toEqual({
    _id: 'fixed-1',
    errMsg: 'document.set:ok',
    stats: { updated: 1, created: 0 },
  });
  // set() replaces the whole document: `n` is gone.
  expect(r.afterSet).toEqual({ _id: 'fixed-1', name: 'b2' });
  expect(r.update).toEqual({ stats: { updated: 1 }, errMsg: 'document.update:ok' });
  // Nothing changed, nothing counted (MongoDB's nModified).
  expect(r.updateSame).toEqual({ stats: { updated: 0 }, errMsg: 'document.update:ok' });
  expect(r.afterUpdate).toEqual({ _id: 'fixed-1', name: 'b2', n: 7, deep: { x: 1 } });
  expect(r.paged).toEqual([
    { _id: expect.any(String), name: 'p3' },
    { _id: expect.any(String), name: 'p2' },
  ]);
  expect(r.fieldExclude).toEqual({ _id: 'fixed-1', name: 'b2', n: 7 });
  expect(r.ordered).toEqual(['a', 'b2', 'p0']);
  expect(r.count).toEqual({ total: 5, errMsg: 'collection.count:ok' });
  expect(r.countAll).toBe(7);
  expect(r.whereUpdate).toEqual({ stats: { updated: 3 }, errMsg: 'collection.update:ok' });
  expect(r.bigCount).toBe(3);
  expect(r.whereRemove).toEqual({ stats: { removed: 3 }, errMsg: 'collection.remove:ok' });
  expect(r.docRemove).toEqual({ stats: { removed: 1 }, errMsg: 'document.remove:ok' });
  expect(r.docRemoveAgain).toEqual({ stats: { removed: 0 }, errMsg: 'document.remove:ok' });
  expect(r.left).toEqual(['a', 'p0', 'p1']);
  expect(r.missingDoc).toEqual<SdkError>({
    errCode: -1,
    errMsg: 'document.get:fail document with _id no-such-doc does not exist',
  });
  const notExist = (api: string): SdkError => ({
    errCode: -502005,
    errMsg: expect.stringMatching(
      new RegExp(
        `^${api}:fail -502005 database collection not exists\\. \\[ResourceNotFound\\] Db or Table not exist: NO_SUCH`,
      ),
    ) as unknown as string,
  });
  expect(r.missingCollection).toEqual(notExist('collection.get'));
  expect(r.missingCollectionAdd).toEqual(notExist('collection.add'));
  expect(r.duplicate).toEqual<SdkError>({
    errCode: -502001,
    errMsg:
      'collection.add:fail -502001 database request fail. E11000 duplicate key error collection: USERPAYLOG index: tradeno_1 dup key: {"tradeno":"T1"}',
  });
  expect(r.duplicateMissingField).toEqual<SdkError>({
    errCode: -502001,
    errMsg:
      'collection.add:fail -502001 database request fail. E11000 duplicate key error collection: USERPAYLOG index: tradeno_1 dup key: {"tradeno":null}',
  });
  expect((r.duplicateByUpdate as SdkError).errCode).toBe(-502001);
  // Nothing the failed writes carried was stored.
  expect(r.logs).toEqual([
    ['T1', 1],
    [null, 3],
  ]);
  expect(r.created).toEqual({ errMsg: 'createCollection:ok', requestId: expect.any(String) });
  expect(r.newColl).toBe(0);
});

test('query and update operators, nested paths, arrays, regex and serverDate', async () => {
  const before = emulator.clock.now();
  await emulator.advanceClock(60_000);
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const c = db.collection('ITEMS');
    const docs = [
      { _id: 'a', n: 1, s: 'Apple', tags: ['red', 'fruit'], o: { k: 1, deep: { v: 'x' } }, list: [{ q: 1 }, { q: 5 }] },
      { _id: 'b', n: 2, s: 'banana', tags: ['yellow', 'fruit', 'long'], o: { k: 2 }, list: [{ q: 2 }] },
      { _id: 'c', n: 3, s: 'Cherry', tags: [], extra: null },
      { _id: 'd', n: 4, s: 'date', tags: ['brown'] },
    ];
    for (const d of docs) await c.add({ data: d });
    const ids = async (q) => (await c.where(q).orderBy('_id', 'asc').get()).data.map((d) => d._id).join(',');
    const r = {};
    r.eq = await ids({ n: _.eq(2) });
    r.neq = await ids({ n: _.neq(2) });
    r.gtlt = await ids({ n: _.gt(1).and(_.lt(4)) });
    r.gtelte = await ids({ n: _.gte(2), s: _.exists(true) , o: _.exists(false) });
    r.in = await ids({ n: _.in([1, 4]) });
    r.nin = await ids({ n: _.nin([1, 4]) });
    r.or = await ids(_.or([{ n: 1 }, { s: 'date' }]));
    r.and = await ids(_.and([{ n: _.gt(1) }, { n: _.lt(3) }]));
    r.nor = await ids(_.nor([{ n: 1 }, { n: 2 }]));
    r.not = await ids({ n: _.not(_.gt(2)) });
    r.fieldOr = await ids({ n: _.lt(2).or(_.gt(3)) });
    r.exists = await ids({ extra: _.exists(true) });
    r.nested = await ids({ 'o.deep.v': 'x' });
    r.nestedObj = await ids({ o: { k: 2 } });
    r.arrayContains = await ids({ tags: 'fruit' });
    r.all = await ids({ tags: _.all(['fruit', 'long']) });
    r.size = await ids({ tags: _.size(0) });
    r.elemMatch = await ids({ list: _.elemMatch({ q: _.gt(4) }) });
    r.regexLiteral = await ids({ s: /^a|^b/i });
    r.dbRegExp = await ids({ s: db.RegExp({ regexp: 'rr', options: 'i' }) });
    r.dbRegExpCase = await ids({ s: db.RegExp({ regexp: '^c' }) });
    await c.doc('a').update({ data: {
      n: _.inc(10), m: _.mul(3), o: { k: _.remove() }, low: _.min(5), high: _.max(5),
      tags: _.push(['green']), list: _.pull({ q: 1 }), s: _.set('APPLE'),
    } });
    await c.doc('b').update({ data: { tags: _.addToSet('fruit'), 'o.k': _.inc(1) } });
    await c.doc('b').update({ data: { tags: _.addToSet('new') } });
    await c.doc('c').update({ data: { tags: _.push({ each: ['x', 'y', 'z'], position: 0 }) } });
    await c.doc('c').update({ data: { tags: _.pop() } });
    await c.doc('d').update({ data: { tags: _.shift() } });
    await c.doc('d').update({ data: { tags: _.unshift(['first']) } });
    await c.doc('d').update({ data: { tags: _.pullAll(['first']), n: _.rename('number') } });
    await c.doc('b').update({ data: { low: _.min(1), high: _.max(1) } });
    r.a = (await c.doc('a').get()).data;
    r.b = (await c.doc('b').get()).data;
    r.c = (await c.doc('c').get()).data.tags;
    r.d = (await c.doc('d').get()).data;
    const stamped = await c.add({ data: { kind: 'stamp', at: db.serverDate(), later: db.serverDate({ offset: 1000 }) } });
    const s = (await c.doc(stamped._id).get()).data;
    r.stamp = { isDate: s.at instanceof Date, at: s.at.getTime(), later: s.later.getTime() };
    await c.doc(stamped._id).update({ data: { touched: db.serverDate() } });
    r.touchedIsDate = (await c.doc(stamped._id).get()).data.touched instanceof Date;
    r.pastStamps = (await c.where({ at: _.lte(db.serverDate()) }).count()).total;
    r.futureStamps = (await c.where({ at: _.gt(db.serverDate({ offset: 5000 })) }).count()).total;
    r.dateQuery = (await c.where({ at: _.lt(new Date(s.at.getTime() + 1)) }).count()).total;
    return r;
  `,
  );
  expect(r).toMatchObject({
    eq: 'b',
    neq: 'a,c,d',
    gtlt: 'b,c',
    gtelte: 'c,d',
    in: 'a,d',
    nin: 'b,c',
    or: 'a,d',
    and: 'b',
    nor: 'c,d',
    not: 'a,b',
    fieldOr: 'a,d',
    exists: 'c',
    nested: 'a',
    nestedObj: 'b',
    arrayContains: 'a,b',
    all: 'b',
    size: 'c',
    elemMatch: 'a',
    regexLiteral: 'a,b',
    dbRegExp: 'c',
    dbRegExpCase: '',
  });
  expect(r.a).toEqual({
    _id: 'a',
    n: 11,
    s: 'APPLE',
    tags: ['red', 'fruit', 'green'],
    o: { deep: { v: 'x' } },
    list: [{ q: 5 }],
    // $mul on a missing field sets 0, $min/$max on a missing field set the value (MongoDB).
    m: 0,
    low: 5,
    high: 5,
  });
  expect(r.b).toEqual({
    _id: 'b',
    n: 2,
    s: 'banana',
    tags: ['yellow', 'fruit', 'long', 'new'],
    o: { k: 3 },
    list: [{ q: 2 }],
    low: 1,
    high: 1,
  });
  expect(r.c).toEqual(['x', 'y']);
  expect(r.d).toEqual({ _id: 'd', number: 4, s: 'date', tags: [] });
  const stamp = r.stamp as { isDate: boolean; at: number; later: number };
  expect(stamp.isDate).toBe(true);
  // serverDate is the emulated clock (advanced a minute), not the caller's.
  expect(stamp.at).toBeGreaterThanOrEqual(before + 60_000);
  expect(stamp.later - stamp.at).toBe(1000);
  expect(r.touchedIsDate).toBe(true);
  expect(r.pastStamps).toBe(1);
  expect(r.futureStamps).toBe(0);
  expect(r.dateQuery).toBe(1);
});

test('transactions: runTransaction, rollback, snapshot isolation, conflicts, atomic commit', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const r = {};
    const fail = async (p) => { try { await p; return 'no error'; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg }; } };
    const items = db.collection('ITEMS');
    await items.add({ data: { _id: 'acct-a', amount: 100 } });
    await items.add({ data: { _id: 'acct-b', amount: 0 } });
    r.run = await db.runTransaction(async (t) => {
      const a = (await t.collection('ITEMS').doc('acct-a').get()).data;
      await t.collection('ITEMS').doc('acct-a').update({ data: { amount: a.amount - 10 } });
      await t.collection('ITEMS').doc('acct-b').update({ data: { amount: _.inc(10) } });
      const added = await t.collection('ITEMS').add({ data: { _id: 'receipt-1', amount: 10 } });
      // Inside the transaction its own writes are visible; outside, not yet.
      r.insideSeesOwn = (await t.collection('ITEMS').doc('acct-a').get()).data.amount;
      r.outsideBeforeCommit = (await items.doc('acct-a').get()).data.amount;
      return { moved: 10, added: added._id };
    });
    r.afterRun = (await items.where({ _id: _.in(['acct-a', 'acct-b', 'receipt-1']) }).orderBy('_id', 'asc').get()).data.map((d) => d.amount);
    try {
      await db.runTransaction(async (t) => {
        await t.collection('ITEMS').doc('acct-a').update({ data: { amount: 0 } });
        await t.rollback('not enough');
      });
      r.rollback = 'resolved';
    } catch (e) {
      r.rollback = e;
    }
    r.afterRollback = (await items.doc('acct-a').get()).data.amount;

    // Snapshot isolation and conflicts with two explicit transactions.
    const t1 = await db.startTransaction();
    const t2 = await db.startTransaction();
    r.t1Reads = (await t1.collection('ITEMS').doc('acct-b').get()).data.amount;
    await items.doc('acct-b').update({ data: { amount: 55 } });
    r.t1StillReads = (await t1.collection('ITEMS').doc('acct-b').get()).data.amount;
    r.t1WriteAfterOutsideCommit = await fail(t1.collection('ITEMS').doc('acct-b').update({ data: { amount: 1 } }));
    await t1.collection('ITEMS').doc('acct-a').update({ data: { amount: 1 } });
    r.conflict = await fail(t2.collection('ITEMS').doc('acct-a').update({ data: { amount: 2 } }));
    r.plainWriteToLocked = await fail(items.doc('acct-a').update({ data: { amount: 3 } }));
    r.t2Set = await t2.collection('ITEMS').doc('acct-new').set({ data: { amount: 9 } });
    await t1.commit();
    await t2.rollback();
    r.afterTwo = (await items.where({ _id: _.in(['acct-a', 'acct-b', 'acct-new']) }).orderBy('_id', 'asc').get()).data.map((d) => [d._id, d.amount]);
    r.conflictInRunTransaction = await fail(db.runTransaction(async (t) => {
      const t3 = await db.startTransaction();
      await t3.collection('ITEMS').doc('acct-b').update({ data: { amount: 0 } });
      try {
        await t.collection('ITEMS').doc('acct-b').update({ data: { amount: 1 } });
      } finally {
        await t3.rollback();
      }
    }));

    // A commit that would break a unique index writes nothing.
    await db.collection('USERPAYLOG').add({ data: { tradeno: 'T1' } });
    const t4 = await db.startTransaction();
    await t4.collection('USERPAYLOG').add({ data: { tradeno: 'T2' } });
    await db.collection('USERPAYLOG').add({ data: { tradeno: 'T2b' } });
    await t4.collection('USERPAYLOG').doc('log-x').set({ data: { tradeno: 'T3' } });
    const t5 = await db.startTransaction();
    await t5.collection('USERPAYLOG').add({ data: { tradeno: 'T3' } });
    await t4.commit();
    try { await t5.commit(); r.uniqueAtCommit = 'committed'; } catch (e) { r.uniqueAtCommit = { code: e.code, message: e.message, errCode: e.errCode }; }
    r.logs = (await db.collection('USERPAYLOG').orderBy('tradeno', 'asc').get()).data.map((d) => d.tradeno);
    r.useAfterEnd = await fail(t5.collection('USERPAYLOG').doc('log-x').get());
    return r;
  `,
  );
  expect(r.run).toEqual({ moved: 10, added: 'receipt-1' });
  expect(r.insideSeesOwn).toBe(90);
  expect(r.outsideBeforeCommit).toBe(100);
  expect(r.afterRun).toEqual([90, 10, 10]);
  // rollback(reason) rejects runTransaction with the reason itself, and nothing is written.
  expect(r.rollback).toBe('not enough');
  expect(r.afterRollback).toBe(90);
  expect(r.t1Reads).toBe(10);
  expect(r.t1StillReads).toBe(10);
  const conflict = {
    errCode: -501001,
    errMsg: expect.stringMatching(
      /^document\.update:fail -501001 resource system error\. \[ResourceUnavailable\.TransactionConflict\] Transaction is conflict/,
    ) as unknown as string,
  };
  expect(r.t1WriteAfterOutsideCommit).toEqual(conflict);
  expect(r.conflict).toEqual(conflict);
  expect(r.plainWriteToLocked).toEqual(conflict);
  // In a transaction @cloudbase/database answers `upserted: [...]`, not `upsertedId`, so the
  // wx-server-sdk reports created: 0 even though the document is new (an SDK quirk, kept).
  expect(r.t2Set).toEqual({
    _id: 'acct-new',
    errMsg: 'document.set:ok',
    stats: { updated: 0, created: 0 },
  });
  expect(r.afterTwo).toEqual([
    ['acct-a', 1],
    ['acct-b', 55],
  ]);
  // wx-server-sdk turns the conflict into a generic SDK error, so runTransaction does not retry.
  expect(r.conflictInRunTransaction).toEqual(conflict);
  // commit() hands back the backend's raw {code, message} (the wrapper does not await it).
  expect(r.uniqueAtCommit).toEqual({
    code: 'DATABASE_REQUEST_FAILED',
    message: expect.stringContaining(
      'E11000 duplicate key error collection: USERPAYLOG index: tradeno_1',
    ) as unknown as string,
  });
  expect(r.logs).toEqual(['T1', 'T2', 'T2b', 'T3']);
  // The cloud's TransactionNotExist message, then the emulator's reason.
  expect((r.useAfterEnd as SdkError).errMsg).toMatch(
    /\[ResourceUnavailable\.TransactionNotExist\] Transaction does not exist on the server.*aborted because its commit failed/,
  );
});
