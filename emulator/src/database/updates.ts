import { update as applyModifier } from 'mingo';
import { EmulatorError } from '../errors';
import type { UpdateSpec } from './store';
import { clone, sameValue, type Doc } from './values';
import { MONGO_CONTEXT } from './mingo-context';
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
  try {
    applyModifier(
      after,
      spec.modifier as Parameters<typeof applyModifier>[1],
      undefined,
      filter as Parameters<typeof applyModifier>[3],
      { cloneMode: 'deep', queryOptions: { context: MONGO_CONTEXT } },
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
