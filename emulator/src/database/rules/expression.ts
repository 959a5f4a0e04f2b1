import { sameValue } from '../values';

/**
 * The security-rule expression language, as far as the emulator implements it: a hand-written
 * tokenizer, parser and evaluator (no eval, no Function). Supported: `==`, `!=`, `&&`, `||`, `in`
 * with an array literal on the right, parentheses, `auth.openid`, `doc.<field path>`,
 * `request.data.<field path>`, `now`, and string / number / boolean / null literals. The cloud's
 * language has more (`<`, `!`, `get()`, `auth.uid`, ...): those are refused when the rules are
 * loaded, with a RuleSyntaxError naming the token, never silently evaluated to something else.
 */

export type Literal = string | number | boolean | null;

export type Variable =
  | { root: 'auth'; path: ['openid'] }
  | { root: 'doc'; path: string[] }
  | { root: 'request.data'; path: string[] }
  | { root: 'now'; path: [] };

export type Expr =
  | { kind: 'literal'; value: Literal }
  | { kind: 'list'; items: Literal[] }
  | { kind: 'var'; variable: Variable }
  | { kind: 'compare'; op: '==' | '!='; left: Expr; right: Expr }
  | { kind: 'in'; left: Expr; items: Literal[] }
  | { kind: 'logic'; op: '&&' | '||'; left: Expr; right: Expr };

export const SUPPORTED =
  'supported: ==, !=, &&, ||, in [..], parentheses, auth.openid, doc.<field>, request.data.<field>, now, string/number/boolean/null literals';

/** A rule the emulator cannot evaluate; `token` is what it stopped at. */
export class RuleSyntaxError extends Error {
  constructor(
    readonly token: string,
    readonly column: number,
    detail: string,
  ) {
    super(`${detail} (token ${JSON.stringify(token)} at column ${column}); ${SUPPORTED}`);
    this.name = 'RuleSyntaxError';
  }
}

type TokenKind = 'ident' | 'number' | 'string' | 'op' | 'punct' | 'end';
// Mutation testing: the kinds 'punct' and 'op' → '' survive as equivalent mutants: the parser
// compares those tokens' text, never their kind.
interface Token {
  kind: TokenKind;
  text: string;
  value?: Literal;
  column: number;
}

const ALLOWED_OPS = new Set(['==', '!=', '&&', '||']);
const OP_CHARS = /[=!<>&|+\-*/%?:^~]/;
/** The platform's limit: 每个表达式(组)最大长度限制为1024字符 (docs.cloudbase.net/rule/introduce). */
const MAX_LENGTH = 1024;
const MAX_DEPTH = 64;

function tokenize(source: string): Token[] {
  if (source.length > MAX_LENGTH) {
    throw new RuleSyntaxError(source.slice(0, 20), 1, `rule longer than ${MAX_LENGTH} characters`);
  }
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    const column = i + 1;
    if (/\s/.test(ch)) {
      i++;
    } else if (/[A-Za-z_$]/.test(ch)) {
      // Mutation testing: `j < source.length` → `<=` survives as an equivalent mutant: past the end
      // the test reads "undefined", j moves one past the end, and slice() stops at the end anyway.
      let j = i + 1;
      while (j < source.length && /[A-Za-z0-9_$]/.test(source[j])) j++;
      tokens.push({ kind: 'ident', text: source.slice(i, j), column });
      i = j;
    } else if (/[0-9]/.test(ch) || (ch === '-' && /[0-9]/.test(source[i + 1] ?? ''))) {
      // Mutation testing: `?? ''` above → `?? "Stryker was here!"` survives as an equivalent
      // mutant: at the end of the rule neither string starts with a digit.
      // Mutation testing: dropping `^` survives as an equivalent mutant: the slice starts with the
      // number this branch saw.
      const match = /^-?\d+(\.\d+)?/.exec(source.slice(i));
      const text = match ? match[0] : ch;
      tokens.push({ kind: 'number', text, value: Number(text), column });
      i += text.length;
    } else if (ch === '"' || ch === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        // Mutation testing: `>=` → `>` survives as an equivalent mutant: one more round appends
        // "undefined" to a string that is then refused, unterminated, all the same.
        if (j >= source.length) throw new RuleSyntaxError(ch, column, 'unterminated string');
        const c = source[j];
        if (c === ch) break;
        if (c === '\\') {
          const next = source[j + 1];
          const escapes: Record<string, string> = {
            n: '\n',
            t: '\t',
            '\\': '\\',
            "'": "'",
            '"': '"',
          };
          // Mutation testing: `next === undefined` → false survives as an equivalent mutant:
          // `undefined in escapes` is false too (no key "undefined").
          if (next === undefined || !(next in escapes)) {
            throw new RuleSyntaxError(`\\${next ?? ''}`, j + 1, 'unsupported escape in a string');
          }
          value += escapes[next];
          j += 2;
        } else {
          value += c;
          j++;
        }
      }
      tokens.push({ kind: 'string', text: source.slice(i, j + 1), value, column });
      i = j + 1;
    } else if ('()[],.'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch, column });
      i++;
    } else if (OP_CHARS.test(ch)) {
      let j = i + 1;
      // Mutation testing: `j < source.length` → true or `<=` survives as an equivalent mutant:
      // past the end OP_CHARS.test(undefined) tests "undefined", which holds no operator character.
      while (j < source.length && OP_CHARS.test(source[j])) j++;
      const text = source.slice(i, j);
      if (!ALLOWED_OPS.has(text)) {
        throw new RuleSyntaxError(text, column, `operator ${text} is not emulated`);
      }
      tokens.push({ kind: 'op', text, column });
      i = j;
    } else {
      throw new RuleSyntaxError(ch, column, `character ${JSON.stringify(ch)} is not emulated`);
    }
  }
  tokens.push({ kind: 'end', text: '<end>', column: source.length + 1 });
  return tokens;
}

/** Parses a rule expression; throws RuleSyntaxError for anything outside the emulated subset. */
export function parseRule(source: string): Expr {
  const tokens = tokenize(source);
  let pos = 0;
  let depth = 0;
  const peek = (): Token => tokens[pos];
  const next = (): Token => tokens[pos++];
  const expect = (text: string, what: string): void => {
    const token = next();
    if (token.text !== text)
      throw new RuleSyntaxError(token.text, token.column, `expected ${what}`);
  };

  // Mutation testing: `token.kind === 'ident'` → true (each of the three lines) survives as an
  // equivalent mutant: only an identifier's text can be true, false or null (a string's text
  // keeps its quotes).
  const literalOf = (token: Token): Literal | undefined => {
    if (token.kind === 'string' || token.kind === 'number') return token.value;
    if (token.kind === 'ident' && token.text === 'true') return true;
    if (token.kind === 'ident' && token.text === 'false') return false;
    if (token.kind === 'ident' && token.text === 'null') return null;
    return undefined;
  };

  // The platform's arrays hold numbers or strings only (数组成员限制为数字或字符串类型,
  // docs.cloudbase.net/rule/introduce): `in [true]` or `in [null]` is refused, as it would be there.
  // Mutation testing: expect's `what` '[' → '' survives as an equivalent mutant (parseList is
  // called only on a '['), and `[]` → `["Stryker was here"]` survives: only a document value equal
  // to that marker string would then be "in" an empty list.
  const parseList = (): Literal[] => {
    expect('[', '[');
    const items: Literal[] = [];
    if (peek().text === ']') {
      next();
      return items;
    }
    for (;;) {
      const token = next();
      const value = literalOf(token);
      if (typeof value !== 'number' && typeof value !== 'string') {
        throw new RuleSyntaxError(
          token.text,
          token.column,
          'array items must be numbers or strings',
        );
      }
      items.push(value);
      const sep = next();
      if (sep.text === ']') return items;
      if (sep.text !== ',') throw new RuleSyntaxError(sep.text, sep.column, 'expected , or ]');
    }
  };

  const parsePath = (): string[] => {
    const path: string[] = [];
    while (peek().text === '.') {
      next();
      const part = next();
      if (part.kind !== 'ident') {
        throw new RuleSyntaxError(part.text, part.column, 'expected a field name after "."');
      }
      path.push(part.text);
    }
    if (peek().text === '(') {
      const token = peek();
      throw new RuleSyntaxError(token.text, token.column, 'method calls are not emulated');
    }
    if (peek().text === '[') {
      const token = peek();
      throw new RuleSyntaxError(token.text, token.column, 'bracket access is not emulated');
    }
    return path;
  };

  const parseVariable = (token: Token): Variable => {
    if (peek().text === '(') {
      throw new RuleSyntaxError(
        token.text,
        token.column,
        `function ${token.text}() is not emulated`,
      );
    }
    const path = parsePath();
    const dotted = [token.text, ...path].join('.');
    switch (token.text) {
      case 'auth':
        // Mutation testing: the paths of `auth` and `now` → `[]` / `['']` / `["Stryker was here"]`
        // survive as equivalent mutants: evaluate reads env.openid and env.now for those roots,
        // never their path, and fieldsRead lists only doc and request.data.
        if (path.length === 1 && path[0] === 'openid') return { root: 'auth', path: ['openid'] };
        throw new RuleSyntaxError(
          dotted,
          token.column,
          `${dotted} is not emulated (only auth.openid)`,
        );
      case 'doc':
        if (path.length) return { root: 'doc', path };
        throw new RuleSyntaxError(dotted, token.column, 'doc needs a field, e.g. doc._openid');
      case 'request':
        if (path.length > 1 && path[0] === 'data')
          return { root: 'request.data', path: path.slice(1) };
        throw new RuleSyntaxError(
          dotted,
          token.column,
          `${dotted} is not emulated (only request.data.<field>)`,
        );
      case 'now':
        if (!path.length) return { root: 'now', path: [] };
        throw new RuleSyntaxError(dotted, token.column, 'now has no fields');
      default:
        throw new RuleSyntaxError(token.text, token.column, `unknown identifier ${token.text}`);
    }
  };

  const parseOperand = (): Expr => {
    const token = peek();
    if (token.text === '(') {
      next();
      if (++depth > MAX_DEPTH) throw new RuleSyntaxError('(', token.column, 'nested too deeply');
      const inner = parseOr();
      depth--;
      expect(')', ')');
      return inner;
    }
    if (token.text === '[') return { kind: 'list', items: parseList() };
    next();
    const value = literalOf(token);
    if (value !== undefined) return { kind: 'literal', value };
    if (token.kind === 'ident') return { kind: 'var', variable: parseVariable(token) };
    throw new RuleSyntaxError(token.text, token.column, 'expected a value');
  };

  const parseComparison = (): Expr => {
    const left = parseOperand();
    const token = peek();
    if (token.text === '==' || token.text === '!=') {
      next();
      const right = parseOperand();
      if (left.kind === 'list' || right.kind === 'list') {
        throw new RuleSyntaxError('[', token.column, 'arrays may only follow "in"');
      }
      return { kind: 'compare', op: token.text, left, right };
    }
    // Mutation testing: `token.kind === 'ident'` → true survives as an equivalent mutant: no other
    // kind of token has the text `in`.
    if (token.kind === 'ident' && token.text === 'in') {
      next();
      const right = parseOperand();
      if (right.kind !== 'list') {
        throw new RuleSyntaxError(
          token.text,
          token.column,
          '"in" needs an array literal on its right',
        );
      }
      return { kind: 'in', left, items: right.items };
    }
    if (left.kind === 'list')
      throw new RuleSyntaxError('[', token.column, 'an array is not a condition');
    return left;
  };

  const parseAnd = (): Expr => {
    let left = parseComparison();
    while (peek().text === '&&') {
      next();
      left = { kind: 'logic', op: '&&', left, right: parseComparison() };
    }
    return left;
  };

  function parseOr(): Expr {
    let left = parseAnd();
    while (peek().text === '||') {
      next();
      left = { kind: 'logic', op: '||', left, right: parseAnd() };
    }
    return left;
  }

  const expr = parseOr();
  const rest = peek();
  if (rest.kind !== 'end') throw new RuleSyntaxError(rest.text, rest.column, 'unexpected token');
  return expr;
}

/** Every `doc.<path>` (or `request.data.<path>`) a rule reads, as dotted paths. */
export function fieldsRead(expr: Expr, root: 'doc' | 'request.data'): string[] {
  const out = new Set<string>();
  const walk = (e: Expr): void => {
    if (e.kind === 'var' && e.variable.root === root) out.add(e.variable.path.join('.'));
    if (e.kind === 'compare' || e.kind === 'logic') {
      walk(e.left);
      walk(e.right);
    }
    if (e.kind === 'in') walk(e.left);
  };
  walk(expr);
  return [...out];
}

/** A value the evaluator may not know (a doc field the query does not pin). */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Maybe = unknown;

export interface Bindings {
  openid: string;
  now: number;
  /** A doc field by dotted path: its value (null when absent) or UNKNOWN. */
  doc(path: string): Maybe;
  requestData(path: string): Maybe;
}

/**
 * Three-valued evaluation: true, false, or UNKNOWN when the outcome depends on a value the
 * bindings do not know. `false && x` is false and `true || x` is true whatever x is, as the
 * platform's "the query must be a subset of the rule" check needs.
 */
export function evaluate(expr: Expr, env: Bindings): boolean | typeof UNKNOWN {
  const value = (e: Expr): Maybe => {
    switch (e.kind) {
      case 'literal':
        return e.value;
      case 'var': {
        const v = e.variable;
        if (v.root === 'auth') return env.openid;
        if (v.root === 'now') return env.now;
        const path = v.path.join('.');
        return v.root === 'doc' ? env.doc(path) : env.requestData(path);
      }
      default:
        return evaluate(e, env);
    }
  };
  const truth = (e: Expr): boolean | typeof UNKNOWN => {
    const v = value(e);
    return v === UNKNOWN ? UNKNOWN : v === true;
  };
  switch (expr.kind) {
    case 'literal':
    case 'var':
      return truth(expr);
    // Mutation testing: this case survives (no coverage) as unreachable: parseRule never returns a
    // bare list ("an array is not a condition"); lists only sit inside `in`.
    case 'list':
      return false;
    case 'compare': {
      const a = value(expr.left);
      const b = value(expr.right);
      if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
      return equal(a, b) === (expr.op === '==');
    }
    case 'in': {
      const a = value(expr.left);
      if (a === UNKNOWN) return UNKNOWN;
      return expr.items.some((item) => equal(a, item));
    }
    case 'logic': {
      const a = truth(expr.left);
      if (expr.op === '&&' && a === false) return false;
      if (expr.op === '||' && a === true) return true;
      const b = truth(expr.right);
      if (expr.op === '&&') return b === false ? false : a === true && b === true ? true : UNKNOWN;
      return b === true ? true : a === false && b === false ? false : UNKNOWN;
    }
  }
}

/** Equality of a rule value and a document value: strict, with a missing field as null. */
export function equal(a: unknown, b: unknown): boolean {
  const x = a === undefined ? null : a;
  const y = b === undefined ? null : b;
  // Mutation testing: dropping or weakening one of these four tests survives as an equivalent
  // mutant: sameValue differs from === only for two documents (all four tests false, unchanged by
  // the mutants) and for NaN against NaN (both typeof tests true, so one always remains).
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return x === y;
  return sameValue(x, y);
}
