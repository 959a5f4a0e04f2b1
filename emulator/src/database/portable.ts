import fs from 'node:fs';
import path from 'node:path';
import { EmulatorError } from '../errors';
import { Journal } from './journal';
import { Store, validateCollectionName } from './store';
import { fromEjsonValue, toRelaxed, type Doc } from './values';

/**
 * Export and import: one JSON file holding every collection's documents as relaxed EJSON
 * (`{"$date": "ISO"}` for dates), the same form the control API shows:
 * `{"format": "wxcloud-emulator-database", "version": 1, "collections": {"NAME": [doc, ...]}}`.
 * Importing replaces the documents of each collection the file names and leaves the others.
 */
export const EXPORT_FORMAT = 'wxcloud-emulator-database';

export interface ExportFile {
  format: typeof EXPORT_FORMAT;
  version: 1;
  exportedAt: string;
  collections: Record<string, unknown[]>;
}

export function exportStore(store: Store, now: number): ExportFile {
  const collections: Record<string, unknown[]> = {};
  for (const { name, docs } of store.dump()) collections[name] = docs.map((d) => toRelaxed(d));
  return {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date(now).toISOString(),
    collections,
  };
}

/** Checks an import file and returns its documents by collection; errors name what is wrong. */
export function parseImport(raw: unknown): Map<string, Doc[]> {
  const file = raw as Partial<ExportFile> | null;
  if (!file || typeof file !== 'object' || file.format !== EXPORT_FORMAT || file.version !== 1) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `not a database export: expected {"format": "${EXPORT_FORMAT}", "version": 1, "collections": {...}}`,
    );
  }
  if (
    !file.collections ||
    typeof file.collections !== 'object' ||
    Array.isArray(file.collections)
  ) {
    throw new EmulatorError('INVALID_PARAM', '"collections" must be an object of arrays');
  }
  const result = new Map<string, Doc[]>();
  for (const [name, docs] of Object.entries(file.collections)) {
    validateCollectionName(name);
    if (!Array.isArray(docs))
      throw new EmulatorError('INVALID_PARAM', `collections.${name} must be an array`);
    result.set(
      name,
      docs.map((doc, i) => {
        const value = fromEjsonValue(doc) as Doc;
        if (!value || typeof value !== 'object' || Array.isArray(value)) {
          throw new EmulatorError('INVALID_PARAM', `collections.${name}[${i}] must be an object`);
        }
        return value;
      }),
    );
  }
  return result;
}

export function importIntoStore(
  store: Store,
  raw: unknown,
): { collections: number; documents: number } {
  const parsed = parseImport(raw);
  let documents = 0;
  for (const [name, docs] of parsed) {
    store.replaceAll(name, docs);
    documents += docs.length;
  }
  return { collections: parsed.size, documents };
}

// ---- offline use of a data directory (the CLI's export/import while no emulator runs) ----------

const offlineClock = {
  now: () => Date.now(),
  schedule: () => ({ cancel: () => undefined }),
};

export function lockFile(dataDir: string): string {
  return path.join(dataDir, 'database', 'LOCK');
}

/** The pid of a live emulator using `dataDir`, if any (a stale lock from a killed one is ignored). */
export function lockHolder(dataDir: string): number | undefined {
  const file = lockFile(dataDir);
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function exportDataDir(dataDir: string): ExportFile {
  const store = new Store(offlineClock);
  for (const entry of new Journal(dataDir).read()) store.replay(entry);
  return exportStore(store, Date.now());
}

export function importIntoDataDir(
  dataDir: string,
  raw: unknown,
): { collections: number; documents: number } {
  const holder = lockHolder(dataDir);
  if (holder) {
    throw new Error(
      `an emulator (pid ${holder}) is using ${dataDir}; stop it first, or POST the file to /emulator/v1/database/import`,
    );
  }
  const journal = new Journal(dataDir);
  const store = new Store(offlineClock);
  for (const entry of journal.read()) store.replay(entry);
  const result = importIntoStore(store, raw);
  journal.rewrite(compactedEntries(store));
  journal.close();
  return result;
}

/** The journal that rebuilds `store` as it is: one create per collection, one write per document. */
export function compactedEntries(store: Store): import('./store').JournalEntry[] {
  return store.dump().flatMap(({ name, docs }) => [
    { op: 'create' as const, collection: name },
    ...docs.map((doc) => ({
      op: 'write' as const,
      writes: [{ collection: name, id: doc._id as string | number, doc }],
    })),
  ]);
}
