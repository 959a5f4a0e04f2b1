import { EmulatorError } from '../errors';
import { toCanonical, type Doc } from './values';

/**
 * Writes MongoDB 4.x refuses, which mingo would silently accept or skip. The cloud hands MongoDB's
 * error back as a failed database request; the messages are MongoDB's wording.
 */

function isPlainObject(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const PROTO = '__proto__';

/**
 * A field named `__proto__`. MongoDB would store it; we knowingly differ: documents live here as
 * JavaScript objects, where that key replaces the prototype and the field silently vanished. It is
 * refused like the names MongoDB refuses, with the same error code (the wording is ours).
 */
function protoField(at: string): EmulatorError {
  return new EmulatorError(
    'DATABASE_REQUEST_FAILED',
    `The field '${PROTO}' in '${at}' is not valid for storage in wxcloud-emulator (JavaScript objects cannot hold it); rename the field.`,
  );
}

/**
 * Field names an update may not write: a path through `__proto__` (`m.__proto__.x`), or a value
 * holding a `__proto__` field. Checked on the update itself, before mingo applies it (mingo's
 * assignment would drop the field or touch a prototype).
 */
export function checkUpdateFieldNames(modifier: Doc): void {
  for (const fields of Object.values(modifier)) {
    if (!isPlainObject(fields)) continue;
    for (const [path, operand] of Object.entries(fields)) {
      if (path.split('.').includes(PROTO)) throw protoField(path);
      if (isPlainObject(operand) || Array.isArray(operand)) {
        const nested = findProto(operand, path);
        if (nested) throw protoField(nested);
      }
    }
  }
}

/** The path of the first `__proto__` field inside `value`, if any. */
function findProto(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findProto(item, `${path}.${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (key === PROTO) return at;
    const found = findProto(item, at);
    if (found) return found;
  }
  return undefined;
}

/**
 * Field names a stored document may not have (MongoDB 4.x storage validation): a name starting
 * with `$` (DollarPrefixedFieldName, "The dollar ($) prefixed field '$x' in '$x' is not valid for
 * storage.") and a name containing `.` (DottedFieldName, "The dotted field 'a.b' in 'a.b' is not
 * valid for storage."). Without this, a stored `$` name makes the collection unqueryable.
 */
export function checkFieldNames(doc: Doc): void {
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}.${i}`));
      return;
    }
    if (!isPlainObject(value)) return;
    for (const [key, item] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (key.startsWith('$')) {
        throw new EmulatorError(
          'DATABASE_REQUEST_FAILED',
          `The dollar ($) prefixed field '${key}' in '${at}' is not valid for storage.`,
        );
      }
      if (key.includes('.')) {
        throw new EmulatorError(
          'DATABASE_REQUEST_FAILED',
          `The dotted field '${key}' in '${at}' is not valid for storage.`,
        );
      }
      if (key === PROTO) throw protoField(at);
      walk(item, at);
    }
  };
  walk(doc, '');
}

/** The value at a dotted path through embedded documents (not arrays); undefined when absent. */
function valueAt(doc: Doc, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(value) && /^\d+$/.test(part)) value = value[Number(part)];
    else if (isPlainObject(value)) value = value[part];
    else return undefined;
  }
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  if (typeof value === 'number') return 'double';
  if (typeof value === 'object') return isPlainObject(value) ? 'object' : 'objectId';
  return typeof value;
}

const NUMERIC = new Set(['$inc', '$mul']);
const ARRAY = new Set(['$push', '$addToSet', '$pop', '$pull', '$pullAll']);

/**
 * An operator applied to a field of the wrong type: MongoDB refuses the whole write (TypeMismatch,
 * code 14) where mingo skips the field and reports nothing changed. Paths through an array
 * element (`a.$`, `a.0.b`) are left to the update engine.
 */
export function checkOperandTypes(before: Doc, modifier: Doc): void {
  const id = toCanonical({ _id: before._id });
  for (const [operator, fields] of Object.entries(modifier)) {
    if (!isPlainObject(fields)) continue;
    for (const [path, operand] of Object.entries(fields)) {
      if (path.includes('$')) continue;
      const current = valueAt(before, path);
      if (NUMERIC.has(operator)) {
        const verb = operator === '$inc' ? 'increment' : 'multiply';
        if (typeof operand !== 'number') {
          throw new EmulatorError(
            'DATABASE_REQUEST_FAILED',
            `Cannot ${verb} with non-numeric argument: ${toCanonical({ [path]: operand })}`,
          );
        }
        if (current !== undefined && typeof current !== 'number') {
          throw new EmulatorError(
            'DATABASE_REQUEST_FAILED',
            `Cannot apply ${operator} to a value of non-numeric type. ${id} has the field '${path.split('.').pop()}' of non-numeric type ${typeName(current)}`,
          );
        }
      } else if (ARRAY.has(operator) && current !== undefined && !Array.isArray(current)) {
        throw new EmulatorError(
          'DATABASE_REQUEST_FAILED',
          operator === '$pull' || operator === '$pullAll'
            ? `Cannot apply ${operator} to a non-array value`
            : `The field '${path}' must be an array but is of type ${typeName(current)} in document ${id}`,
        );
      }
    }
  }
}
