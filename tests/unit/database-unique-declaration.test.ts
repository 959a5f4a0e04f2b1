import { Store, type IndexSpec } from '../../emulator/src/database/store';

/**
 * A unique index declared over documents that already share a key is refused, as MongoDB's
 * createIndex refuses it (manual, "Unique Indexes": MongoDB cannot create a unique index if the
 * collection already contains data that would violate the unique constraint; a document missing
 * the field counts as null). The message past "E11000" is the emulator's own wording.
 */
const clock = {
  now: () => 1_700_000_000_000,
  schedule: () => ({ cancel: () => undefined }),
};
const UNIQUE_TRADENO: IndexSpec = { name: 'tradeno_unique', keys: { tradeno: 1 }, unique: true };

test('declaring a unique index over duplicates is refused, naming them, and changes nothing', () => {
  const store = new Store(clock);
  store.createCollection('USERPAYLOG');
  store.insert('USERPAYLOG', [
    { _id: 'a', tradeno: 'T1' },
    { _id: 'b', tradeno: 'T1' },
    { _id: 'c', tradeno: 'T2' },
  ]);
  expect(() => store.createCollection('USERPAYLOG', { indexes: [UNIQUE_TRADENO] })).toThrow(
    'E11000 cannot declare unique index tradeno_unique on USERPAYLOG (database/USERPAYLOG.json): documents already share a key: {"tradeno":"T1"} held by _id "a", "b". Remove or change the duplicates, or drop "unique"',
  );
  // The refused declaration left the collection as it was: writes keep working.
  expect(store.listCollections().find((c) => c.name === 'USERPAYLOG')?.indexes).toEqual([]);
  store.insert('USERPAYLOG', [{ _id: 'd', tradeno: 'T3' }]);
  expect(store.find('USERPAYLOG', { tradeno: 'T3' })).toEqual([{ _id: 'd', tradeno: 'T3' }]);
});

test('documents missing the field share the null key, as in MongoDB', () => {
  const store = new Store(clock);
  store.createCollection('USERPAYLOG');
  store.insert('USERPAYLOG', [{ _id: 'x' }, { _id: 'y', tradeno: null }]);
  expect(() => store.createCollection('USERPAYLOG', { indexes: [UNIQUE_TRADENO] })).toThrow(
    /share a key: \{"tradeno":null\} held by _id "x", "y"/,
  );
});

test('a unique index over distinct keys is declared and then enforced', () => {
  const store = new Store(clock);
  store.createCollection('USERPAYLOG');
  store.insert('USERPAYLOG', [
    { _id: 'a', tradeno: 'T1' },
    { _id: 'b', tradeno: 'T2' },
  ]);
  store.createCollection('USERPAYLOG', { indexes: [UNIQUE_TRADENO] });
  expect(() => store.insert('USERPAYLOG', [{ _id: 'c', tradeno: 'T1' }])).toThrow(/E11000/);
  store.insert('USERPAYLOG', [{ _id: 'c', tradeno: 'T3' }]);
  expect(store.find('USERPAYLOG', {})).toHaveLength(3);
});
