import type { Doc } from './values';

/**
 * The order a filter's conditions are tested in. mingo tests them in the order of the filter's
 * keys and stops at the first that fails, so they are put cheapest first: exact matches (the
 * `_openid` a security rule pins, `_id`, equality on a field), then other operators, then regular
 * expressions and expressions last. A client's costly conditions so never run on a document its
 * exact conditions rule out: another user's documents are rejected by their `_openid` before any
 * regex of the caller's sees them (no work, so no timing, depends on them). Reordering a
 * conjunction changes no result. queries.ts compiles every filter through this.
 */
export function cheapFirst(filter: Doc): Doc {
  const entries = Object.entries(filter).map(([key, value]): [string, unknown, number] => {
    if (key === '$and' || key === '$or' || key === '$nor') {
      const items = Array.isArray(value)
        ? value.map((item: unknown) => (isPlainObject(item) ? cheapFirst(item) : item))
        : value;
      const ordered =
        key === '$and' && Array.isArray(items)
          ? [...items].sort((a, b) => costOf(a) - costOf(b))
          : items;
      return [key, ordered, costOf(ordered)];
    }
    if (key.startsWith('$')) return [key, value, 3]; // $expr, $where, $jsonSchema, ...
    return [key, value, conditionCost(value)];
  });
  entries.sort((a, b) => a[2] - b[2]);
  return Object.fromEntries(entries.map(([key, value]) => [key, value]));
}

/** 0 an exact value, 1 other operators, 2 anything holding a regular expression. */
function conditionCost(value: unknown): number {
  if (containsRegex(value)) return 2;
  if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) return 1;
  return 0;
}

function costOf(value: unknown): number {
  if (Array.isArray(value)) return Math.max(0, ...value.map(costOf));
  if (!isPlainObject(value)) return 0;
  return Math.max(
    0,
    ...Object.entries(value).map(([key, item]) =>
      key === '$and' || key === '$or' || key === '$nor'
        ? costOf(item)
        : key.startsWith('$')
          ? 3
          : conditionCost(item),
    ),
  );
}

function containsRegex(value: unknown): boolean {
  if (value instanceof RegExp) return true;
  if (Array.isArray(value)) return value.some(containsRegex);
  if (!isPlainObject(value)) return false;
  return Object.entries(value).some(([key, item]) => key === '$regex' || containsRegex(item));
}

function isPlainObject(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
