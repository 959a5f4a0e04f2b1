// Regular expressions in queries (issue 15 item 1): a client's regex never runs on documents its
// exact conditions (the `_openid` the rule pins) rule out, so nothing about other users' values
// leaks through timing; every regex runs on a linear-time engine (RE2) under a per-request budget.
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { regexEvaluations, withRegexBudget } from '../../emulator/src/database/regex';
import { runPipeline } from '../../emulator/src/database/aggregate';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';
import { clientCall, type Body } from './realtime-helpers';

const ALICE = 'o-alice-regex';
const BOB = 'o-bob-regex';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ ...makeProject(), port: 0, inMemory: true });
});
afterAll(() => emu.stop());
beforeEach(() => emu.reset());

/** A client `where(...).get()` as the JS database client posts it (canonical EJSON regexes). */
const clientGet = (openid: string, query: Body): Promise<Body> =>
  clientCall(emu.url, openid, 'database.getDocument', {
    collectionName: 'USERPAYLOG',
    query: JSON.stringify(query),
    queryType: 'WHERE',
    limit: 100,
  });
const regex = (pattern: string, options = ''): Body => ({
  $regularExpression: { pattern, options },
});

test("a client's regex runs only on the caller's own documents (the rule's _openid pin narrows first)", async () => {
  const store = emu.services.database.store;
  store.insert('USERPAYLOG', [
    { _id: 'a1', _openid: ALICE, tradeno: 'TA1', secret: 'alice-secret' },
    ...Array.from({ length: 300 }, (_, i) => ({
      _id: `b${i}`,
      _openid: BOB,
      tradeno: `TB${i}`,
      secret: `bob-secret-${i}`,
    })),
  ]);
  const before = regexEvaluations();
  // The condition order a client chooses must not matter: the regex comes first here.
  const answer = await clientGet(ALICE, { secret: regex('^bob'), _openid: '{openid}' });
  expect(answer.code).toBeUndefined();
  expect((answer.data as { list: unknown[] }).list).toEqual([]);
  // Only Alice's one document was tested against the regex; Bob's 300 were never touched.
  expect(regexEvaluations() - before).toBe(1);
});

test('a catastrophic-backtracking pattern answers at once (linear-time engine), with the right result', async () => {
  // `^(a+)+$` against "aaaa...!" takes exponential time on a backtracking engine: with 5,000
  // characters the old emulator never answered and froze every route.
  emu.services.database.store.insert('USERPAYLOG', [
    { _id: 'evil', _openid: ALICE, tradeno: 'T1', note: `${'a'.repeat(5000)}!` },
    { _id: 'fine', _openid: ALICE, tradeno: 'T2', note: 'aaaa' },
  ]);
  const r = await runWithSdk<string[]>(
    emu.url,
    `const res = await db.collection('USERPAYLOG').where({ note: db.RegExp({ regexp: '^(a+)+$' }) }).get();
     return res.data.map((d) => d._id);`,
  );
  expect(r).toEqual(['fine']);
});

test('MongoDB regex semantics hold on the bounded engine: options i/m/s, $in and $all with regexes, $not', () => {
  // MongoDB manual, $regex: options i (case-insensitive), m (^/$ at line breaks), s (dot matches
  // newlines); $in and $all accept regexes; $not takes a regex.
  const store = emu.services.database.store;
  store.insert('ITEMS', [
    { _id: 'x', name: 'Apple pie', lines: 'one\ntwo', tags: ['red', 'sweet'] },
    { _id: 'y', name: 'banana', lines: 'two', tags: ['yellow'] },
  ]);
  const ids = (filter: Record<string, unknown>): string[] =>
    store.find('ITEMS', filter).map((d) => String(d._id));
  expect(ids({ name: /^apple/i })).toEqual(['x']);
  expect(ids({ name: /^apple/ })).toEqual([]);
  expect(ids({ lines: /^two$/m })).toEqual(['x', 'y']);
  expect(ids({ lines: /one.two/s })).toEqual(['x']);
  expect(ids({ lines: /one.two/ })).toEqual([]);
  expect(ids({ tags: { $in: [/^yel/, 'nothing'] } })).toEqual(['y']);
  expect(ids({ tags: { $all: [/^r/, 'sweet'] } })).toEqual(['x']);
  expect(ids({ name: { $not: /an/ } })).toEqual(['x']);
  expect(ids({ name: { $regex: 'PIE$', $options: 'i' } })).toEqual(['x']);
});

test('a pattern RE2 cannot run (lookaround, backreference) is refused with a clear error', async () => {
  const r = await runWithSdk<string>(
    emu.url,
    `try { await db.collection('ITEMS').where({ name: db.RegExp({ regexp: 'a(?=b)' }) }).get(); return 'no error'; }
     catch (e) { return e.errMsg; }`,
  );
  expect(r).toMatch(/regular expression \/a\(\?=b\)\/ is not supported .*RE2: no lookaround/);
});

test('a request past its regex budget fails with DATABASE_TIMEOUT, the cloud code for a query that runs too long', () => {
  // docs.cloudbase.net/error-code/DATABASE_TIMEOUT: "数据库请求超时,查询或操作执行时间过长".
  const store = emu.services.database.store;
  store.insert('ITEMS', [{ _id: 'x', name: 'apple' }]);
  let error: { code?: string; message?: string } = {};
  try {
    withRegexBudget(() => store.find('ITEMS', { name: /apple/ }), -1);
  } catch (err) {
    error = err as typeof error;
  }
  expect(error.code).toBe('DATABASE_TIMEOUT');
  expect(error.message).toMatch(/ran past wxcloud-emulator's -1 ms budget/);
  // Exact conditions alone need no budget.
  expect(withRegexBudget(() => store.find('ITEMS', { _id: 'x' }), -1)).toHaveLength(1);
});

describe('aggregation regex expressions run on the same engine and budget', () => {
  const noLookup = {
    collection: (): never => {
      throw new Error('no $lookup here');
    },
  };

  test('$regexMatch with a catastrophic pattern answers at once, through the real SDK', async () => {
    emu.services.database.store.insert('ITEMS', [
      { _id: 'evil', note: `${'a'.repeat(5000)}!` },
      { _id: 'fine', note: 'aaaa' },
    ]);
    const r = await runWithSdk<unknown[]>(
      emu.url,
      // The SDK's db.command.aggregate has no helper for these MongoDB 4.2 operators; the raw
      // operator objects pass through it as written.
      `const res = await db.collection('ITEMS').aggregate()
         .project({ ok: { $regexMatch: { input: '$note', regex: '^(a+)+$' } } }).sort({ _id: 1 }).end();
       return res.list;`,
    );
    expect(r).toEqual([
      { _id: 'evil', ok: false },
      { _id: 'fine', ok: true },
    ]);
  });

  test("MongoDB's results: {match, idx (code points), captures (null for a group that took no part)}", async () => {
    // MongoDB manual, $regexFind: "idx: the code point index (not the byte index)"; "captures:
    // an array of strings that corresponds to the groups captured"; no match is null, and
    // $regexFindAll gives every match, [] when none; options i/m/s, in `regex` or in `options`.
    emu.services.database.store.insert('ITEMS', [
      { _id: 'a', text: '😀 Single LINE description.', cake: 'Cete and Carete' },
    ]);
    const r = await runWithSdk<Record<string, unknown>[]>(
      emu.url,
      `const res = await db.collection('ITEMS').aggregate().project({
         _id: 0,
         find: { $regexFind: { input: '$text', regex: /line/i } },
         findOpt: { $regexFind: { input: '$text', regex: 'line', options: 'i' } },
         none: { $regexFind: { input: '$text', regex: 'absent' } },
         all: { $regexFindAll: { input: '$cake', regex: /(C(ar)*)ete/ } },
         noneAll: { $regexFindAll: { input: '$missing', regex: 'x' } },
         empty: { $regexFindAll: { input: 'ab', regex: '' } },
         match: { $regexMatch: { input: '$text', regex: 'description\\.$' } },
       }).end();
       return res.list;`,
    );
    const first = { match: 'LINE', idx: 9, captures: [] };
    expect(r).toEqual([
      {
        find: first,
        findOpt: first,
        none: null,
        all: [
          { match: 'Cete', idx: 0, captures: ['C', null] },
          { match: 'Carete', idx: 9, captures: ['Car', 'ar'] },
        ],
        noneAll: [],
        // An empty match moves on by one character, so it ends (mingo's own looped forever).
        empty: [
          { match: '', idx: 0, captures: [] },
          { match: '', idx: 1, captures: [] },
          { match: '', idx: 2, captures: [] },
        ],
        match: true,
      },
    ]);
  });

  test('a pipeline past the regex budget fails with DATABASE_TIMEOUT; RE2-only patterns are refused', () => {
    const docs = [{ _id: 'x', name: 'apple' }];
    const pipeline = (regex: string) => [
      { $project: { m: { $regexMatch: { input: '$name', regex } } } },
    ];
    let error: { code?: string } = {};
    try {
      withRegexBudget(() => runPipeline(docs, pipeline('apple'), noLookup), -1);
    } catch (err) {
      error = err as typeof error;
    }
    expect(error.code).toBe('DATABASE_TIMEOUT');
    expect(() => runPipeline(docs, pipeline('a(?=p)'), noLookup)).toThrow(
      /regular expression \/a\(\?=p\)\/ is not supported .*RE2: no lookaround/,
    );
    expect(() =>
      runPipeline(docs, [{ $project: { m: { $regexFind: { input: 3, regex: 'a' } } } }], noLookup),
    ).toThrow(/\$regexFind needs 'input' to be of type string/);
  });
});
