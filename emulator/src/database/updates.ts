import { update as applyModifier } from 'mingo/updater';
import { EmulatorError } from '../errors';
import type { UpdateSpec } from './store';
import { clone, sameValue, type Doc } from './values';
import { MONGO_CONTEXT, UPDATE_QUERY_CONTEXT } from './mingo-context';
import { checkFieldNames, checkOperandTypes, checkUpdateFieldNames } from './write-checks';

/** How an update turns a stored document into its next version (mingo's update operators). */

/**
 * The document `spec` makes of `before` (a copy: `before` is never changed). The filter goes to
 * the update engine for the positional `$` (MongoDB manual, "$ (update)"); a wrong-typed operand
 * or a field name MongoDB cannot store refuses the write (write-checks.ts).
 */
export function applyUpdate(before: Doc, spec: UpdateSpec, filter: Doc): Doc {
  if (spec.kind === 'replace') {
    if ('_id' in spec.doc && !sameValue(spec.doc._id, before._id)) {
      throw new EmulatorError('INVALID_PARAM', 'a replacement document may not change _id');
    }
    checkFieldNames(spec.doc);
    return { ...clone(spec.doc), _id: before._id };
  }
  checkUpdateFieldNames(spec.modifier);
  checkOperandTypes(before, spec.modifier);
  const after = clone(before);
  // The filter matters to mingo only for the positional `$` (it re-runs it to find the element);
  // `before` already matched it. Passing it otherwise let mingo's own operators, which its top
  // level `update` prefers to the emulator's, decide again and skip a matched document (e.g.
  // {tags: {$all: ['x']}} on tags: 'x'). mingo/updater keeps the emulator's operators first.
  const positional = usesPositional(spec.modifier);
  const condition = positional ? filter : {};
  const context =
    hasKey(spec.modifier, '$expr') || (positional && hasKey(filter, '$expr'))
      ? MONGO_CONTEXT
      : UPDATE_QUERY_CONTEXT;
  try {
    applyModifier(
      after,
      spec.modifier as Parameters<typeof applyModifier>[1],
      undefined,
      condition as Parameters<typeof applyModifier>[3],
      { cloneMode: 'deep', queryOptions: { context } },
    );
  } catch (err) {
    throw new EmulatorError('DATABASE_REQUEST_FAILED', `invalid update: ${(err as Error).message}`);
  }
  if (!sameValue(after._id, before._id)) {
    throw new EmulatorError('INVALID_PARAM', 'an update may not change _id');
  }
  checkFieldNames(after);
  return after;
}

/** Whether an update names a field through `$`, `$[]` or `$[<id>]` (MongoDB's positional forms). */
function usesPositional(modifier: Doc): boolean {
  for (const fields of Object.values(modifier)) {
    if (fields === null || typeof fields !== 'object') continue;
    for (const path of Object.keys(fields)) if (path.includes('$')) return true;
    // $rename's targets are paths too.
    for (const target of Object.values(fields)) {
      if (typeof target === 'string' && target.includes('$')) return true;
    }
  }
  return false;
}

/** Whether `key` appears as a field name anywhere in `value` (arrays and nested objects). */
function hasKey(value: unknown, key: string): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => hasKey(item, key));
  for (const [k, v] of Object.entries(value)) if (k === key || hasKey(v, key)) return true;
  return false;
}

/** The top-level equality conditions of a filter: what an upsert's new document starts from. */
export function equalityFields(filter: Doc): Doc {
  const seed: Doc = {};
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$') || key.includes('.')) continue;
    const isOperator =
      value !== null &&
      typeof value === 'object' &&
      !(value instanceof Date) &&
      !(value instanceof RegExp) &&
      Object.keys(value).some((k) => k.startsWith('$'));
    if (!isOperator && !(value instanceof RegExp)) seed[key] = clone(value);
  }
  return seed;
}
