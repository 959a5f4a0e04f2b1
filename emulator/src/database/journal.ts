import fs from 'node:fs';
import path from 'node:path';
import { EJSON } from 'bson';
import { EmulatorError } from '../errors';
import { MAX_NESTING_DEPTH, nestingDepth } from './limits';
import type { JournalEntry } from './store';
import { fromEjsonValue, type Doc, type DocId } from './values';

/**
 * Persistence: an append-only journal of committed writes, one JSON line each, in
 * `<dataDir>/database/journal.jsonl`. Each line is written with synchronous write(2) calls before
 * the emulator answers, so killing the process (even SIGKILL) loses no acknowledged write; no
 * fsync, so a power cut may (this is a development tool). Documents are canonical EJSON so dates
 * and number types survive.
 *
 * Bounded by design, so no data dir can grow into one that never starts again:
 * - the file is read in chunks, line by line, never as one string;
 * - a write touching several documents is one line per document (`"more": true` on all but the
 *   last), so no line is larger than one document (16 MB at most, limits.ts); a batch cut short
 *   by a kill is discarded whole on reading, as it was never acknowledged;
 * - every write is checked; a failed or short one (disk full) is cut back off the file and the
 *   operation refused, so the file always ends on a complete line;
 * - while running, once the file has grown well past the live data it is compacted in the
 *   background (one line per document, written in slices between requests) and swapped in.
 */
export const JOURNAL_CHUNK_BYTES = 1 << 20;

export interface JournalOptions {
  /** The file, when not the database's own `<dataDir>/database/journal.jsonl` (the pay sandbox's). */
  file?: string;
  /** Warnings (a torn tail, a set-aside line) for the operator; the default writes to stderr. */
  warn?: (message: string) => void;
  /** The write(2) call; a seam for tests that inject a failing disk. */
  writeSync?: (fd: number, buffer: Buffer, offset: number, length: number) => number;
  /** Compaction starts when the file exceeds both this and `compactRatio` × the live data. */
  compactMinBytes?: number;
  compactRatio?: number;
}

interface Compaction {
  /** Lines appended while the snapshot is written; replayed onto the new file before the swap. */
  pending: string[];
  done: Promise<void>;
}

export class Journal {
  private fd: number | undefined;
  /** Bytes of complete lines in the file: where the next append starts. */
  private size = 0;
  /** The file's size after the last compaction: the live data, as far as the journal knows. */
  private liveBytes = 0;
  private compaction: Compaction | undefined;
  /** Where the last complete entry `read` found ends: what `resume` keeps. */
  private validBytes = 0;
  readonly file: string;
  private readonly warn: (message: string) => void;
  private readonly writeSync: NonNullable<JournalOptions['writeSync']>;
  private readonly compactMinBytes: number;
  private readonly compactRatio: number;
  /** Produces the live data as entries, for background compaction (set by the owner). */
  liveEntries: (() => Iterable<JournalEntry>) | undefined;

  constructor(dataDir: string, options: JournalOptions = {}) {
    this.file = options.file ?? path.join(dataDir, 'database', 'journal.jsonl');
    this.warn =
      options.warn ?? ((message) => process.stderr.write(`wxcloud-emulator: ${message}\n`));
    this.writeSync = options.writeSync ?? ((fd, buf, off, len) => fs.writeSync(fd, buf, off, len));
    this.compactMinBytes = options.compactMinBytes ?? 64 * 1024 * 1024;
    this.compactRatio = options.compactRatio ?? 4;
  }

  /**
   * Every complete entry, in order, read in chunks. A torn tail (a kill mid-append: no final
   * newline, or a batch without its last line) and a corrupt last line are dropped with a warning
   * and a copy kept beside the journal; a corrupt line elsewhere stops the read, naming file and
   * line. A document nested past the limit (written by an older emulator) is set aside the same
   * way, so the rest still loads.
   */
  *read(): Generator<JournalEntry> {
    if (!fs.existsSync(this.file)) return;
    const fd = fs.openSync(this.file, 'r');
    try {
      const chunk = Buffer.alloc(JOURNAL_CHUNK_BYTES);
      let carry: Buffer[] = [];
      let lineNo = 0;
      let batch: JournalEntry & { op: 'write' } = { op: 'write', writes: [] };
      let batchText: string[] = [];
      let held: { text: string; lineNo: number } | undefined; // a bad line, bad unless last
      let bytesRead: number;
      let chunkAt = 0; // file offset of the chunk
      this.validBytes = 0;
      while ((bytesRead = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) {
        let start = 0;
        for (let nl = chunk.indexOf(10, 0); nl !== -1 && nl < bytesRead;) {
          const text = Buffer.concat([...carry, chunk.subarray(start, nl)]).toString('utf8');
          carry = [];
          lineNo += 1;
          start = nl + 1;
          nl = chunk.indexOf(10, start);
          if (!text.trim()) {
            if (!batchText.length && !held) this.validBytes = chunkAt + start;
            continue;
          }
          if (held) throw this.corrupt(held.lineNo, held.text);
          let raw: RawLine;
          try {
            raw = JSON.parse(text) as RawLine;
          } catch {
            held = { text, lineNo };
            continue;
          }
          const decoded = this.decodeLine(raw, text, lineNo);
          if (decoded === undefined) {
            held = { text, lineNo };
            continue;
          }
          if (decoded.op !== 'write') {
            if (batchText.length) throw this.corrupt(lineNo, text);
            this.validBytes = chunkAt + start;
            yield decoded;
            continue;
          }
          batch.writes.push(...decoded.writes);
          batchText.push(text);
          if (!raw.more) {
            this.validBytes = chunkAt + start;
            if (batch.writes.length) yield batch;
            batch = { op: 'write', writes: [] };
            batchText = [];
          }
        }
        if (start < bytesRead) carry.push(Buffer.from(chunk.subarray(start, bytesRead)));
        chunkAt += bytesRead;
      }
      const tail = Buffer.concat(carry).toString('utf8');
      if (held) {
        this.setAside('corrupt', `${held.text}\n${batchText.join('\n')}${tail}`);
        this.warn(
          `${this.file} line ${held.lineNo} is corrupt and is the last entry; dropped it (a copy is in ${this.asideFile('corrupt')})`,
        );
      } else if (batchText.length || tail.trim()) {
        // Never acknowledged: the process died before the write (or its batch) completed.
        this.setAside('torn', `${batchText.join('\n')}${batchText.length ? '\n' : ''}${tail}`);
        this.warn(
          `${this.file} ends with an interrupted write that was never acknowledged; dropped it (a copy is in ${this.asideFile('torn')})`,
        );
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Opens the journal as it is for appending, after the last complete entry `read` found (a torn
   * tail is cut off, its copy kept by `read`): the fallback when a compaction cannot be written.
   */
  resume(): void {
    this.close();
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const fd = fs.openSync(this.file, 'a');
    try {
      fs.ftruncateSync(fd, this.validBytes);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    this.fd = fd;
    this.size = this.validBytes;
    this.liveBytes = this.validBytes;
  }

  /** Replaces the journal with `entries` (streamed, line by line), then opens it for appending. */
  rewrite(entries: Iterable<JournalEntry>): void {
    this.close();
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    let size = 0;
    try {
      for (const entry of entries) {
        for (const line of encodeLines(entry)) size += this.writeAll(fd, line);
      }
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw journalFailure(this.file, err);
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, this.file);
    this.openForAppend(size);
  }

  /**
   * Appends one committed entry, all of it or nothing: on a failed or short write (disk full) the
   * file is cut back to where it was and the operation is refused with a clear error; the next
   * append tries again, so writes work once space returns.
   */
  append(entry: JournalEntry): void {
    if (this.fd === undefined) throw new Error('database journal is not open');
    const fd = this.fd;
    const lines = encodeLines(entry);
    const start = this.size;
    try {
      let written = 0;
      for (const line of lines) written += this.writeAll(fd, line);
      this.size += written;
    } catch (err) {
      try {
        fs.ftruncateSync(fd, start);
      } catch (truncateErr) {
        // The file may now end in a fragment; reading drops it as a torn tail.
        this.warn(
          `could not cut a failed write back off ${this.file}: ${(truncateErr as Error).message}`,
        );
      }
      throw journalFailure(this.file, err);
    }
    this.compaction?.pending.push(...lines);
    this.maybeCompact();
  }

  /** Resolves once a running background compaction has finished (tests, stop). */
  async settled(): Promise<void> {
    await this.compaction?.done;
  }

  /** The journal's size in bytes (complete lines). */
  bytes(): number {
    return this.size;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  // ---- internals ------------------------------------------------------------------------------

  private openForAppend(size: number): void {
    this.fd = fs.openSync(this.file, 'a');
    this.size = size;
    this.liveBytes = size;
  }

  /** Writes all of `line` plus a newline, looping over short writes; returns bytes written. */
  private writeAll(fd: number, line: string): number {
    const buffer = Buffer.from(`${line}\n`, 'utf8');
    let offset = 0;
    while (offset < buffer.length) {
      const n = this.writeSync(fd, buffer, offset, buffer.length - offset);
      if (!(n > 0)) throw new Error(`short write: ${offset} of ${buffer.length} bytes written`);
      offset += n;
    }
    return buffer.length;
  }

  private maybeCompact(): void {
    if (this.compaction || !this.liveEntries) return;
    if (this.size < this.compactMinBytes || this.size < this.compactRatio * this.liveBytes) return;
    const compaction: Compaction = { pending: [], done: Promise.resolve() };
    this.compaction = compaction;
    compaction.done = this.compactInBackground(this.liveEntries(), compaction)
      .catch((err: unknown) =>
        this.warn(
          `background compaction of ${this.file} failed, the journal is kept as it is: ${(err as Error).message}`,
        ),
      )
      .finally(() => {
        this.compaction = undefined;
      });
  }

  /**
   * Writes the live data to a new file in slices, yielding to other work between them; entries
   * appended meanwhile are replayed onto it (they are whole-document writes, so replaying them over
   * a state read a little later still ends in the same data). Then, synchronously, the new file
   * replaces the old and appends continue on it.
   */
  private async compactInBackground(
    entries: Iterable<JournalEntry>,
    job: Compaction,
  ): Promise<void> {
    const tmp = `${this.file}.${process.pid}.compact`;
    const fd = fs.openSync(tmp, 'w');
    let size = 0;
    let swapped = false;
    try {
      let slice = 0;
      for (const entry of entries) {
        for (const line of encodeLines(entry)) {
          const n = this.writeAll(fd, line);
          size += n;
          slice += n;
        }
        if (slice >= JOURNAL_CHUNK_BYTES) {
          slice = 0;
          await new Promise((resolve) => setImmediate(resolve));
          if (this.fd === undefined) return; // closed meanwhile: keep the old file
        }
      }
      for (const line of job.pending) size += this.writeAll(fd, line);
      fs.closeSync(fd);
      fs.renameSync(tmp, this.file);
      swapped = true;
      this.close();
      this.openForAppend(size);
    } finally {
      if (!swapped) {
        try {
          fs.closeSync(fd);
        } catch {
          // already closed
        }
        fs.rmSync(tmp, { force: true });
      }
    }
  }

  /** Decodes one parsed line; undefined when it is not a journal entry. */
  private decodeLine(raw: RawLine, text: string, lineNo: number): JournalEntry | undefined {
    if (raw.op === 'create' && typeof raw.collection === 'string') {
      return { op: 'create', collection: raw.collection };
    }
    if (raw.op === 'clear') return { op: 'clear' };
    if (raw.op !== 'write' || !Array.isArray(raw.writes)) return undefined;
    const writes: { collection: string; id: DocId; doc: Doc | null }[] = [];
    for (const w of raw.writes) {
      const doc = this.decodeDoc(w.doc);
      if (doc === undefined) return undefined;
      if (doc === 'too deep') {
        this.setAside('rejected', text);
        this.warn(
          `${this.file} line ${lineNo}: document ${w.collection}/${String(w.id)} nests deeper than ${MAX_NESTING_DEPTH} levels, which the database refuses; set that write aside (a copy is in ${this.asideFile('rejected')})`,
        );
        continue;
      }
      writes.push({ collection: w.collection, id: w.id, doc });
    }
    return { op: 'write', writes };
  }

  /** A stored document from its canonical EJSON; undefined if it is not one. */
  private decodeDoc(raw: unknown): Doc | null | 'too deep' | undefined {
    if (raw === null) return null;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
    // A guard for the recursive EJSON decoding (canonical EJSON adds levels: {"$date": {...}}),
    // then the database's own limit on the decoded document.
    if (nestingDepth(raw, 2 * MAX_NESTING_DEPTH) > 2 * MAX_NESTING_DEPTH) return 'too deep';
    let doc: Doc;
    try {
      doc = fromEjsonValue(raw) as Doc;
    } catch {
      return undefined;
    }
    return nestingDepth(doc) > MAX_NESTING_DEPTH ? 'too deep' : doc;
  }

  private corrupt(lineNo: number, text: string): Error {
    return new Error(
      `${this.file} line ${lineNo} is corrupt (${JSON.stringify(text.slice(0, 80))}...); move the file away or repair that line`,
    );
  }

  private asideFile(kind: 'torn' | 'corrupt' | 'rejected'): string {
    return `${this.file}.${kind}`;
  }

  private setAside(kind: 'torn' | 'corrupt' | 'rejected', text: string): void {
    fs.appendFileSync(this.asideFile(kind), `${text}\n`);
  }
}

interface RawLine {
  op?: unknown;
  collection?: unknown;
  more?: unknown;
  writes?: { collection: string; id: DocId; doc: unknown }[];
}

/** One line per entry, and per document for a write (all but the last marked `more`). */
function encodeLines(entry: JournalEntry): string[] {
  if (entry.op !== 'write') return [JSON.stringify(entry)];
  return entry.writes.map((w, i) =>
    JSON.stringify({
      op: 'write',
      writes: [
        {
          collection: w.collection,
          id: w.id,
          doc: w.doc ? EJSON.serialize(w.doc, { relaxed: false }) : null,
        },
      ],
      ...(i < entry.writes.length - 1 ? { more: true } : {}),
    }),
  );
}

/** The error a refused write answers when the journal cannot be written (disk full, ...). */
function journalFailure(file: string, err: unknown): EmulatorError {
  return new EmulatorError(
    'DATABASE_REQUEST_FAILED',
    `wxcloud-emulator could not write its database journal ${file} (${(err as Error).message}); the write was refused and nothing was stored. Free disk space and retry.`,
    500,
  );
}
