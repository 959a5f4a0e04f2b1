import fs from 'node:fs';
import path from 'node:path';
import { fileIdFor } from '../storage/file-id';
import { SEED_DIR } from '../storage/seed';
import type { Store } from './store';
import type { Doc } from './values';

/**
 * Seed documents: `<projectDir>/content/database/<COLLECTION>.json`, an array of documents with
 * string `_id`s, written (replacing any document with the same `_id`) at start and after a reset.
 * A value `{"$fileID": "<cloud path>"}` becomes that seed file's fileID in this env, since a
 * fileID names the env's bucket and so cannot be written down in advance.
 */
export function applyDocumentSeed(store: Store, projectDir: string, envId: string): number {
  const dir = path.join(projectDir, SEED_DIR, 'database');
  if (!fs.existsSync(dir)) return 0;
  let written = 0;
  for (const name of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const file = path.join(dir, name);
    const collection = path.basename(name, '.json');
    if (!store.hasCollection(collection)) {
      throw new Error(
        `${file}: no collection ${collection}; declare it in database/${collection}.json`,
      );
    }
    let docs: unknown;
    try {
      docs = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(docs)) throw new Error(`${file}: must hold an array of documents`);
    docs.forEach((doc: unknown, i) => {
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
        throw new Error(`${file}: [${i}] is not an object`);
      }
      const id = (doc as Doc)._id;
      if (typeof id !== 'string' || !id) throw new Error(`${file}: [${i}] needs a string _id`);
      const resolved = resolveFileIds(doc, envId, `${file}: [${i}]`) as Doc;
      store.remove(collection, { _id: id }, { multi: false });
      store.insert(collection, [resolved]);
      written++;
    });
  }
  return written;
}

function resolveFileIds(value: unknown, envId: string, where: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveFileIds(v, envId, where));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === '$fileID') {
      if (typeof record.$fileID !== 'string' || !record.$fileID) {
        throw new Error(`${where}: {"$fileID": ...} needs a cloud path string`);
      }
      return fileIdFor(envId, record.$fileID);
    }
    return Object.fromEntries(keys.map((k) => [k, resolveFileIds(record[k], envId, where)]));
  }
  return value;
}
