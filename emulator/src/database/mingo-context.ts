import { Context, evalExpr } from 'mingo/core';
import * as accumulator from 'mingo/operators/accumulator';
import * as expression from 'mingo/operators/expression';
import * as pipeline from 'mingo/operators/pipeline';
import * as projection from 'mingo/operators/projection';
import * as query from 'mingo/operators/query';
import * as window from 'mingo/operators/window';
import type { Options } from 'mingo/types/types';
import { bounded, boundedList } from './regex';

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

type QueryOperands = Parameters<typeof query.$regex>;

/**
 * Regular expressions in queries run on RE2 under the request's budget (regex.ts): the operators
 * that take regexes get them as BoundedRegExp, and then do what mingo's do.
 */
const boundedQuery = {
  $regex: (selector: string, value: unknown, options: QueryOperands[2]) =>
    query.$regex(selector, bounded(value), options),
  $in: (selector: string, value: unknown, options: QueryOperands[2]) =>
    query.$in(selector, boundedList(value), options),
  $nin: (selector: string, value: unknown, options: QueryOperands[2]) =>
    query.$nin(selector, boundedList(value), options),
  $all: (selector: string, value: unknown, options: QueryOperands[2]) =>
    query.$all(selector, boundedList(value), options),
};

export const MONGO_CONTEXT = Context.init({
  accumulator,
  expression: { ...expression, $indexOfCP, $trunc, $week, $isoWeekYear },
  pipeline,
  projection,
  query: { ...query, ...boundedQuery },
  window,
});
