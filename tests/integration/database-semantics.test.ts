import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// Conformance: MongoDB's semantics where code written for the cloud depends on them, through the
// real, unmodified wx-server-sdk. Each expected value comes from MongoDB's manual (the cloud
// database's engine; cited per case) or from the SDK's own sources, never from our output.

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ ...makeProject(), port: 0, inMemory: true });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const FAIL = `const fail = async (p) => { try { const v = await p; return { resolved: v }; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg }; } };`;

test('query operators: elemMatch on embedded documents only, all as an $and of equalities', async () => {
  const r = await runWithSdk<Record<string, string[]>>(
    emulator.url,
    `
    const items = db.collection('ITEMS');
    await items.add({ data: [
      { _id: 'scalars', tags: ['x', 'y'] },
      { _id: 'docWithValue', tags: [{ value: 1 }] },
      { _id: 'docWithout', tags: [{ other: 1 }] },
      { _id: 'scalarX', tags: 'x' },
      { _id: 'r1', results: [82, 85, 88] },
      { _id: 'r2', results: [75, 88, 89] },
    ] });
    const ids = async (q) => (await items.where(q).get()).data.map((d) => d._id).sort();
    return {
      elemMatchField: await ids({ tags: _.elemMatch({ value: _.exists(true) }) }),
      // Raw operators: the SDK serializes a command chain inside elemMatch as its own internals.
      elemMatchOperators: await ids({ results: _.elemMatch({ $gte: 80, $lt: 85 }) }),
      allScalar: await ids({ tags: _.all(['x']) }),
      allTwo: await ids({ tags: _.all(['x', 'y']) }),
    };
  `,
  );
  // MongoDB manual, $elemMatch (query): "matches documents that contain an array field with at
  // least one element that matches all the specified query criteria"; a field condition can only
  // hold for an embedded document, so an array of strings never matches {value: {$exists: true}}.
  expect(r.elemMatchField).toEqual(['docWithValue']);
  // The manual's own example: only [82, 85, 88] has an element >= 80 and < 85.
  expect(r.elemMatchOperators).toEqual(['r1']);
  // MongoDB manual, $all: {tags: {$all: ['x']}} is equivalent to {$and: [{tags: 'x'}]}, which
  // matches an array holding 'x' and a field equal to 'x'.
  expect(r.allScalar).toEqual(['scalarX', 'scalars']);
  expect(r.allTwo).toEqual(['scalars']);
});

test('projection: $slice alone keeps the other fields, an $elemMatch that finds nothing omits the field', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const items = db.collection('ITEMS');
    await items.add({ data: { _id: 'a', name: 'n', arr: [1, 2, 3, 4], objs: [{ v: 1 }, { v: 2 }] } });
    const get = async (projection) => (await items.doc('a').field(projection).get()).data;
    return {
      slice: await get({ arr: _.project.slice(1) }),
      sliceLast: await get({ arr: _.project.slice(-2) }),
      sliceSkip: await get({ arr: _.project.slice([1, 2]), objs: false }),
      sliceWithInclusion: await get({ name: true, arr: _.project.slice(1) }),
      elemMatchHit: await get({ objs: _.project.elemMatch({ v: 2 }) }),
      elemMatchMiss: await get({ objs: _.project.elemMatch({ v: 9 }) }),
    };
  `,
  );
  // MongoDB manual, $slice (projection): a $slice projection on its own is an exclusion
  // projection: every other field comes back; n > 0 the first n, n < 0 the last -n,
  // [skip, limit] skips then limits.
  expect(r.slice).toEqual({ _id: 'a', name: 'n', arr: [1], objs: [{ v: 1 }, { v: 2 }] });
  expect(r.sliceLast).toEqual({ _id: 'a', name: 'n', arr: [3, 4], objs: [{ v: 1 }, { v: 2 }] });
  expect(r.sliceSkip).toEqual({ _id: 'a', name: 'n', arr: [2, 3] });
  // With an inclusion, only the included fields, _id and the sliced array.
  expect(r.sliceWithInclusion).toEqual({ _id: 'a', name: 'n', arr: [1] });
  // MongoDB manual, $elemMatch (projection): only the first matching element; a document with no
  // matching element "does not contain the field".
  expect(r.elemMatchHit).toEqual({ _id: 'a', objs: [{ v: 2 }] });
  expect(r.elemMatchMiss).toEqual({ _id: 'a' });
});

test('updates: a document the query matched is updated, whichever operator matched it', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const items = db.collection('ITEMS');
    await items.add({ data: [
      { _id: 'scalarX', tags: 'x' },
      { _id: 'arrayX', tags: ['x', 'y'] },
      { _id: 'none', tags: ['y'] },
      { _id: 'grades', grades: [85, 80, 80] },
    ] });
    const r = {};
    r.all = await items.where({ tags: _.all(['x']) }).update({ data: { hit: true } });
    r.hits = (await items.where({ hit: true }).get()).data.map((d) => d._id).sort();
    r.positional = await items.where({ _id: 'grades', grades: 80 }).update({ data: { 'grades.$': 82 } });
    r.grades = (await items.doc('grades').get()).data.grades;
    return r;
  `,
  );
  // MongoDB manual, $all: {tags: {$all: ['x']}} is equivalent to {$and: [{tags: 'x'}]}, so it
  // matches tags: 'x' as well as an array holding 'x'; an update applies to every match.
  expect(r.all).toMatchObject({ stats: { updated: 2 } });
  expect(r.hits).toEqual(['arrayX', 'scalarX']);
  // MongoDB manual, $ (update), "Update Values in an Array": {_id: 1, grades: 80} with
  // {$set: {'grades.$': 82}} on [85, 80, 80] updates the first 80 only.
  expect(r.positional).toMatchObject({ stats: { updated: 1 } });
  expect(r.grades).toEqual([85, 82, 80]);
});

test('updates: the positional $ reaches the query; a wrong type refuses the write', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${FAIL}
    const items = db.collection('ITEMS');
    await items.add({ data: [
      { _id: 'p', objs: [{ v: 1 }, { v: 5 }] },
      { _id: 't', n: 'abc', s: 'str', k: 1 },
    ] });
    const r = {};
    r.positional = await items.where({ 'objs.v': 5 }).update({ data: { 'objs.$.w': 'z' } });
    r.afterPositional = (await items.doc('p').get()).data;
    r.inc = await fail(items.doc('t').update({ data: { n: _.inc(1) } }));
    r.mul = await fail(items.doc('t').update({ data: { n: _.mul(2) } }));
    r.push = await fail(items.doc('t').update({ data: { s: _.push(['a']) } }));
    r.incWhere = await fail(items.where({ _id: 't' }).update({ data: { k: _.inc(1), n: _.inc(1) } }));
    r.afterRefused = (await items.doc('t').get()).data;
    return r;
  `,
  );
  // MongoDB manual, $ (update): the positional operator updates the first element the query
  // matched: objs.1 here.
  expect(r.positional).toMatchObject({ stats: { updated: 1 } });
  expect(r.afterPositional).toEqual({ _id: 'p', objs: [{ v: 1 }, { v: 5, w: 'z' }] });
  // MongoDB refuses the write (TypeMismatch): "Cannot apply $inc to a value of non-numeric type";
  // $push: "The field 's' must be an array but is of type string". The cloud hands the database's
  // error back as DATABASE_REQUEST_FAILED (-502001).
  expect(r.inc).toMatchObject({
    errCode: -502001,
    errMsg: expect.stringContaining('Cannot apply $inc to a value of non-numeric type'),
  });
  expect(r.mul).toMatchObject({
    errCode: -502001,
    errMsg: expect.stringContaining('Cannot apply $mul to a value of non-numeric type'),
  });
  expect(r.push).toMatchObject({
    errCode: -502001,
    errMsg: expect.stringContaining("The field 's' must be an array but is of type string"),
  });
  expect(r.incWhere).toMatchObject({ errCode: -502001 });
  // Nothing was written, not even the valid $inc of k in the same update.
  expect(r.afterRefused).toEqual({ _id: 't', n: 'abc', s: 'str', k: 1 });
});

test('field names starting with $ or holding a dot are refused and nothing is stored', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${FAIL}
    const items = db.collection('ITEMS');
    const r = {};
    r.dollar = await fail(items.add({ data: { $_key: 1 } }));
    r.nestedDollar = await fail(items.add({ data: { a: { $b: 1 } } }));
    r.dotted = await fail(items.doc('d').set({ data: { 'a.b': 1 } }));
    r.count = (await items.count()).total;
    r.queryable = (await items.where({ a: 1 }).get()).data;
    return r;
  `,
  );
  // MongoDB 4.x storage validation: "The dollar ($) prefixed field '$_key' in '$_key' is not
  // valid for storage." and "The dotted field 'a.b' in 'a.b' is not valid for storage."
  expect(r.dollar).toMatchObject({
    errCode: -502001,
    errMsg: expect.stringContaining(
      "The dollar ($) prefixed field '$_key' in '$_key' is not valid for storage.",
    ),
  });
  expect(r.nestedDollar).toMatchObject({
    errMsg: expect.stringContaining("The dollar ($) prefixed field '$b' in 'a.$b'"),
  });
  expect(r.dotted).toMatchObject({
    errMsg: expect.stringContaining("The dotted field 'a.b' in 'a.b' is not valid for storage."),
  });
  expect(r.count).toBe(0);
  expect(r.queryable).toEqual([]);
});

test('jsonSchema and text search answer the not-emulated error naming them', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${FAIL}
    const items = db.collection('ITEMS');
    await items.add({ data: { _id: 'x', n: 1 } });
    return {
      jsonSchema: await fail(items.where(_.jsonSchema({ required: ['n'] })).get()),
      text: await fail(items.where({ $text: { $search: 'coffee' } }).get()),
    };
  `,
  );
  // The emulator's own wording (FEATURE_NOT_EMULATED, errCode -501001: the SDK's code for an
  // unknown backend code).
  expect(r.jsonSchema).toMatchObject({
    errCode: -501001,
    errMsg: expect.stringContaining(
      'wxcloud-emulator does not emulate the $jsonSchema query operator',
    ),
  });
  expect(r.text).toMatchObject({
    errCode: -501001,
    errMsg: expect.stringContaining('wxcloud-emulator does not emulate the $text query operator'),
  });
});

test('ObjectId: stored, queried and answered as EJSON {"$oid"}', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    // wx-server-sdk does not re-export db.ObjectId; its inner @cloudbase/database Db (what
    // @cloudbase/node-sdk's app.database() is) does.
    const ObjectId = db._db.ObjectId;
    const oid = ObjectId({ id: '5f0000000000000000000001' });
    const other = ObjectId({ id: '5f0000000000000000000002' });
    const items = db.collection('ITEMS');
    await items.add({ data: [{ _id: 'a', ref: oid, refs: [oid, other] }, { _id: 'b', ref: other }] });
    const ids = async (q) => (await items.where(q).get()).data.map((d) => d._id).sort();
    return {
      equal: await ids({ ref: oid }),
      notEqual: await ids({ ref: _.neq(oid) }),
      inList: await ids({ ref: _.in([other]) }),
      arrayContains: await ids({ refs: other }),
      matchStage: (await items.aggregate().match({ ref: oid }).project({ _id: 1 }).end()).list,
    };
  `,
  );
  expect(r).toEqual({
    equal: ['a'],
    notEqual: ['b'],
    inList: ['b'],
    arrayContains: ['a'],
    matchStage: [{ _id: 'a' }],
  });
  // On the wire the document carries canonical EJSON ObjectIds (MongoDB Extended JSON v2:
  // {"$oid": "<24 hex>"}), as the SDK sent them; the control API shows the same in relaxed form.
  const res = await fetch(`${emulator.url}/admin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      action: 'database.getDocument',
      collectionName: 'ITEMS',
      queryType: 'DOC',
      query: JSON.stringify({ _id: 'a' }),
    }),
  });
  const answer = (await res.json()) as { data: { list: string[] } };
  expect(JSON.parse(answer.data.list[0])).toEqual({
    _id: 'a',
    ref: { $oid: '5f0000000000000000000001' },
    refs: [{ $oid: '5f0000000000000000000001' }, { $oid: '5f0000000000000000000002' }],
  });
});

test('mod and expr in where()', async () => {
  const r = await runWithSdk<Record<string, string[]>>(
    emulator.url,
    `
    const $ = _.aggregate;
    const items = db.collection('ITEMS');
    await items.add({ data: [
      { _id: 'q0', qty: 0, a: 1, b: 2 },
      { _id: 'q5', qty: 5, a: 3, b: 2 },
      { _id: 'q12', qty: 12, a: 5, b: 5 },
    ] });
    const ids = async (q) => (await items.where(q).get()).data.map((d) => d._id).sort();
    return {
      mod: await ids({ qty: _.mod([4, 0]) }),
      expr: await ids(_.expr($.gt(['$a', '$b']))),
    };
  `,
  );
  // MongoDB manual, $mod: {qty: {$mod: [4, 0]}} selects qty 0 and 12 (remainder 0 when divided by 4).
  expect(r.mod).toEqual(['q0', 'q12']);
  // MongoDB manual, $expr: documents whose field a is greater than field b.
  expect(r.expr).toEqual(['q5']);
});

test('a mini-program client gets at most 20 records per query, a cloud function up to 1000', async () => {
  emulator.services.database.store.insert(
    'ITEMS',
    Array.from({ length: 30 }, (_, i) => ({ _id: `i${i}`, n: i })),
  );
  const get = async (path: string, headers: Record<string, string>): Promise<number> => {
    const res = await fetch(`${emulator.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        action: 'database.getDocument',
        collectionName: 'ITEMS',
        queryType: 'WHERE',
        limit: 100,
      }),
    });
    return ((await res.json()) as { data: { list: unknown[] } }).data.list.length;
  };
  // Collection.limit: "limit 在小程序端默认及最大上限为 20，在云函数端默认及最大上限为 1000".
  expect(await get('/admin/client', { 'x-wxcloud-openid': 'o-limit-user' })).toBe(20);
  expect(await get('/admin', {})).toBe(30);
});
