import fs from 'node:fs';
import path from 'node:path';
import { EJSON } from 'bson';
import type { JournalEntry } from './store';
import { fromEjsonValue, type Doc } from './values';

/**
 * Persistence: an append-only journal of committed writes, one JSON line each, in
 * `<dataDir>/database/journal.jsonl`. Each line is written with a synchronous write(2) before the
 * emulator answers, so killing the process (even SIGKILL) loses no acknowledged write; no fsync,
 * so a power cut may (this is a development tool). On start the journal is replayed and then
 * compacted (one line per collection and document) through a temporary file and a rename.
 * Documents are stored as canonical EJSON so dates and number types survive.
 */
export class Journal {
  private fd: number | undefined;
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'database', 'journal.jsonl');
  }

  /** Reads every complete entry; a torn last line (a kill mid-write) is ignored. */
  read(): JournalEntry[] {
    if (!fs.existsSync(this.file)) return [];
    const lines = fs.readFileSync(this.file, 'utf8').split('\n');
    const entries: JournalEntry[] = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      try {
        entries.push(decodeEntry(JSON.parse(line) as unknown));
      } catch (err) {
        if (i >= lines.length - 2) return; // the torn tail of an interrupted append
        throw new Error(`${this.file} line ${i + 1} is corrupt: ${(err as Error).message}`);
      }
    });
    return entries;
  }

  /** Replaces the journal with `entries` atomically, then opens it for appending. */
  rewrite(entries: JournalEntry[]): void {
    this.close();
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, entries.map((e) => `${encodeEntry(e)}\n`).join(''));
    fs.renameSync(tmp, this.file);
    this.fd = fs.openSync(this.file, 'a');
  }

  append(entry: JournalEntry): void {
    if (this.fd === undefined) throw new Error('database journal is not open');
    fs.writeSync(this.fd, `${encodeEntry(entry)}\n`);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

function encodeEntry(entry: JournalEntry): string {
  if (entry.op !== 'write') return JSON.stringify(entry);
  return JSON.stringify({
    op: 'write',
    writes: entry.writes.map((w) => ({
      collection: w.collection,
      id: w.id,
      doc: w.doc ? EJSON.serialize(w.doc, { relaxed: false }) : null,
    })),
  });
}

function decodeEntry(raw: unknown): JournalEntry {
  const entry = raw as { op?: unknown; collection?: unknown; writes?: unknown };
  if (entry.op === 'create' && typeof entry.collection === 'string') {
    return { op: 'create', collection: entry.collection };
  }
  if (entry.op === 'clear') return { op: 'clear' };
  if (entry.op === 'write' && Array.isArray(entry.writes)) {
    return {
      op: 'write',
      writes: (entry.writes as { collection: string; id: string | number; doc: Doc | null }[]).map(
        (w) => ({
          collection: w.collection,
          id: w.id,
          doc: w.doc ? (fromEjsonValue(w.doc) as Doc) : null,
        }),
      ),
    };
  }
  throw new Error(`unknown journal entry ${JSON.stringify(raw).slice(0, 100)}`);
}
