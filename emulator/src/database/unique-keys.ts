import { EmulatorError } from '../errors';
import { fieldValue, type CollectionIndex } from './indexes';
import { viewDoc, type Collection, type Write } from './store-model';
import type { Overlay } from './transactions';
import { toCanonical, type Doc, type DocId } from './values';

/** Unique indexes: the check every write makes, and the one a declaration makes (store.ts). */

/**
 * Unique indexes over the collection as it would be after `writes` (a missing field is null).
 * Only the written keys are checked: their current owners, the transaction's own documents
 * and the batch itself are the only documents that can collide with them.
 */
export function checkUnique(collection: Collection, writes: Write[], overlay?: Overlay): void {
  const unique = collection.indexes.filter((index) => index.spec.unique);
  if (!unique.length || !writes.some((w) => w.after)) return;
  const batch = new Map<DocId, Doc | null>();
  for (const w of writes) batch.set(w.id, w.after);
  const finalDoc = (id: DocId): Doc | null | undefined =>
    batch.has(id) ? batch.get(id) : viewDoc(collection, overlay, id);
  for (const index of unique) {
    for (const w of writes) {
      if (!w.after) continue;
      const keys = index.keysOf(w.after);
      const key = keys.join('\u0000');
      const rivals = new Set<DocId>(index.owners(keys));
      for (const id of overlay?.keys() ?? []) rivals.add(id);
      for (const id of batch.keys()) rivals.add(id);
      for (const id of rivals) {
        if (id === w.id) continue;
        const other = finalDoc(id);
        if (other && index.keysOf(other).join('\u0000') === key) {
          const after = w.after;
          const dup = Object.fromEntries(index.fields.map((f) => [f, fieldValue(after, f)]));
          throw duplicateKey(collection.name, index.spec.name, dup);
        }
      }
    }
  }
}

/**
 * A unique index cannot be declared over documents that already share a key: MongoDB's
 * createIndex fails with E11000 in that case (manual, "Unique Indexes": "MongoDB cannot create a
 * unique index on the specified index field(s) if the collection already contains data that would
 * violate the unique constraint"); a missing field counts as null, as in checkUnique. The wording
 * past "E11000" is the emulator's, naming the duplicates so they can be fixed.
 */
export function refuseDuplicates(collection: Collection, index: CollectionIndex): void {
  const byKey = new Map<string, DocId[]>();
  for (const [id, doc] of collection.docs) {
    const key = index.keysOf(doc).join('\u0000');
    const ids = byKey.get(key);
    if (ids) ids.push(id);
    else byKey.set(key, [id]);
  }
  const clashes = [...byKey.values()].filter((ids) => ids.length > 1);
  if (!clashes.length) return;
  const shown = clashes.slice(0, 5).map((ids) => {
    const doc = collection.docs.get(ids[0]) as Doc;
    const key = Object.fromEntries(index.fields.map((f) => [f, fieldValue(doc, f)]));
    return `${toCanonical(key)} held by _id ${ids.map((id) => JSON.stringify(id)).join(', ')}`;
  });
  const more = clashes.length > shown.length ? `; and ${clashes.length - shown.length} more` : '';
  throw new EmulatorError(
    'INVALID_PARAM',
    `E11000 cannot declare unique index ${index.spec.name} on ${collection.name} (database/${collection.name}.json): documents already share a key: ${shown.join('; ')}${more}. Remove or change the duplicates, or drop "unique"`,
  );
}

/** MongoDB's duplicate-key message, under the platform's generic database failure code. */
export function duplicateKey(collection: string, index: string, key: Doc): EmulatorError {
  return new EmulatorError(
    'DATABASE_REQUEST_FAILED',
    `E11000 duplicate key error collection: ${collection} index: ${index} dup key: ${toCanonical(key)}`,
  );
}
