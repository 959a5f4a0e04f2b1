import type { Query } from 'mingo/query';
import { EmulatorError } from '../errors';
import { mongoQuery } from './mingo-context';
import { cheapFirst } from './query-plan';
import type { Doc } from './values';

/**
 * Compiled mingo queries, cached by the filter's exact content: compiling costs 10-25 µs, more
 * than testing a document, and watches, sweeps and polling loops send the same filter again and
 * again. Filters whose meaning depends on the moment they run (`$expr` may read `$$NOW`, which
 * mingo fixes per compiled query; `$where` runs code) are compiled each time.
 */

const CACHE_SIZE = 500;
const cache = new Map<string, Query<Doc>>();
const UNCACHEABLE_OPERATORS = new Set(['$expr', '$where', '$function', '$accumulator']);

export function compileQuery(filter: Doc): Query<Doc> {
  const key = filterKey(filter);
  if (key !== undefined) {
    const cached = cache.get(key);
    if (cached) {
      // Most recently used last, so the oldest is the first to go.
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
  }
  let query: Query<Doc>;
  try {
    query = mongoQuery(cheapFirst(filter));
  } catch (err) {
    if (err instanceof EmulatorError) throw err;
    throw new EmulatorError(
      'DATABASE_INVALID_OPERRATOR',
      `invalid query: ${(err as Error).message}`,
    );
  }
  if (key !== undefined) {
    cache.set(key, query);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  return query;
}

/**
 * A text that differs whenever two filters could match differently: typed (the string "1", the
 * number 1 and a Date are distinct) and key-order sensitive. Undefined when not cacheable.
 */
export function filterKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? 'n-0' : `n${value}`;
    case 'boolean':
      return value ? 'T' : 'F';
    case 'undefined':
      return 'u';
    case 'object': {
      if (value === null) return 'z';
      if (value instanceof Date) return `D${value.getTime()}`;
      if (value instanceof RegExp) return `R${JSON.stringify(value.source)}/${value.flags}`;
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (const item of value) {
          const key = filterKey(item);
          if (key === undefined) return undefined;
          items.push(key);
        }
        return `[${items.join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return undefined;
      const parts: string[] = [];
      for (const [field, item] of Object.entries(value as Doc)) {
        if (UNCACHEABLE_OPERATORS.has(field)) return undefined;
        const key = filterKey(item);
        if (key === undefined) return undefined;
        parts.push(`${JSON.stringify(field)}:${key}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return undefined;
  }
}
