/**
 * The invocation history (GET /emulator/v1/functions/invocations, the console) bounded by bytes as
 * well as by count, so a function that logs 50 MB per call cannot grow the emulator without end:
 * - one log line keeps at most LOG_LINE_CHARS characters, one invocation LOG_CHARS of logs in all
 *   (then a single marker line says how many lines were dropped);
 * - an event or result larger than VALUE_CHARS (as JSON) is kept as a marker with its size and
 *   the start of its JSON; the caller still gets the whole result, only the history is trimmed;
 * - the oldest invocations go once the history holds more than RECORDS of them or TOTAL_CHARS.
 * The cloud keeps its logs elsewhere and longer (the console's 日志); these are the emulator's.
 */
export const HISTORY_LIMITS = {
  records: 1000,
  totalChars: 32 * 1024 * 1024,
  logLineChars: 16 * 1024,
  logChars: 256 * 1024,
  valueChars: 256 * 1024,
} as const;

/** `text` cut to `max` characters with a marker saying how much was cut. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [truncated by wxcloud-emulator: ${text.length - max} more characters]`;
}

/** `value` as the history keeps it: itself, or a marker when its JSON is too large. */
export function keptValue(value: unknown, max: number = HISTORY_LIMITS.valueChars): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return { truncatedByEmulator: 'not serialisable as JSON' };
  }
  if (json === undefined || json.length <= max) return value;
  return {
    truncatedByEmulator: `${json.length} characters of JSON, over the history's ${max}; the caller received all of it`,
    start: json.slice(0, 1024),
  };
}

/** Approximate size of a value in the history (its JSON length). */
export function sizeOf(value: unknown): number {
  try {
    return JSON.stringify(value)?.length ?? 0;
  } catch {
    return 0;
  }
}

/** Records by id, oldest first, evicted by count and by their accounted size. */
export class BoundedHistory<R> {
  private readonly records = new Map<string, R>();
  private readonly sizes = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits = HISTORY_LIMITS) {}

  set(id: string, record: R, size: number): void {
    this.records.set(id, record);
    this.sizes.set(id, size);
    this.total += size;
    this.evict(id);
  }

  /** Accounts `size` more characters to a record (a log line, its final result). */
  grow(id: string, size: number): void {
    const current = this.sizes.get(id);
    if (current === undefined) return;
    this.sizes.set(id, current + size);
    this.total += size;
    this.evict(id);
  }

  get(id: string): R | undefined {
    return this.records.get(id);
  }

  /** The characters accounted to a record so far (undefined once it has been evicted). */
  sizeOfRecord(id: string): number | undefined {
    return this.sizes.get(id);
  }

  values(): IterableIterator<R> {
    return this.records.values();
  }

  clear(): void {
    this.records.clear();
    this.sizes.clear();
    this.total = 0;
  }

  /** Drops the oldest records (never `keep`, the one being written) while over a limit. */
  private evict(keep: string): void {
    while (this.records.size > this.limits.records || this.total > this.limits.totalChars) {
      const oldest = this.records.keys().next().value as string | undefined;
      if (oldest === undefined || oldest === keep) return;
      this.total -= this.sizes.get(oldest) ?? 0;
      this.records.delete(oldest);
      this.sizes.delete(oldest);
    }
  }
}
