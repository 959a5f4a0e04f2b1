import { createWx } from '../../emulator/src';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// Conformance: aggregate() from the real, unmodified wx-server-sdk and from createWx (the
// mini-program client) against the emulated database. Expected values come from the examples of
// the WeChat Cloud docs (reference-sdk-api/database/aggregate/Aggregate.*) or, where the docs give
// none, from the definitions in MongoDB's manual (reference/operator/aggregation/*), worked by hand.

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({
    ...makeProject({
      ARTICLES: { rules: { read: true, write: false } },
      ORDERS: { rules: { read: true, write: false } },
    }),
    port: 0,
    inMemory: true,
  });
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

// The articles of the docs' Aggregate.match example.
const ARTICLES = `[
  { _id: '1', author: 'stark', score: 80 },
  { _id: '2', author: 'stark', score: 85 },
  { _id: '3', author: 'bob', score: 60 },
  { _id: '4', author: 'li', score: 55 },
  { _id: '5', author: 'jimmy', score: 60 },
  { _id: '6', author: 'li', score: 94 },
  { _id: '7', author: 'justan', score: 95 },
]`;

const FAIL = `const fail = async (p) => { try { await p; return 'no error'; } catch (e) { return { errCode: e.errCode, errMsg: e.errMsg }; } };`;

test('every documented stage from wx-server-sdk', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${FAIL}
    const $ = _.aggregate;
    const articles = db.collection('ARTICLES');
    await articles.add({ data: ${ARTICLES} });
    await db.collection('ORDERS').add({ data: [
      { _id: 'o1', sku: 'a', items: [{ sku: 'a', qty: 2 }, { sku: 'b', qty: 1 }], ship: { city: 'SZ', zip: '518000' } },
      { _id: 'o2', sku: 'b', items: [], ship: { city: 'BJ', zip: '100000' } },
      { _id: 'o3', sku: 'z', ship: { city: 'SH', zip: '200000' } },
    ] });
    await db.collection('ITEMS').add({ data: [
      { _id: 'a', name: 'Apple', stock: 5 },
      { _id: 'b', name: 'Banana', stock: 0 },
    ] });
    const r = {};
    r.match = (await articles.aggregate().match({ author: 'stark' }).end()).list;
    r.matchCommand = (await articles.aggregate().match({ score: _.gt(80) }).group({ _id: null, count: $.sum(1) }).end()).list;
    r.count = (await articles.aggregate().match({ score: _.gte(80) }).count('total').end()).list;
    r.sortSkipLimitProject = (await articles.aggregate().sort({ score: -1 }).skip(1).limit(2).project({ _id: 0, author: 1 }).end()).list;
    r.addFields = (await articles.aggregate().match({ _id: '1' }).addFields({ double: $.multiply(['$score', 2]) }).end()).list;
    r.sortByCount = (await articles.aggregate().sortByCount('$author').limit(2).end()).list;
    r.bucket = (await articles.aggregate().sort({ _id: 1 }).bucket({
      groupBy: '$score', boundaries: [0, 60, 90], default: 'other',
      output: { count: $.sum(1), ids: $.push('$_id') },
    }).end()).list;
    r.bucketAuto = (await articles.aggregate().bucketAuto({ groupBy: '$score', buckets: 2 }).end()).list;
    r.sample = (await articles.aggregate().sample({ size: 2 }).end()).list;
    const orders = db.collection('ORDERS');
    r.replaceRoot = (await orders.aggregate().sort({ _id: 1 }).replaceRoot({ newRoot: '$ship' }).end()).list;
    r.unwind = (await orders.aggregate().unwind('$items').end()).list;
    r.unwindPreserve = (await orders.aggregate().sort({ _id: 1 }).unwind({ path: '$items', includeArrayIndex: 'idx', preserveNullAndEmptyArrays: true }).project({ ship: 0 }).end()).list;
    r.lookup = (await orders.aggregate().sort({ _id: 1 }).lookup({ from: 'ITEMS', localField: 'sku', foreignField: '_id', as: 'item' }).project({ _id: 1, item: 1 }).end()).list;
    r.lookupPipeline = (await orders.aggregate().sort({ _id: 1 }).lookup({
      from: 'ITEMS',
      let: { wanted: '$sku' },
      pipeline: $.pipeline().match(_.expr($.and([$.eq(['$_id', '$$wanted']), $.gt(['$stock', 0])]))).project({ _id: 0, name: 1 }).done(),
      as: 'inStock',
    }).project({ _id: 1, inStock: 1 }).end()).list;
    r.lookupMissing = await fail(orders.aggregate().lookup({ from: 'NO_SUCH', localField: 'sku', foreignField: '_id', as: 'x' }).end());
    r.geoNear = await fail(articles.aggregate().geoNear({ near: new db.Geo.Point(113.3, 23.1), distanceField: 'd', spherical: true }).end());
    r.missingCollection = await fail(db.collection('NO_SUCH').aggregate().end());
    return r;
  `,
  );
  // Aggregate.match's own example.
  expect(r.match).toEqual([
    { _id: '1', author: 'stark', score: 80 },
    { _id: '2', author: 'stark', score: 85 },
  ]);
  // Aggregate.match's "计数" example: three scores above 80 (85, 94, 95).
  expect(r.matchCommand).toEqual([{ _id: null, count: 3 }]);
  // $count: one document {<field>: number of input documents}; scores >= 80: 80, 85, 94, 95.
  expect(r.count).toEqual([{ total: 4 }]);
  // Sorted 95, 94, 85, ...: skipping one and keeping two leaves li (94) and stark (85).
  expect(r.sortSkipLimitProject).toEqual([{ author: 'li' }, { author: 'stark' }]);
  expect(r.addFields).toEqual([{ _id: '1', author: 'stark', score: 80, double: 160 }]);
  // $sortByCount: {_id: value, count} sorted by count descending; stark and li have 2 each.
  const byCount = r.sortByCount as { _id: string; count: number }[];
  expect(byCount.map((g) => g.count)).toEqual([2, 2]);
  expect(byCount.map((g) => g._id).sort()).toEqual(['li', 'stark']);
  // $bucket: [0, 60) holds 55; [60, 90) holds 80, 85, 60, 60; the rest go to the default bucket,
  // which comes last (MongoDB manual, $bucket).
  expect(r.bucket).toEqual([
    { _id: 0, count: 1, ids: ['4'] },
    { _id: 60, count: 4, ids: ['1', '2', '3', '5'] },
    { _id: 'other', count: 2, ids: ['6', '7'] },
  ]);
  // $bucketAuto: 7 sorted values in 2 buckets of about 4; a bucket's max is the next bucket's
  // min, and the last max is the largest value (MongoDB manual, $bucketAuto).
  expect(r.bucketAuto).toEqual([
    { _id: { min: 55, max: 85 }, count: 4 },
    { _id: { min: 85, max: 95 }, count: 3 },
  ]);
  const sample = r.sample as { _id: string }[];
  expect(sample).toHaveLength(2);
  expect(new Set(sample.map((d) => d._id)).size).toBe(2);
  for (const doc of sample) expect(['1', '2', '3', '4', '5', '6', '7']).toContain(doc._id);
  expect(r.replaceRoot).toEqual([
    { city: 'SZ', zip: '518000' },
    { city: 'BJ', zip: '100000' },
    { city: 'SH', zip: '200000' },
  ]);
  // $unwind drops documents whose array is empty or missing unless preserveNullAndEmptyArrays;
  // with it, an empty array's field is removed and includeArrayIndex is null (MongoDB manual).
  expect(r.unwind).toEqual([
    {
      _id: 'o1',
      sku: 'a',
      items: { sku: 'a', qty: 2 },
      ship: { city: 'SZ', zip: '518000' },
    },
    {
      _id: 'o1',
      sku: 'a',
      items: { sku: 'b', qty: 1 },
      ship: { city: 'SZ', zip: '518000' },
    },
  ]);
  expect(r.unwindPreserve).toEqual([
    { _id: 'o1', sku: 'a', items: { sku: 'a', qty: 2 }, idx: 0 },
    { _id: 'o1', sku: 'a', items: { sku: 'b', qty: 1 }, idx: 1 },
    { _id: 'o2', sku: 'b', idx: null },
    { _id: 'o3', sku: 'z', idx: null },
  ]);
  // $lookup (equality form): `as` holds every matching document, [] when none.
  expect(r.lookup).toEqual([
    { _id: 'o1', item: [{ _id: 'a', name: 'Apple', stock: 5 }] },
    { _id: 'o2', item: [{ _id: 'b', name: 'Banana', stock: 0 }] },
    { _id: 'o3', item: [] },
  ]);
  // $lookup with let/pipeline (Aggregate.lookup's second form): only items in stock.
  expect(r.lookupPipeline).toEqual([
    { _id: 'o1', inStock: [{ name: 'Apple' }] },
    { _id: 'o2', inStock: [] },
    { _id: 'o3', inStock: [] },
  ]);
  // wx-server-sdk's aggregate end() receives any failed answer as a thrown Error from
  // @cloudbase/node-sdk, so it reports errCode -1 and 'collection.aggregate:fail <message>'.
  // A collection that does not exist: the cloud's "[ResourceNotFound] Db or Table not exist".
  const missing = {
    errCode: -1,
    errMsg: expect.stringContaining(
      'collection.aggregate:fail [ResourceNotFound] Db or Table not exist: NO_SUCH',
    ),
  };
  expect(r.lookupMissing).toMatchObject(missing);
  expect(r.missingCollection).toMatchObject(missing);
  // geoNear needs a geo index (database-geo.test.ts runs it with one): MongoDB's refusal.
  expect(r.geoNear).toMatchObject({
    errCode: -1,
    errMsg: expect.stringContaining('unable to find index for $geoNear query'),
  });
});

test('without a $limit stage at most 20 records come back, with one up to the limit', async () => {
  const r = await runWithSdk<Record<string, number>>(
    emulator.url,
    `
    const docs = [];
    for (let i = 0; i < 30; i++) docs.push({ n: i });
    await db.collection('ARTICLES').add({ data: docs });
    return {
      plain: (await db.collection('ARTICLES').aggregate().sort({ n: 1 }).end()).list.length,
      limited: (await db.collection('ARTICLES').aggregate().sort({ n: 1 }).limit(25).end()).list.length,
      grouped: (await db.collection('ARTICLES').aggregate().group({ _id: null, n: _.aggregate.sum(1) }).end()).list[0].n,
    };
  `,
  );
  // Users' reports (the docs are silent): 20 without limit(), in cloud functions too.
  expect(r).toEqual({ plain: 20, limited: 25, grouped: 30 });
});

/** Population / sample standard deviation as MongoDB's $stdDevPop / $stdDevSamp define them. */
function stdDev(values: number[], sample: boolean): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const squares = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return Math.sqrt(squares / (values.length - (sample ? 1 : 0)));
}

test('group accumulators of db.command.aggregate', async () => {
  const r = await runWithSdk<Record<string, unknown>[]>(
    emulator.url,
    `
    const $ = _.aggregate;
    await db.collection('ARTICLES').add({ data: ${ARTICLES} });
    return (await db.collection('ARTICLES').aggregate().sort({ _id: 1 }).group({
      _id: null,
      sum: $.sum('$score'), avg: $.avg('$score'), first: $.first('$score'), last: $.last('$score'),
      max: $.max('$score'), min: $.min('$score'), push: $.push('$score'), authors: $.addToSet('$author'),
      pop: $.stdDevPop('$score'), samp: $.stdDevSamp('$score'),
    }).end()).list;
  `,
  );
  const scores = [80, 85, 60, 55, 60, 94, 95];
  const [group] = r as [Record<string, unknown>];
  expect(group).toMatchObject({
    _id: null,
    sum: 529,
    first: 80,
    last: 95,
    max: 95,
    min: 55,
    push: scores,
  });
  expect(group.avg).toBeCloseTo(529 / 7, 10);
  expect((group.authors as string[]).sort()).toEqual(['bob', 'jimmy', 'justan', 'li', 'stark']);
  expect(group.pop).toBeCloseTo(stdDev(scores, false), 10);
  expect(group.samp).toBeCloseTo(stdDev(scores, true), 10);
});

test('expression families of db.command.aggregate', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    const $ = _.aggregate;
    await db.collection('ARTICLES').add({ data: {
      _id: 'e1', n: -3.7, a: 10, b: 4, arr: [1, 2, 3, 4], strs: ['x', 'y'], s: 'Hello World',
      cjk: '寿司s', d: new Date('2019-03-10T13:14:15.016Z'), newYear: new Date('2021-01-01T00:00:00Z'), flags: [true, false], obj: { k: 1 },
      nul: null, pairs: [['k1', 1], ['k2', 2]],
    } });
    const [doc] = (await db.collection('ARTICLES').aggregate().project({
      _id: 0,
      // arithmetic
      abs: $.abs('$n'), add: $.add(['$a', '$b', 1]), ceil: $.ceil('$n'), divide: $.divide(['$a', '$b']),
      exp: $.exp(0), floor: $.floor('$n'), ln: $.ln(1), log: $.log([8, 2]), log10: $.log10(1000),
      mod: $.mod(['$a', '$b']), multiply: $.multiply(['$a', '$b']), pow: $.pow(['$b', 2]),
      sqrt: $.sqrt('$b'), subtract: $.subtract(['$a', '$b']), trunc: $.trunc('$n'),
      // array
      arrayElemAt: $.arrayElemAt(['$arr', -1]), arrayToObject: $.arrayToObject('$pairs'),
      concatArrays: $.concatArrays(['$arr', '$strs']),
      filter: $.filter({ input: '$arr', as: 'x', cond: $.gt(['$$x', 2]) }),
      in: $.in([2, '$arr']), indexOfArray: $.indexOfArray(['$arr', 3]), isArray: $.isArray('$arr'),
      map: $.map({ input: '$arr', as: 'x', in: $.multiply(['$$x', 10]) }), range: $.range([0, 10, 3]),
      reduce: $.reduce({ input: '$arr', initialValue: 0, in: $.add(['$$value', '$$this']) }),
      reverseArray: $.reverseArray('$arr'), size: $.size('$arr'), slice: $.slice(['$arr', 1, 2]),
      zip: $.zip({ inputs: ['$arr', '$strs'] }),
      // boolean
      and: $.and([true, $.gt(['$a', 5])]), not: $.not($.gt(['$a', 5])), or: $.or([false, '$nul']),
      // comparison
      cmp: $.cmp(['$a', '$b']), eq: $.eq(['$a', 10]), gt: $.gt(['$a', '$b']), gte: $.gte(['$a', 10]),
      lt: $.lt(['$a', '$b']), lte: $.lte(['$b', 4]), neq: $.neq(['$a', '$b']),
      // conditional
      cond: $.cond({ if: $.gte(['$a', 5]), then: 'big', else: 'small' }),
      ifNull: $.ifNull(['$nul', 'dflt']),
      switch: $.switch({ branches: [{ case: $.lt(['$a', 5]), then: 'low' }, { case: $.lt(['$a', 20]), then: 'mid' }], default: 'high' }),
      // date
      dayOfMonth: $.dayOfMonth('$d'), dayOfWeek: $.dayOfWeek('$d'), dayOfYear: $.dayOfYear('$d'),
      isoDayOfWeek: $.isoDayOfWeek('$d'), isoWeek: $.isoWeek('$d'), isoWeekYear: $.isoWeekYear('$d'),
      millisecond: $.millisecond('$d'), minute: $.minute('$d'), second: $.second('$d'), hour: $.hour('$d'),
      month: $.month('$d'), week: $.week('$d'), year: $.year('$d'),
      newYearWeek: $.week('$newYear'), newYearIsoWeek: $.isoWeek('$newYear'), newYearIsoWeekYear: $.isoWeekYear('$newYear'),
      dateFromParts: $.dateFromParts({ year: 2017, month: 2, day: 8, hour: 12 }),
      dateFromString: $.dateFromString({ dateString: '2017-02-08T12:10:40.787Z' }),
      dateToString: $.dateToString({ date: '$d', format: '%Y-%m-%d %H:%M:%S' }),
      // literal
      literal: $.literal('$a'),
      // object
      mergeObjects: $.mergeObjects(['$obj', { k2: 2 }]), objectToArray: $.objectToArray('$obj'),
      // set
      allElementsTrue: $.allElementsTrue(['$flags']), anyElementTrue: $.anyElementTrue(['$flags']),
      setDifference: $.setDifference(['$arr', [1, 2]]), setEquals: $.setEquals([[1, 2], [2, 1]]),
      setIntersection: $.setIntersection(['$arr', [2, 5]]), setIsSubset: $.setIsSubset([[1, 2], '$arr']),
      setUnionSize: $.size($.setUnion([[1, 2], [2, 3]])),
      // string
      concat: $.concat(['$s', '!']), indexOfBytes: $.indexOfBytes(['$s', 'World']),
      indexOfCP: $.indexOfCP(['$cjk', 's']), split: $.split(['$s', ' ']), strLenCP: $.strLenCP('$cjk'),
      strLenBytes: $.strLenBytes('$cjk'), strcasecmp: $.strcasecmp(['$s', 'hello world']),
      substr: $.substr(['$s', 0, 5]), substrBytes: $.substrBytes(['$s', 6, 5]), substrCP: $.substrCP(['$cjk', 1, 2]),
      toLower: $.toLower('$s'), toUpper: $.toUpper('$s'),
      // variable
      let: $.let({ vars: { t: $.add(['$a', '$b']) }, in: $.multiply(['$$t', 2]) }),
    }).end()).list;
    return doc;
  `,
  );
  // Each value worked from the operator's definition in MongoDB's manual. The date is a Sunday,
  // the 69th day of 2019, in ISO week 10 and in %U week 10 (weeks from the first Sunday, Jan 6).
  // 2021-01-01 is a Friday: %U week 0 (before the first Sunday), ISO week 53 of 2020.
  expect(r).toEqual({
    abs: 3.7,
    add: 15,
    ceil: -3,
    divide: 2.5,
    exp: 1,
    floor: -4,
    ln: 0,
    log: 3,
    log10: 3,
    mod: 2,
    multiply: 40,
    pow: 16,
    sqrt: 2,
    subtract: 6,
    trunc: -3,
    arrayElemAt: 4,
    arrayToObject: { k1: 1, k2: 2 },
    concatArrays: [1, 2, 3, 4, 'x', 'y'],
    filter: [3, 4],
    in: true,
    indexOfArray: 2,
    isArray: true,
    map: [10, 20, 30, 40],
    range: [0, 3, 6, 9],
    reduce: 10,
    reverseArray: [4, 3, 2, 1],
    size: 4,
    slice: [2, 3],
    zip: [
      [1, 'x'],
      [2, 'y'],
    ],
    and: true,
    not: false,
    or: false,
    cmp: 1,
    eq: true,
    gt: true,
    gte: true,
    lt: false,
    lte: true,
    neq: true,
    cond: 'big',
    ifNull: 'dflt',
    switch: 'mid',
    dayOfMonth: 10,
    dayOfWeek: 1,
    dayOfYear: 69,
    isoDayOfWeek: 7,
    isoWeek: 10,
    isoWeekYear: 2019,
    millisecond: 16,
    minute: 14,
    second: 15,
    hour: 13,
    month: 3,
    week: 10,
    year: 2019,
    newYearWeek: 0,
    newYearIsoWeek: 53,
    newYearIsoWeekYear: 2020,
    // Dates (the SDK hands back Date objects) as the JSON round trip of the test harness shows them.
    dateFromParts: '2017-02-08T12:00:00.000Z',
    dateFromString: '2017-02-08T12:10:40.787Z',
    dateToString: '2019-03-10 13:14:15',
    literal: '$a',
    mergeObjects: { k: 1, k2: 2 },
    objectToArray: [{ k: 'k', v: 1 }],
    allElementsTrue: false,
    anyElementTrue: true,
    setDifference: [3, 4],
    setEquals: true,
    setIntersection: [2],
    setIsSubset: true,
    setUnionSize: 3,
    concat: 'Hello World!',
    indexOfBytes: 6,
    indexOfCP: 2,
    split: ['Hello', 'World'],
    strLenCP: 3,
    // UTF-8: two 3-byte characters and one 1-byte character.
    strLenBytes: 7,
    strcasecmp: 0,
    substr: 'Hello',
    substrBytes: 'World',
    substrCP: '司s',
    toLower: 'hello world',
    toUpper: 'HELLO WORLD',
    let: 28,
  });
});

test('refused stages and operators name what is not emulated', async () => {
  const r = await runWithSdk<Record<string, unknown>>(
    emulator.url,
    `
    ${FAIL}
    await db.collection('ARTICLES').add({ data: { _id: 'x', s: 'a' } });
    return {
      meta: await fail(db.collection('ARTICLES').aggregate().project({ score: _.aggregate.meta('textScore') }).end()),
      badStage: await fail(db.collection('ARTICLES').aggregate().group({ notAnId: 1 }).end()),
    };
  `,
  );
  // errCode -1: see the note on wx-server-sdk's aggregate errors above.
  expect(r.meta).toMatchObject({
    errCode: -1,
    errMsg: expect.stringContaining('wxcloud-emulator does not emulate $meta'),
  });
  // A stage outside the documented list (only a raw request can send one: the SDK's Aggregation
  // class has no facet()): the emulator's own not-emulated error, naming it.
  const res = await fetch(`${emulator.url}/admin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      action: 'database.aggregateDocuments',
      collectionName: 'ARTICLES',
      stages: [{ stageKey: '$facet', stageValue: '{"all": [{"$count": "n"}]}' }],
    }),
  });
  expect(await res.json()).toMatchObject({
    code: 'FEATURE_NOT_EMULATED',
    message: expect.stringContaining(
      'wxcloud-emulator does not emulate the aggregate stage $facet',
    ),
  });
  // $group without _id: MongoDB refuses the stage ("a group specification must include an _id").
  expect(r.badStage).toMatchObject({
    errCode: -1,
    errMsg: expect.stringContaining('collection.aggregate:fail aggregate failed'),
  });
});

describe('from the mini-program client (createWx), under the security rules', () => {
  const ALICE = 'o-alice-aggregate';

  test('a first match within the read rule runs; others are refused like get()', async () => {
    await emulator.services.database.store.insert('USERPAYLOG', [
      { _id: 'p1', _openid: ALICE, tradeno: 'T1', totalfee: 100 },
      { _id: 'p2', _openid: ALICE, tradeno: 'T2', totalfee: 50 },
      { _id: 'p3', _openid: 'o-someone-else', tradeno: 'T3', totalfee: 999 },
    ]);
    await emulator.services.database.store.insert('ITEMS', [{ _id: 'i1', price: 1 }]);
    const db = createWx({ url: emulator.url, openid: ALICE }).cloud.database();
    const $ = (db.command as { aggregate: Record<string, (p: unknown) => unknown> }).aggregate;
    const mine = await db
      .collection('USERPAYLOG')
      .aggregate()
      .match({ _openid: '{openid}' })
      .group({ _id: '$_openid', total: $.sum('$totalfee') })
      .end();
    expect(mine).toEqual({
      list: [{ _id: ALICE, total: 150 }],
      errMsg: 'collection.aggregate:ok',
    });
    // Read rule `true`: any pipeline.
    const items = await db.collection('ITEMS').aggregate().project({ _id: 0, price: 1 }).end();
    expect(items.list).toEqual([{ price: 1 }]);

    const refused = async (run: () => Promise<unknown>): Promise<unknown> =>
      run().then(
        () => 'no error',
        (e: { errCode?: number; errMsg?: string }) => ({ errCode: e.errCode, errMsg: e.errMsg }),
      );
    const denied = {
      errCode: -502003,
      errMsg: expect.stringContaining('collection.aggregate:fail'),
    };
    // No match first: the whole collection, not a subset of `doc._openid == auth.openid`.
    expect(
      await refused(() => db.collection('USERPAYLOG').aggregate().group({ _id: null }).end()),
    ).toMatchObject(denied);
    // A match that does not pin _openid, and one that pins someone else.
    expect(
      await refused(() => db.collection('USERPAYLOG').aggregate().match({ totalfee: 999 }).end()),
    ).toMatchObject(denied);
    expect(
      await refused(() =>
        db.collection('USERPAYLOG').aggregate().match({ _openid: 'o-someone-else' }).end(),
      ),
    ).toMatchObject(denied);
    // A later match does not make the pipeline a subset: only the first one counts.
    expect(
      await refused(() =>
        db
          .collection('USERPAYLOG')
          .aggregate()
          .sort({ totalfee: 1 })
          .match({ _openid: '{openid}' })
          .end(),
      ),
    ).toMatchObject(denied);
    // A lookup into a collection the caller may not read as a whole.
    expect(
      await refused(() =>
        db
          .collection('ITEMS')
          .aggregate()
          .lookup({ from: 'USERPAYLOG', localField: '_id', foreignField: 'itemId', as: 'pays' })
          .end(),
      ),
    ).toMatchObject(denied);
  });
});
