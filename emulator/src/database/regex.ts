import { RE2JS } from 're2js';
import { EmulatorError } from '../errors';

/**
 * Regular expressions in queries run on a linear-time engine (RE2, the `re2js` port) instead of
 * JavaScript's backtracking one, so no pattern (`^(a+)+$` and friends) can freeze the emulator,
 * and each request's regex work has a time budget. Where we knowingly differ from the cloud:
 * MongoDB's PCRE also accepts lookaround and backreferences; RE2 has neither, so such a pattern is
 * refused with a clear error instead of being run.
 */

/**
 * One request's regex budget. The cloud answers a query that runs too long with DATABASE_TIMEOUT
 * ("数据库请求超时,查询或操作执行时间过长", docs.cloudbase.net/error-code/DATABASE_TIMEOUT); its
 * own limit is not documented. 2 s here: past it the request fails the same way.
 */
export const REGEX_BUDGET_MS = 2000;

let deadline = Infinity;
let budgetMs = REGEX_BUDGET_MS;
let evaluations = 0;

/**
 * Runs `work` (one database request) with a regex budget of `ms`; nested budgets keep the
 * earlier deadline. Synchronous, like every store operation.
 */
export function withRegexBudget<T>(work: () => T, ms = REGEX_BUDGET_MS): T {
  const outer = { deadline, budgetMs };
  if (Date.now() + ms < deadline) {
    deadline = Date.now() + ms;
    budgetMs = ms;
  }
  try {
    return work();
  } finally {
    deadline = outer.deadline;
    budgetMs = outer.budgetMs;
  }
}

/** How many strings query regexes have been run against (tests use it to see what was touched). */
export function regexEvaluations(): number {
  return evaluations;
}

/** Throws the cloud's timeout once the request's regex budget is spent. */
export function checkRegexBudget(): void {
  if (Date.now() > deadline) {
    throw new EmulatorError(
      'DATABASE_TIMEOUT',
      `Database request timeout: the query's regular expressions ran past wxcloud-emulator's ${budgetMs} ms budget; narrow the query with exact conditions first`,
    );
  }
}

/** Counts one string a regex is run against (see `regexEvaluations`). */
export function countRegexEvaluation(): void {
  evaluations += 1;
}

const compiled = new Map<string, RE2JS>();
const CACHE_SIZE = 500;

/** The pattern compiled for RE2 (cached), or the refusal naming what RE2 cannot run. */
export function toRe2(source: string, flags: string): RE2JS {
  const key = `${flags}/${source}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  let mask = 0;
  if (flags.includes('i')) mask |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) mask |= RE2JS.MULTILINE;
  if (flags.includes('s')) mask |= RE2JS.DOTALL;
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, mask);
  } catch (err) {
    throw new EmulatorError(
      'DATABASE_INVALID_OPERRATOR',
      `regular expression /${source}/${flags} is not supported by wxcloud-emulator's linear-time regex engine (RE2: no lookaround, no backreferences): ${(err as Error).message}`,
    );
  }
  if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, re);
  return re;
}

/**
 * A RegExp whose matching runs on RE2 under the request's budget. It stays a RegExp (mingo
 * recognises regexes by `instanceof`), but `exec` and `test` never backtrack.
 */
export class BoundedRegExp extends RegExp {
  private readonly re2: RE2JS;
  private last: { text: string; found: RegExpExecArray | null } | undefined;

  constructor(source: string, flags: string) {
    super(source, flags.replace('g', '').replace('y', ''));
    this.re2 = toRe2(source, this.flags);
  }

  override exec(input: string): RegExpExecArray | null {
    checkRegexBudget();
    const text = String(input);
    // mingo tests a non-matching scalar twice (as itself, then flattened): answer the repeat.
    if (this.last?.text === text) return this.last.found;
    countRegexEvaluation();
    const matcher = this.re2.matcher(text);
    let found: RegExpExecArray | null = null;
    if (matcher.find()) {
      found = [matcher.group(0) ?? ''] as unknown as RegExpExecArray;
      found.index = matcher.start(0);
      found.input = text;
    }
    this.last = { text, found };
    return found;
  }

  override test(input: string): boolean {
    return this.exec(input) !== null;
  }
}

/** The regex as a BoundedRegExp (a string `$regex` with its `$options`, or a RegExp). */
export function bounded(pattern: unknown, options?: unknown): unknown {
  if (pattern instanceof BoundedRegExp) return pattern;
  if (pattern instanceof RegExp) return new BoundedRegExp(pattern.source, pattern.flags);
  if (typeof pattern === 'string') {
    return new BoundedRegExp(pattern, typeof options === 'string' ? options : '');
  }
  return pattern;
}

/** An array operand with every regex in it bounded (`$in`, `$nin`, `$all`). */
export function boundedList(values: unknown): unknown {
  return Array.isArray(values) ? values.map((v) => (v instanceof RegExp ? bounded(v) : v)) : values;
}
