import { Context, evalExpr } from 'mingo/core';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import * as window from 'mingo/operators/window';
import { Query } from 'mingo/query';
import type { Options } from 'mingo/types/types';
import { resolve } from 'mingo/util';
import { EmulatorError, notEmulated } from '../errors';
import { intersects, nearMatches, nearSpecOf, within } from './geo';
import { bounded, boundedList } from './regex';
import { regexExpressions } from './regex-expressions';

/**
 * mingo's operators as the emulated database uses them: all of mingo 7's, with the corrections
 * below where mingo differs from MongoDB 4.x (the cloud's engine). Operators named here replace
 * mingo's (mingo's own default context cannot be overridden, so this one is built from its
 * operator modules).
 */

/**
 * `$indexOfCP` is in `db.command.aggregate` but not in mingo 7: MongoDB's definition (index in
 * code points, -1 when absent, null for a null string) registered as an extra expression operator.
 */
function $indexOfCP(obj: Record<string, unknown>, expr: unknown, options: Options): unknown {
  if (!Array.isArray(expr) || expr.length < 2 || expr.length > 4) {
    throw new Error('$indexOfCP expects an array of 2 to 4 arguments');
  }
  const [str, search, start, end] = evalExpr(obj, expr, options) as unknown[];
  if (str === null || str === undefined) return null;
  if (typeof str !== 'string')
    throw new Error('$indexOfCP requires a string as the first argument');
  if (typeof search !== 'string')
    throw new Error('$indexOfCP requires a string as the second argument');
  const points = Array.from(str);
  const needle = Array.from(search);
  const from = start === undefined ? 0 : Number(start);
  const to = end === undefined ? points.length : Math.min(Number(end), points.length);
  for (let i = from; i + needle.length <= to; i++) {
    if (needle.every((ch, j) => points[i + j] === ch)) return i;
  }
  return -1;
}

/**
 * `$trunc` as MongoDB 4.x (the cloud's engine) takes it: `{$trunc: <number>}`, also the 4.2 form
 * `[<number>, <place>]`. mingo 7 accepts only the array form.
 */
function $trunc(obj: Record<string, unknown>, expr: unknown, options: Options): unknown {
  const args = Array.isArray(expr) ? expr : [expr];
  const value = evalExpr(obj, args[0], options);
  const place = args.length > 1 ? evalExpr(obj, args[1], options) : 0;
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || typeof place !== 'number') {
    throw new Error('$trunc only supports numeric types');
  }
  const scale = 10 ** place;
  return Math.trunc(value * scale) / scale;
}

type Operands = [Record<string, unknown>, unknown, Options];

/**
 * `$week` as MongoDB defines it (strftime's %U): weeks start on Sunday, days before the year's
 * first Sunday are week 0. mingo 7 derives it from the ISO week, which is off by one for most
 * dates (2019-03-10 gives 11; MongoDB gives 10). Built on mingo's correct `$dayOfYear` and
 * `$dayOfWeek`, so the `{date, timezone}` form works as theirs does.
 */
function $week(...args: Operands): unknown {
  const dayOfYear = expression.$dayOfYear(...args);
  const dayOfWeek = expression.$dayOfWeek(...args);
  if (typeof dayOfYear !== 'number' || typeof dayOfWeek !== 'number') return null;
  return Math.floor((dayOfYear + 6 - dayOfWeek) / 7);
}

/**
 * `$isoWeekYear`: the year the ISO week belongs to (2021-01-01 is in week 53 of 2020). mingo 7
 * only corrects January 1st when it is a Sunday.
 */
function $isoWeekYear(...args: Operands): unknown {
  const year = expression.$year(...args);
  const month = expression.$month(...args);
  const week = expression.$isoWeek(...args);
  if (typeof year !== 'number' || typeof month !== 'number' || typeof week !== 'number') {
    return null;
  }
  if (month === 1 && week >= 52) return year - 1;
  if (month === 12 && week === 1) return year + 1;
  return year;
}

type Doc = Record<string, unknown>;
type Predicate = (doc: Doc) => boolean;

const LOGICAL = new Set(['$and', '$or', '$nor']);

function isDocument(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * `$elemMatch` as MongoDB's manual defines it: with field conditions (`{value: {$exists: true}}`)
 * only an embedded document can be the matching element; with operators only (`{$gt: 5}`) the
 * elements themselves are compared. mingo 7 also lets scalars match field conditions.
 */
function $elemMatch(selector: string, criteria: unknown, options: Options): Predicate {
  if (!isDocument(criteria)) {
    throw new EmulatorError('DATABASE_INVALID_OPERRATOR', '$elemMatch needs an object');
  }
  const keys = Object.keys(criteria);
  const operatorsOnly = keys.length > 0 && keys.every((k) => k.startsWith('$') && !LOGICAL.has(k));
  const inner = new Query(operatorsOnly ? { element: criteria } : criteria, options);
  const matches = operatorsOnly
    ? (element: unknown) => inner.test({ element })
    : (element: unknown) => isDocument(element) && inner.test(element);
  return (doc) => {
    const value = resolve(doc, selector, { unwrapArray: true });
    return Array.isArray(value) && value.some(matches);
  };
}

/**
 * `$all` as MongoDB's manual defines it: `{f: {$all: [a, b]}}` is equivalent to
 * `{$and: [{f: a}, {f: b}]}`, so `$all: ['x']` also matches a field equal to 'x' (mingo 7 wants an
 * array); an `{$elemMatch}` item is `{f: {$elemMatch}}`. An empty list matches nothing.
 */
function $all(selector: string, values: unknown, options: Options): Predicate {
  if (!Array.isArray(values)) {
    throw new EmulatorError('DATABASE_INVALID_OPERRATOR', '$all needs an array');
  }
  if (!values.length) return () => false;
  const conditions = values.map((value: unknown) => {
    const elemMatch = isDocument(value) && Object.keys(value).join() === '$elemMatch';
    const condition = elemMatch || value instanceof RegExp ? value : { $eq: value };
    return { [selector]: condition };
  });
  const inner = new Query({ $and: conditions }, options);
  return (doc) => inner.test(doc);
}

/** The geo query operators over GeoJSON fields (geo.ts). `$near`/`$nearSphere` also sort: store. */
function geoOperator(test: (stored: unknown, value: unknown) => boolean) {
  return (selector: string, value: unknown, _options: Options): Predicate =>
    (doc) =>
      test(resolve(doc, selector), value);
}
function nearOperator(operator: string) {
  return (selector: string, value: unknown, _options: Options): Predicate => {
    const spec = nearSpecOf(value, operator);
    return (doc) => nearMatches(resolve(doc, selector), spec);
  };
}
/**
 * Regular expressions in queries run on RE2 under the request's budget (regex.ts): the operators
 * that take regexes get them as BoundedRegExp, and then do what mingo's do (`$all` above turns its
 * regexes into `$regex` conditions).
 */
const boundedQuery = {
  $regex: (selector: string, value: unknown, options: Options) =>
    query.$regex(selector, bounded(value), options),
  $in: (selector: string, value: unknown, options: Options) =>
    query.$in(selector, boundedList(value), options),
  $nin: (selector: string, value: unknown, options: Options) =>
    query.$nin(selector, boundedList(value), options),
};

/** Query operators the emulator knowingly does not run: refused by name (docs/database.md). */
function refused(feature: string) {
  return (): Predicate => {
    throw notEmulated(feature);
  };
}

/** The query operators, mingo's with the corrections above. */
const QUERY_OPERATORS = {
  ...query,
  ...boundedQuery,
  $elemMatch,
  $all,
  $jsonSchema: refused('the $jsonSchema query operator'),
  $near: nearOperator('$near'),
  $nearSphere: nearOperator('$nearSphere'),
  $geoWithin: geoOperator(within),
  $geoIntersects: geoOperator(intersects),
};

export const MONGO_CONTEXT = Context.init({
  accumulator,
  expression: { ...expression, ...regexExpressions, $indexOfCP, $trunc, $week, $isoWeekYear },
  pipeline,
  projection,
  query: QUERY_OPERATORS,
  window,
});

/**
 * The same query operators without the expression operators, for updates that evaluate no
 * expression (updates.ts): mingo copies the context it is given on every update, and copying the
 * ~200 expression operators was most of an update's cost.
 */
export const UPDATE_QUERY_CONTEXT = Context.init({ query: QUERY_OPERATORS });

/** A compiled query with the emulator's operators (MONGO_CONTEXT). */
export function mongoQuery(filter: Doc): Query<Doc> {
  // A top-level operator mingo does not know would read as "unknown top level operator".
  if ('$text' in filter) throw notEmulated('the $text query operator (text search)');
  return new Query<Doc>(filter, { context: MONGO_CONTEXT });
}
