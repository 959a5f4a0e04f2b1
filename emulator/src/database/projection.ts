import { EmulatorError } from '../errors';
import { mongoQuery } from './mingo-context';
import type { Doc } from './values';

/**
 * find()'s projection (`field()` in the SDK, `db.command.project.slice/elemMatch`) with MongoDB
 * 4.x's rules where mingo 7 differs (MongoDB manual, "Projection"):
 * - `$slice` is not an inclusion: `{arr: {$slice: 1}}` alone returns every field, `arr` sliced;
 * - `$elemMatch` with no matching element omits the field (mingo leaves it undefined, which the
 *   wire turned into null).
 */

const MATCH_ALL = mongoQuery({});

function isSlice(value: unknown): value is { $slice: unknown } {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    '$slice' in value
  );
}

/** A value that makes the projection an inclusion: `1`/`true`, `$elemMatch`, an expression. */
function includes(value: unknown): boolean {
  if (value === 0 || value === false) return false;
  return !isSlice(value);
}

export function projectDocs(docs: Doc[], projection: Doc | undefined): Doc[] {
  if (!projection || !Object.keys(projection).length) return docs;
  const entries = Object.entries(projection);
  const inclusion = entries.some(([field, value]) => field !== '_id' && includes(value));
  let projected: Doc[];
  if (inclusion) {
    projected = run(docs, projection);
  } else {
    // Exclusions and slices: mingo applies the exclusions, the slices are applied here.
    const exclusions = Object.fromEntries(entries.filter(([, value]) => !isSlice(value)));
    projected = Object.keys(exclusions).length ? run(docs, exclusions) : docs;
    const slices = entries.filter(([, value]) => isSlice(value)) as [string, { $slice: unknown }][];
    for (const doc of projected) {
      for (const [field, { $slice }] of slices) sliceField(doc, field, $slice);
    }
  }
  for (const doc of projected) dropUndefined(doc);
  return projected;
}

function run(docs: Doc[], projection: Doc): Doc[] {
  try {
    return MATCH_ALL.find<Doc>(docs, projection).all();
  } catch (err) {
    throw new EmulatorError(
      'DATABASE_INVALID_OPERRATOR',
      `invalid projection: ${(err as Error).message}`,
    );
  }
}

/** `$slice: n` (first n, or last -n) or `[skip, limit]` (skip from the end when negative). */
function sliceField(doc: Doc, path: string, spec: unknown): void {
  const parts = path.split('.');
  let holder: unknown = doc;
  for (const part of parts.slice(0, -1)) {
    holder = holder && typeof holder === 'object' ? (holder as Doc)[part] : undefined;
  }
  if (!holder || typeof holder !== 'object' || Array.isArray(holder)) return;
  const leaf = parts[parts.length - 1];
  const array = (holder as Doc)[leaf];
  if (!Array.isArray(array)) return; // MongoDB returns a non-array field unchanged
  let sliced: unknown[];
  if (typeof spec === 'number' && Number.isInteger(spec)) {
    sliced = spec >= 0 ? array.slice(0, spec) : array.slice(Math.max(array.length + spec, 0));
  } else if (
    Array.isArray(spec) &&
    spec.length === 2 &&
    spec.every((n) => typeof n === 'number' && Number.isInteger(n)) &&
    (spec[1] as number) > 0
  ) {
    const [skip, limit] = spec as [number, number];
    const start = skip >= 0 ? skip : Math.max(array.length + skip, 0);
    sliced = array.slice(start, start + limit);
  } else {
    throw new EmulatorError(
      'DATABASE_INVALID_OPERRATOR',
      `$slice of ${path} must be an integer or [skip, positive limit], got ${JSON.stringify(spec)}`,
    );
  }
  (holder as Doc)[leaf] = sliced;
}

/** Stored values are never undefined: an undefined one is a projection that found nothing. */
function dropUndefined(value: unknown): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) dropUndefined(item);
    return;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return;
  for (const [key, item] of Object.entries(value as Doc)) {
    if (item === undefined) Reflect.deleteProperty(value, key);
    else dropUndefined(item);
  }
}
