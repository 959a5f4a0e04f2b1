import { BSONRegExp, EJSON } from 'bson';
import { EmulatorError } from '../errors';
import { MAX_NESTING_DEPTH } from './limits';

/**
 * Values on the wire are canonical EJSON strings (the `bson` package's format, as the SDK sends
 * them); inside the store they are plain JS values (numbers, strings, booleans, null, Date, RegExp,
 * arrays, plain objects) so mingo can query and update them.
 */
export type Doc = Record<string, unknown>;
export type DocId = string | number;

/** Parses one EJSON string from the SDK; `what` names the field in the error. */
export function parseWire(text: unknown, what: string, now: number): unknown {
  if (typeof text !== 'string') {
    throw new EmulatorError('INVALID_PARAM', `${what} must be an EJSON string`);
  }
  let parsed: unknown;
  try {
    parsed = EJSON.parse(text, { relaxed: true });
  } catch (err) {
    // bson's EJSON reviver recurses: thousands of levels overflow the stack. Far past the
    // database's nesting limit (limits.ts), so say that rather than "call stack size".
    if (err instanceof RangeError) {
      throw new EmulatorError(
        'DATABASE_REQUEST_FAILED',
        `${what} nests objects and arrays far deeper than the ${MAX_NESTING_DEPTH} levels the database allows`,
      );
    }
    throw new EmulatorError(
      'INVALID_PARAM',
      `${what} is not valid EJSON: ${(err as Error).message}`,
    );
  }
  return toPlain(parsed, now);
}

/**
 * Turns parsed EJSON into plain JS: BSON regexes become RegExp (what mingo matches with), and
 * `db.serverDate({offset})` (`{$tcb_server_date: {offset}}`) becomes the emulated server's time,
 * in documents, updates and queries alike, as the cloud resolves it on its side.
 */
export function toPlain(value: unknown, now: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof RegExp) return new RegExp(value.source, value.flags);
  if (value instanceof BSONRegExp) return toRegExp(value.pattern, value.options);
  if (Array.isArray(value)) return value.map((item) => toPlain(item, now));
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && keys[0] === '$tcb_server_date') {
    const spec = record.$tcb_server_date as { offset?: unknown } | null;
    const offset = spec && typeof spec.offset === 'number' ? spec.offset : 0;
    return new Date(now + offset);
  }
  if (
    Object.getPrototypeOf(record) !== Object.prototype &&
    Object.getPrototypeOf(record) !== null
  ) {
    // Other BSON types (ObjectId, Decimal128, ...) are kept as they are and stored opaquely.
    return value;
  }
  const out: Doc = {};
  for (const key of keys) setOwn(out, key, toPlain(record[key], now));
  return out;
}

/**
 * `out[key] = value`, except that a key named `__proto__` stays an own field instead of replacing
 * the object's prototype (plain assignment dropped it without a word). The write checks then
 * refuse it by name (write-checks.ts).
 */
export function setOwn(out: Doc, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    out[key] = value;
  }
}

/** BSON regex options (`imsx`) to a JS RegExp; `x` has no JS equivalent and is refused. */
function toRegExp(pattern: string, options: string): RegExp {
  const flags = options.replace(/[^ims]/g, (flag) => {
    throw new EmulatorError(
      'DATABASE_INVALID_OPERRATOR',
      `regular expression option "${flag}" is not supported by wxcloud-emulator (use i, m or s)`,
    );
  });
  try {
    return new RegExp(pattern, flags);
  } catch (err) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `invalid regular expression: ${(err as Error).message}`,
    );
  }
}

/** A deep copy of a stored value (documents never share objects with callers). */
export function clone<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (value instanceof RegExp) return new RegExp(value.source, value.flags) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => clone(item)) as T;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Doc = {};
  for (const [key, item] of Object.entries(value as Doc)) setOwn(out, key, clone(item));
  return out as T;
}

/** Canonical EJSON text, the form the SDK parses (and the journal stores: types survive). */
export function toCanonical(value: unknown): string {
  return EJSON.stringify(value as Doc, { relaxed: false });
}

/** Relaxed EJSON as a JSON value: numbers and strings plain, dates `{"$date": "ISO"}`. */
export function toRelaxed(value: unknown): unknown {
  return JSON.parse(EJSON.stringify(value as Doc, { relaxed: true })) as unknown;
}

/** Parses relaxed or canonical EJSON already parsed as JSON (export files, journal lines). */
export function fromEjsonValue(value: unknown): unknown {
  return toPlain(EJSON.deserialize(value as Doc, { relaxed: true }), Date.now());
}

/**
 * Equality of stored values as their canonical EJSON would compare (type-exact, key-order
 * sensitive; undefined written as null, -0 as 0), walked directly instead of serialising both
 * sides: this runs on every update and rule check. Values other than plain JS ones (ObjectId,
 * Decimal128...) are compared by their EJSON.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && Object.is(a.getTime(), b.getTime());
  }
  if (a instanceof RegExp || b instanceof RegExp) {
    return (
      a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags
    );
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item: unknown, i) => sameValue(item, b[i]));
  }
  if (!isPlainRecord(a) || !isPlainRecord(b)) {
    return toCanonical({ v: a }) === toCanonical({ v: b });
  }
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key, i) => key === keysB[i] && sameValue(a[key], b[key]));
}

function isPlainRecord(value: object): value is Doc {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function isDocId(value: unknown): value is DocId {
  return (typeof value === 'string' && value.length > 0) || typeof value === 'number';
}
