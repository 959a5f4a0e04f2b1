import { evalExpr } from 'mingo/core';
import type { Options } from 'mingo/types/types';
import { EmulatorError } from '../errors';
import { checkRegexBudget, countRegexEvaluation, toRe2 } from './regex';

/**
 * The aggregation expressions `$regexMatch`, `$regexFind` and `$regexFindAll` on the same
 * linear-time engine (RE2) and per-request budget as query regexes (regex.ts): mingo's own run
 * JavaScript's backtracking RegExp, which `^(a+)+$` freezes, and its `$regexFindAll` never ends on
 * a pattern that matches the empty string. Semantics from the MongoDB manual ($regexFind,
 * $regexFindAll, $regexMatch): `{input, regex, options}`; `regex` a string or a regex
 * (`/p/i`, `/p/m`); options `i`, `m`, `s` (`x` too on MongoDB: refused here, RE2 has no extended
 * mode); not both in the regex and in `options`; a match is `{match, idx, captures}` with `idx`
 * the code point index (not the byte or UTF-16 index) and `null` for a group that did not take
 * part; no match is `null` / `[]` / `false`, and so is a null or missing input. Error wording
 * follows MongoDB's ("$regexFind needs 'input' to be of type string").
 */

type Name = '$regexMatch' | '$regexFind' | '$regexFindAll';

interface Found {
  match: string;
  idx: number;
  captures: (string | null)[];
}

function fail(message: string): EmulatorError {
  return new EmulatorError('DATABASE_REQUEST_FAILED', `aggregate failed: ${message}`);
}

/** Every match (or only the first), in order, under the request's regex budget. */
function search(
  name: Name,
  obj: unknown,
  expr: unknown,
  options: Options,
  all: boolean,
): Found[] | null {
  if (!expr || typeof expr !== 'object' || Array.isArray(expr)) {
    throw fail(`${name} expects an object of named arguments but found: ${JSON.stringify(expr)}`);
  }
  const unknown = Object.keys(expr).filter((k) => !['input', 'regex', 'options'].includes(k));
  if (unknown.length) throw fail(`${name} found an unknown argument: ${unknown[0]}`);
  const args = expr as { input?: unknown; regex?: unknown; options?: unknown };
  const at = obj as Record<string, unknown>;
  const input = evalExpr(at, args.input, options);
  const regex = evalExpr(at, args.regex, options);
  const extra = args.options === undefined ? undefined : evalExpr(at, args.options, options);
  let source: string;
  let flags = '';
  if (regex instanceof RegExp) {
    source = regex.source;
    flags = regex.flags.replace(/[gyu]/g, '');
    if (typeof extra === 'string' && extra && flags) {
      throw fail(`${name} found regex option(s) specified in both 'regex' and 'option' fields`);
    }
  } else if (typeof regex === 'string') {
    source = regex;
  } else if (regex === null || regex === undefined) {
    return null;
  } else {
    throw fail(`${name} needs 'regex' to be of type string or regex`);
  }
  if (extra !== undefined && extra !== null) {
    if (typeof extra !== 'string') throw fail(`${name} needs 'options' to be of type string`);
    const bad = extra.replace(/[ims]/g, '');
    if (bad) {
      throw new EmulatorError(
        'DATABASE_INVALID_OPERRATOR',
        `${name}: regular expression option "${bad[0]}" is not supported by wxcloud-emulator (use i, m or s)`,
      );
    }
    flags += extra;
  }
  if (input === null || input === undefined) return null;
  if (typeof input !== 'string') throw fail(`${name} needs 'input' to be of type string`);

  const re = toRe2(source, flags);
  const matcher = re.matcher(input);
  const groups = re.groupCount();
  const found: Found[] = [];
  // Code points before the match: counted incrementally, so long inputs stay linear.
  let scanned = 0;
  let codePoints = 0;
  for (;;) {
    checkRegexBudget();
    countRegexEvaluation();
    if (!matcher.find()) break;
    const start = matcher.start(0);
    for (const _ of input.slice(scanned, start)) codePoints += 1;
    scanned = start;
    const captures: (string | null)[] = [];
    for (let g = 1; g <= groups; g++) captures.push(matcher.group(g) ?? null);
    found.push({ match: matcher.group(0) ?? '', idx: codePoints, captures });
    if (!all) break;
  }
  return found;
}

export const regexExpressions = {
  $regexMatch: (obj: unknown, expr: unknown, options: Options): boolean =>
    (search('$regexMatch', obj, expr, options, false)?.length ?? 0) > 0,
  $regexFind: (obj: unknown, expr: unknown, options: Options): Found | null =>
    search('$regexFind', obj, expr, options, false)?.[0] ?? null,
  $regexFindAll: (obj: unknown, expr: unknown, options: Options): Found[] =>
    search('$regexFindAll', obj, expr, options, true) ?? [],
};
