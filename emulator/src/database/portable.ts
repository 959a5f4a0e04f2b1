import fs from 'node:fs';
import { EmulatorError } from '../errors';
import { Journal } from './journal';
import { acquireLock } from './lock';
import { Store, validateCollectionName, type JournalEntry } from './store';
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
  for (const { name, docs } of store.snapshot()) collections[name] = docs.map((d) => toRelaxed(d));
  return {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date(now).toISOString(),
    collections,
  };
}

/**
 * The export file as text, a piece at a time, never as one string (a big database would pass
 * V8's longest string): from a snapshot taken at the first piece (Store.snapshot), one document
 * per line, each serialized only when its piece is asked for. JSON.parse of the pieces joined
 * gives what `exportStore` returns.
 */
export function exportText(store: Store, now: number): Generator<string> {
  // Taken now, not at the first piece: the export is the database as the request found it.
  return exportPieces(store.snapshot(), now);
}

function* exportPieces(
  snapshot: { name: string; docs: readonly Doc[] }[],
  now: number,
): Generator<string> {
  yield `{"format":${JSON.stringify(EXPORT_FORMAT)},"version":1,"exportedAt":${JSON.stringify(new Date(now).toISOString())},"collections":{`;
  let first = true;
  for (const { name, docs } of snapshot) {
    yield `${first ? '' : ','}\n${JSON.stringify(name)}:[`;
    first = false;
    for (let i = 0; i < docs.length; i++) {
      yield `${i ? ',' : ''}\n${JSON.stringify(toRelaxed(docs[i] as Doc))}`;
    }
    yield '\n]';
  }
  yield '\n}}\n';
}

/** `exportText` as a byte stream pulled by the reader (an HTTP response): ~64 KB per chunk. */
export function exportStream(store: Store, now: number): ReadableStream<Uint8Array> {
  const pieces = exportText(store, now);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      let chunk = '';
      for (let next = pieces.next(); ; next = pieces.next()) {
        if (next.done) {
          if (chunk) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += next.value;
        if (chunk.length >= 64 * 1024) break;
      }
      controller.enqueue(encoder.encode(chunk));
    },
  });
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
  // All or nothing: a bad document in any collection leaves every collection as it was.
  store.replaceCollections(parsed);
  let documents = 0;
  for (const docs of parsed.values()) documents += docs.length;
  return { collections: parsed.size, documents };
}

// ---- offline use of a data directory (the CLI's export/import while no emulator runs) ----------

const offlineClock = {
  now: () => Date.now(),
  schedule: () => ({ cancel: () => undefined }),
};

/** Warnings of offline use go to stderr, as the CLI's other messages do. */
const warnOnStderr = (message: string): void => {
  process.stderr.write(`wxcloud-emulator: ${message}\n`);
};

/** Runs `work` holding the data dir's lock, so no emulator starts on it meanwhile. */
function withLock<T>(dataDir: string, purpose: string, work: () => T): T {
  let release: () => void;
  try {
    release = acquireLock(dataDir, purpose, warnOnStderr);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; while an emulator runs, use its control API (GET /emulator/v1/database/export, POST /emulator/v1/database/import)`,
    );
  }
  try {
    return work();
  } finally {
    release();
  }
}

/** Loads a data dir's journal into a fresh store, streaming it. */
function loadDataDir(journal: Journal): Store {
  const store = new Store(offlineClock);
  for (const entry of journal.read()) store.replay(entry);
  return store;
}

/**
 * The database of one env of a data dir: `envDir` is where that env keeps its data (the data
 * dir itself for the first env, `envs/<id>/` for the others; envs.ts); the lock is the data
 * dir's.
 */
export function exportDataDir(dataDir: string, envDir = dataDir): ExportFile {
  return withLock(dataDir, 'exporting', () =>
    exportStore(loadDataDir(new Journal(envDir, { warn: warnOnStderr })), Date.now()),
  );
}

/**
 * Writes the export of one env of a data dir to `file` a piece at a time (never one string);
 * returns how many documents it holds.
 */
export function exportDataDirToFile(dataDir: string, file: string, envDir = dataDir): number {
  return withLock(dataDir, 'exporting', () => {
    const store = loadDataDir(new Journal(envDir, { warn: warnOnStderr }));
    const fd = fs.openSync(file, 'w');
    try {
      let pending = '';
      for (const piece of exportText(store, Date.now())) {
        pending += piece;
        if (pending.length >= 64 * 1024) {
          fs.writeSync(fd, pending);
          pending = '';
        }
      }
      if (pending) fs.writeSync(fd, pending);
    } finally {
      fs.closeSync(fd);
    }
    return store.listCollections().reduce((n, c) => n + c.count, 0);
  });
}

export function importIntoDataDir(
  dataDir: string,
  raw: unknown,
  envDir = dataDir,
): { collections: number; documents: number } {
  return withLock(dataDir, 'importing', () => {
    const journal = new Journal(envDir, { warn: warnOnStderr });
    const store = loadDataDir(journal);
    const result = importIntoStore(store, raw);
    journal.rewrite(compactedEntries(store));
    journal.close();
    return result;
  });
}

/**
 * The journal that rebuilds `store` as it is: one create per collection, one write per document,
 * produced lazily (one document copied at a time), so compacting never holds a second copy of the
 * data in memory.
 */
export function* compactedEntries(store: Store): Generator<JournalEntry> {
  for (const { name } of store.listCollections()) {
    yield { op: 'create', collection: name };
    if (!store.hasCollection(name)) continue;
    for (const id of store.documentIds(name)) {
      const doc = store.get(name, id);
      if (doc) yield { op: 'write', writes: [{ collection: name, id, doc }] };
    }
  }
}
