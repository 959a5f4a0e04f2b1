import { calculateObjectSize } from 'bson';
import { EmulatorError } from '../errors';
import type { Doc } from './values';

/**
 * The document limits the cloud database inherits from MongoDB ("MongoDB Limits and Thresholds",
 * https://www.mongodb.com/docs/v3.2/reference/limits/): "MongoDB supports no more than 100 levels
 * of nesting for BSON documents" and "The maximum BSON document size is 16 megabytes"
 * (16,777,216 bytes). MongoDB refuses such a write since 3.4.4 (SERVER-26703 for inserts,
 * SERVER-28347 for updates); so does the emulator, before anything is journalled or stored. The
 * bound also keeps every recursive walk of a stored document (clone, EJSON, mingo) shallow, so a
 * hostile document can no longer make the data dir unloadable.
 */
export const MAX_NESTING_DEPTH = 100;
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/**
 * How deeply objects and arrays nest in `value` (a document itself is level 1; MongoDB counts
 * arrays and objects alike, DOCS-15222), walking iteratively so any depth can be measured. Stops
 * counting once past `stopAfter`.
 */
export function nestingDepth(value: unknown, stopAfter = MAX_NESTING_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (!isContainer(item)) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > stopAfter) return deepest;
    const children = Array.isArray(item) ? item : Object.values(item as Doc);
    for (const child of children) if (isContainer(child)) stack.push([child, depth + 1]);
  }
  return deepest;
}

function isContainer(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  // Dates, regexes and BSON values (ObjectId, Decimal128, ...) are leaves, as in BSON.
  return proto === Object.prototype || proto === null;
}

/** The error for a document past the nesting limit; `insert` words it as MongoDB's insert path. */
export function tooDeep(kind: 'insert' | 'update'): EmulatorError {
  // MongoDB's insert wording ("cannot insert document because it exceeds 100 levels of
  // nesting"); the update wording is the emulator's, modelled on it.
  return new EmulatorError(
    'DATABASE_REQUEST_FAILED',
    kind === 'insert'
      ? `cannot insert document because it exceeds ${MAX_NESTING_DEPTH} levels of nesting`
      : `the update would make the document exceed ${MAX_NESTING_DEPTH} levels of nesting`,
  );
}

/** Refuses a document that breaks a limit; nothing has been written when this throws. */
export function checkDocumentLimits(doc: Doc, kind: 'insert' | 'update'): void {
  if (nestingDepth(doc) > MAX_NESTING_DEPTH) throw tooDeep(kind);
  // Depth is bounded now, so bson's recursive size calculation is safe.
  const size = calculateObjectSize(doc);
  if (size > MAX_DOCUMENT_BYTES) {
    // MongoDB's insert wording ("object to insert too large. size in bytes: N, max size: M").
    throw new EmulatorError(
      'DATABASE_REQUEST_FAILED',
      kind === 'insert'
        ? `object to insert too large. size in bytes: ${size}, max size: ${MAX_DOCUMENT_BYTES}`
        : `Resulting document after update is larger than ${MAX_DOCUMENT_BYTES} (size in bytes: ${size})`,
    );
  }
}
