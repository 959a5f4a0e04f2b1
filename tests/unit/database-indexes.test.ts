import fc from 'fast-check';
import { Query } from 'mingo';
import { Store, type IndexSpec } from '../../emulator/src/database/store';
import { clone, sameValue, toCanonical, type Doc } from '../../emulator/src/database/values';

/**
 * The store's indexes only decide how much is read, never what a query returns. MongoDB's manual
 * ("Indexes": an index supports a query, the query's result is defined by its filter alone) is
 * the rule; the expected results here come from mingo, the query engine, run over a plain array
 * of the same documents in insertion order, never from the store itself.
 */

const clock = {
  now: () => 1_700_000_000_000,
  schedule: () => ({ cancel: () => undefined }),
};

const INDEXES: IndexSpec[] = [
  { name: 'a_b', keys: { a: 1, b: 1 }, unique: false },
  { name: 'nested', keys: { 'n.x': 1 }, unique: false },
];

// Values of mixed types on purpose: MongoDB matches arrays by element, null also matches a
// missing field, and a range only matches values of its own type.
const value = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 4 }), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 4 }).map((d) => new Date(d * 1000)), weight: 2 },
  fc.constantFrom('0', '1', 'x'),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
  fc.record({ k: fc.integer({ min: 0, max: 2 }) }, { noNullPrototype: true }),
);
const doc = fc.record(
  {
    a: value,
    b: value,
    n: fc.oneof(
      fc.record({ x: value }, { noNullPrototype: true }),
      fc.array(fc.record({ x: value }, { noNullPrototype: true })),
    ),
  },
  { requiredKeys: [], noNullPrototype: true },
);
const scalar = fc.oneof(
  fc.integer({ min: 0, max: 4 }),
  fc.constantFrom('0', '1', 'x'),
  fc.boolean(),
  fc.integer({ min: 0, max: 4 }).map((d) => new Date(d * 1000)),
);
// A range of one type (numbers or dates), one- or two-sided, as queries write them.
const range = fc
  .tuple(
    fc.constantFrom(
      (n: number) => n,
      (n: number) => new Date(n * 1000),
    ),
    fc.constantFrom('$gt', '$gte', undefined),
    fc.integer({ min: 0, max: 4 }),
    fc.constantFrom('$lt', '$lte', undefined),
    fc.integer({ min: 0, max: 4 }),
  )
  .map(([as, low, lo, high, hi]) => {
    const out: Doc = {};
    if (low) out[low] = as(lo);
    if (high) out[high] = as(hi);
    if (!low && !high) out.$gte = as(lo);
    return out;
  });
const condition = fc.oneof(
  scalar,
  fc.constant(null),
  scalar.map((v) => ({ $eq: v })),
  fc.array(scalar, { maxLength: 3 }).map((list) => ({ $in: list })),
  range,
  fc.tuple(range, scalar).map(([r, ne]) => ({ ...r, $ne: ne })),
);
const filter = fc.oneof(
  fc.record(
    { a: condition, b: condition, 'n.x': condition },
    { requiredKeys: [], noNullPrototype: true },
  ),
  fc
    .tuple(
      fc.record({ a: condition }, { noNullPrototype: true }),
      fc.record({ b: condition }, { noNullPrototype: true }),
    )
    .map(([x, y]) => ({ $and: [x, y] })),
  fc.record({ a: condition, $or: fc.constant([{ b: 1 }, { b: 'x' }]) }, { noNullPrototype: true }),
);

function storeWith(docs: Doc[], indexes: IndexSpec[]): Store {
  const store = new Store(clock);
  store.createCollection('C', { indexes });
  docs.forEach((d, i) => store.insert('C', [{ _id: `d${i}`, ...d }]));
  return store;
}

const ids = (docs: Doc[]): unknown[] => docs.map((d) => d._id);

describe('database indexes narrow reads without changing results', () => {
  it('find and count answer what a full scan answers, for equality, $in, ranges and $and', () => {
    fc.assert(
      fc.property(fc.array(doc, { maxLength: 25 }), filter, (docs, f) => {
        const store = storeWith(docs, INDEXES);
        const all = docs.map((d, i) => ({ _id: `d${i}`, ...d }));
        const expected = new Query<Doc>(f, {}).find<Doc>(all).all();
        expect(ids(store.find('C', f, { limit: 1000 }))).toEqual(ids(expected));
        expect(store.count('C', f)).toBe(expected.length);
      }),
      { numRuns: 300 },
    );
  });

  it('stays right after updates and removals move documents between keys', () => {
    fc.assert(
      fc.property(
        fc.array(doc, { minLength: 1, maxLength: 15 }),
        fc.array(fc.tuple(fc.nat(), value, fc.boolean()), { maxLength: 15 }),
        filter,
        (docs, edits, f) => {
          const store = storeWith(docs, INDEXES);
          const model = new Map<string, Doc>(docs.map((d, i) => [`d${i}`, { _id: `d${i}`, ...d }]));
          for (const [pick, next, remove] of edits) {
            const id = `d${pick % docs.length}`;
            if (!model.has(id)) continue;
            if (remove) {
              store.remove('C', { _id: id }, { multi: false });
              model.delete(id);
            } else {
              store.update(
                'C',
                { _id: id },
                { kind: 'operators', modifier: { $set: { a: next } } },
                { multi: false, upsert: false },
              );
              model.set(id, { ...model.get(id), a: next });
            }
          }
          const expected = new Query<Doc>(f, {}).find<Doc>([...model.values()]).all();
          expect(ids(store.find('C', f, { limit: 1000 }))).toEqual(ids(expected));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a transaction reads its own writes through an index, and others do not see them', () => {
    const store = storeWith([{ a: 1 }, { a: 2 }], INDEXES);
    const txn = store.startTransaction();
    store.update(
      'C',
      { _id: 'd0' },
      { kind: 'operators', modifier: { $set: { a: 2 } } },
      { multi: false, upsert: false },
      txn,
    );
    store.insert('C', [{ _id: 'new', a: 2 }], txn);
    expect(ids(store.find('C', { a: 2 }, {}, txn))).toEqual(['d0', 'd1', 'new']);
    expect(ids(store.find('C', { a: 1 }, {}, txn))).toEqual([]);
    // Outside the transaction (snapshot isolation): the committed documents only.
    expect(ids(store.find('C', { a: 2 }))).toEqual(['d1']);
    expect(ids(store.find('C', { a: 1 }))).toEqual(['d0']);
    store.commitTransaction(txn);
    expect(ids(store.find('C', { a: 2 }))).toEqual(['d0', 'd1', 'new']);
  });
});

describe('unique indexes check the written keys', () => {
  const unique: IndexSpec[] = [{ name: 'code_unique', keys: { code: 1 }, unique: true }];

  it('refuses a second document with the same key, naming the index (MongoDB E11000)', () => {
    const store = storeWith([{ code: 'A' }, { code: 'B' }], unique);
    expect(() => store.insert('C', [{ code: 'A' }])).toThrow(
      'E11000 duplicate key error collection: C index: code_unique dup key: {"code":"A"}',
    );
    expect(() =>
      store.update(
        'C',
        { _id: 'd1' },
        { kind: 'operators', modifier: { $set: { code: 'A' } } },
        { multi: false, upsert: false },
      ),
    ).toThrow('index: code_unique');
    expect(store.count('C', {})).toBe(2);
  });

  it('a key freed by an update or a removal can be taken again', () => {
    const store = storeWith([{ code: 'A' }], unique);
    store.update(
      'C',
      { _id: 'd0' },
      { kind: 'operators', modifier: { $set: { code: 'Z' } } },
      { multi: false, upsert: false },
    );
    store.insert('C', [{ _id: 'x', code: 'A' }]);
    store.remove('C', { _id: 'x' }, { multi: false });
    store.insert('C', [{ _id: 'y', code: 'A' }]);
    expect(ids(store.find('C', { code: 'A' }))).toEqual(['y']);
  });

  it('two documents swapping keys in one transaction commit; a clash at commit aborts it', () => {
    const store = storeWith([{ code: 'A' }, { code: 'B' }], unique);
    const swap = store.startTransaction();
    store.update(
      'C',
      { _id: 'd0' },
      { kind: 'replace', doc: { code: 'tmp' } },
      { multi: false, upsert: false },
      swap,
    );
    store.update(
      'C',
      { _id: 'd1' },
      { kind: 'replace', doc: { code: 'A' } },
      { multi: false, upsert: false },
      swap,
    );
    // Inside the transaction, d1 now owns A: a third claim on it fails at once.
    expect(() => store.insert('C', [{ code: 'A' }], swap)).toThrow('E11000');
    store.commitTransaction(swap);
    expect(store.find('C', { code: 'A' }).map((d) => d._id)).toEqual(['d1']);

    const late = store.startTransaction();
    store.insert('C', [{ _id: 'late', code: 'B' }], late);
    store.insert('C', [{ _id: 'first', code: 'B' }]);
    expect(() => store.commitTransaction(late)).toThrow('E11000');
    expect(store.get('C', 'late')).toBeNull();
  });

  it('indexes declared after a journal replay cover the replayed documents', () => {
    // The emulator replays its journal, then applies database/<C>.json's indexes (index.ts).
    const store = new Store(clock);
    store.replay({ op: 'create', collection: 'C' });
    store.replay({
      op: 'write',
      writes: [
        { collection: 'C', id: 'old', doc: { _id: 'old', code: 'A' } },
        { collection: 'C', id: 'other', doc: { _id: 'other', code: 'B' } },
      ],
    });
    store.createCollection('C', { indexes: unique });
    expect(ids(store.find('C', { code: 'A' }))).toEqual(['old']);
    expect(() => store.insert('C', [{ code: 'A' }])).toThrow('E11000');
  });

  it('a missing field counts as null: a second document without it is a duplicate', () => {
    const store = storeWith([{}], unique);
    expect(() => store.insert('C', [{ other: 1 }])).toThrow('dup key: {"code":null}');
  });
});

describe('sameValue compares as canonical EJSON does', () => {
  it('agrees with comparing the two canonical EJSON texts', () => {
    const anything = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.double(),
        fc.string({ maxLength: 3 }),
        fc.boolean(),
        fc.constant(null),
        fc.constant(undefined),
        fc.integer({ min: 0, max: 3 }).map((d) => new Date(d)),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('v'), {
          maxKeys: 3,
          noNullPrototype: true,
        }),
      ),
    })).v;
    fc.assert(
      fc.property(anything, anything, (a, b) => {
        expect(sameValue(a, b)).toBe(toCanonical({ v: a }) === toCanonical({ v: b }));
        expect(sameValue(a, clone(a))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
