import {
  equal,
  evaluate,
  fieldsRead,
  parseRule,
  RuleSyntaxError,
  SUPPORTED,
  UNKNOWN,
  type Bindings,
} from './expression';

/**
 * The rule expression language the emulator accepts, in process (so `npm run mutation` can run it
 * against every mutant of expression.ts). What the platform documents (CloudBase 安全规则,
 * docs.cloudbase.net/rule/introduce and rule/learn-rules; Tencent Cloud 876/41757): rules are
 * JavaScript-like expressions over `auth`, `doc`, `request.data` and `now`, combined with `&&` and
 * `||`; `==`, `!=` and `in` compare; an expression is at most 1024 characters; array members are
 * numbers or strings. The emulator evaluates a subset and refuses the rest when the rules load:
 * the refusal texts (detail, token, column) are the emulator's wording, the subset is documented
 * in emulator/docs/rules.md.
 */

/** Bindings where `doc.<path>` and `request.data.<path>` come from plain maps (missing: UNKNOWN). */
function env(
  doc: Record<string, unknown> = {},
  data: Record<string, unknown> = {},
  extra: Partial<Bindings> = {},
): Bindings {
  return {
    openid: 'o_alice',
    now: 5000,
    doc: (path) => (path in doc ? doc[path] : UNKNOWN),
    requestData: (path) => (path in data ? data[path] : UNKNOWN),
    ...extra,
  };
}

const run = (source: string, doc?: Record<string, unknown>, data?: Record<string, unknown>) =>
  evaluate(parseRule(source), env(doc, data));

/** The refusal of a rule: what the parser stopped at, where, and why (emulator's wording). */
function refusal(source: string): { detail: string; token: string; column: number } {
  try {
    parseRule(source);
  } catch (err) {
    expect(err).toBeInstanceOf(RuleSyntaxError);
    const e = err as RuleSyntaxError;
    expect(e.name).toBe('RuleSyntaxError');
    const suffix = ` (token ${JSON.stringify(e.token)} at column ${e.column}); ${SUPPORTED}`;
    expect(e.message.endsWith(suffix)).toBe(true);
    return { detail: e.message.slice(0, -suffix.length), token: e.token, column: e.column };
  }
  throw new Error(`expected ${JSON.stringify(source)} to be refused`);
}

describe('literals and variables', () => {
  it('numbers: integers, negatives and decimals compare by value', () => {
    expect(run('doc.n == 10', { n: 10 })).toBe(true);
    expect(run('doc.n == 10', { n: 1 })).toBe(false);
    expect(run('doc.n == -12', { n: -12 })).toBe(true);
    expect(run('doc.n == 1.25', { n: 1.25 })).toBe(true);
    expect(run('doc.n == 1.25', { n: 1.2 })).toBe(false);
    expect(run('doc.n == -0.75', { n: -0.75 })).toBe(true);
    expect(run('doc.a == 1 && doc.b == 22', { a: 1, b: 22 })).toBe(true);
  });

  it('strings in either quote, with \\n \\t \\\\ \\\' \\" escapes', () => {
    expect(run("doc.s == 'paid'", { s: 'paid' })).toBe(true);
    expect(run('doc.s == "paid"', { s: 'paid' })).toBe(true);
    expect(run("doc.s == 'it\\'s'", { s: "it's" })).toBe(true);
    expect(run('doc.s == "say \\"hi\\""', { s: 'say "hi"' })).toBe(true);
    expect(run("doc.s == 'a\\nb\\tc\\\\d'", { s: 'a\nb\tc\\d' })).toBe(true);
    expect(run("doc.s == 'a\\nb'", { s: 'anb' })).toBe(false);
  });

  it('true, false and null are literals; a bare value holds only when it is true', () => {
    expect(run('doc.f == true', { f: true })).toBe(true);
    expect(run('doc.f == true', { f: false })).toBe(false);
    expect(run('doc.f == false', { f: false })).toBe(true);
    expect(run('doc.f == false', { f: true })).toBe(false);
    expect(run('doc.f == null', { f: null })).toBe(true);
    expect(run('doc.f == null', { f: 0 })).toBe(false);
    expect(run('true')).toBe(true);
    expect(run('false')).toBe(false);
    expect(run('doc.f', { f: true })).toBe(true);
    expect(run('doc.f', { f: false })).toBe(false);
  });

  it('identifiers may hold digits, _ and $; paths are dotted', () => {
    expect(run('doc.a_1$ == 1', { a_1$: 1 })).toBe(true);
    expect(run('doc.owner.openid == auth.openid', { 'owner.openid': 'o_alice' })).toBe(true);
    expect(run('request.data.meta.price == 3', {}, { 'meta.price': 3 })).toBe(true);
    expect(run('auth.openid == "o_alice"')).toBe(true);
    expect(run('auth.openid == "o_bob"')).toBe(false);
  });

  it('now is the request time in ms', () => {
    expect(run('now == 5000')).toBe(true);
    expect(run('now == 5001')).toBe(false);
    expect(run('now != doc.t', { t: 5000 })).toBe(false);
  });

  it('whitespace anywhere between tokens is ignored', () => {
    expect(run('  doc.n\t==\n10  ', { n: 10 })).toBe(true);
  });
});

describe('operators', () => {
  it('== and != are strict; a missing field is null', () => {
    expect(run("doc.n == '1'", { n: 1 })).toBe(false);
    expect(run("doc.n != '1'", { n: 1 })).toBe(true);
    expect(run('doc.n != 1', { n: 1 })).toBe(false);
    expect(run('doc.n != null', { n: undefined })).toBe(false);
  });

  it('in: the value is one of the listed numbers or strings; [] holds nothing', () => {
    expect(run("doc.s in ['a', 'b']", { s: 'b' })).toBe(true);
    expect(run("doc.s in ['a', 'b']", { s: 'c' })).toBe(false);
    expect(run('doc.n in [1, -2]', { n: -2 })).toBe(true);
    expect(run('doc.n in []', { n: 1 })).toBe(false);
    expect(run("doc.s in ['a']", {})).toBe(UNKNOWN);
  });

  it('&& binds tighter than ||; parentheses group', () => {
    // a || (b && c): with a true it holds whatever b and c are.
    expect(run('doc.a == 1 || doc.b == 1 && doc.c == 1', { a: 1, b: 0, c: 0 })).toBe(true);
    expect(run('(doc.a == 1 || doc.b == 1) && doc.c == 1', { a: 1, b: 0, c: 0 })).toBe(false);
    expect(run('doc.a == 1 || doc.b == 1 || doc.c == 1', { a: 0, b: 0, c: 1 })).toBe(true);
    expect(run('((doc.a == 1))', { a: 1 })).toBe(true);
  });

  // The query-subset check needs three values: a field the query does not pin is unknown, and the
  // rule passes only when it is true for every document the query can match. Kleene's strong
  // three-valued logic gives exactly that: `false && x` is false and `true || x` is true whatever
  // x is; otherwise an unknown operand leaves the result unknown.
  it('&& and || follow three-valued logic over true, false and unknown', () => {
    const values = { t: true, f: false } as Record<string, unknown>;
    const of = (name: string) => (name === 'u' ? UNKNOWN : values[name]);
    const table: [string, string, boolean | typeof UNKNOWN, boolean | typeof UNKNOWN][] = [
      // a, b, a && b, a || b
      ['t', 't', true, true],
      ['t', 'f', false, true],
      ['t', 'u', UNKNOWN, true],
      ['f', 't', false, true],
      ['f', 'f', false, false],
      ['f', 'u', false, UNKNOWN],
      ['u', 't', UNKNOWN, true],
      ['u', 'f', false, UNKNOWN],
      ['u', 'u', UNKNOWN, UNKNOWN],
    ];
    for (const [a, b, and, or] of table) {
      const bindings = env({ a: of(a), b: of(b) });
      expect([a, b, evaluate(parseRule('doc.a && doc.b'), bindings)]).toEqual([a, b, and]);
      expect([a, b, evaluate(parseRule('doc.a || doc.b'), bindings)]).toEqual([a, b, or]);
    }
  });

  it('a comparison with an unknown side is unknown', () => {
    expect(run('doc.a == 1', {})).toBe(UNKNOWN);
    expect(run('1 == doc.a', {})).toBe(UNKNOWN);
    expect(run('doc.a != doc.b', { a: 1 })).toBe(UNKNOWN);
    expect(run('request.data.x == 1')).toBe(UNKNOWN);
  });
});

describe('equal: strict, with a missing field as null (Tencent Cloud 876/41757: JS-like ==)', () => {
  it('primitives compare strictly', () => {
    expect(equal(1, 1)).toBe(true);
    expect(equal(1, '1')).toBe(false);
    expect(equal(0, false)).toBe(false);
    expect(equal(undefined, null)).toBe(true);
    expect(equal(null, undefined)).toBe(true);
    expect(equal(null, 0)).toBe(false);
    // JavaScript: NaN equals nothing, itself included.
    expect(equal(Number.NaN, Number.NaN)).toBe(false);
  });

  it('documents and arrays compare by value', () => {
    expect(equal({ a: 1 }, { a: 1 })).toBe(true);
    expect(equal({ a: 1 }, { a: 2 })).toBe(false);
    expect(equal([1, 2], [1, 2])).toBe(true);
    expect(equal({ a: 1 }, null)).toBe(false);
    expect(equal(null, { a: 1 })).toBe(false);
    expect(equal({ a: 1 }, 'x')).toBe(false);
    expect(equal('x', { a: 1 })).toBe(false);
    expect(equal(new Date(7), new Date(7))).toBe(true);
  });
});

describe('fieldsRead', () => {
  it('lists each doc (or request.data) path once, in order, from every operand', () => {
    const expr = parseRule(
      'doc.a in [1] && request.data.b == doc.c.d || now == doc.a || auth.openid != request.data.e.f',
    );
    expect(fieldsRead(expr, 'doc')).toEqual(['a', 'c.d']);
    expect(fieldsRead(expr, 'request.data')).toEqual(['b', 'e.f']);
    expect(fieldsRead(parseRule('true'), 'doc')).toEqual([]);
  });
});

describe('refused when the rules load', () => {
  it('a rule longer than the platform limit of 1024 characters (docs.cloudbase.net/rule/introduce)', () => {
    const at = (length: number) => `doc.s == '${'x'.repeat(length - 11)}'`;
    expect(at(1024)).toHaveLength(1024);
    expect(run(at(1024), { s: 'x'.repeat(1013) })).toBe(true);
    expect(refusal(at(1025))).toEqual({
      detail: 'rule longer than 1024 characters',
      token: "doc.s == 'xxxxxxxxxx",
      column: 1,
    });
  });

  it('array members other than numbers and strings (docs.cloudbase.net/rule/introduce)', () => {
    expect(refusal('doc.a in [true]')).toEqual({
      detail: 'array items must be numbers or strings',
      token: 'true',
      column: 11,
    });
    expect(refusal("doc.a in ['a', null]")).toEqual({
      detail: 'array items must be numbers or strings',
      token: 'null',
      column: 16,
    });
    expect(refusal('doc.a in [doc.b]')).toEqual({
      detail: 'array items must be numbers or strings',
      token: 'doc',
      column: 11,
    });
    expect(refusal('doc.a in [1,')).toEqual({
      detail: 'array items must be numbers or strings',
      token: '<end>',
      column: 13,
    });
    expect(refusal('doc.a in [1 2]')).toEqual({
      detail: 'expected , or ]',
      token: '2',
      column: 13,
    });
  });

  it('operators outside ==, !=, &&, || (the platform has more; the emulator refuses them)', () => {
    expect(refusal('doc.a < 1')).toEqual({
      detail: 'operator < is not emulated',
      token: '<',
      column: 7,
    });
    expect(refusal('doc.a === 1')).toEqual({
      detail: 'operator === is not emulated',
      token: '===',
      column: 7,
    });
    expect(refusal('!doc.a')).toEqual({
      detail: 'operator ! is not emulated',
      token: '!',
      column: 1,
    });
    expect(refusal('doc.a - 1')).toEqual({
      detail: 'operator - is not emulated',
      token: '-',
      column: 7,
    });
    expect(refusal('doc.a == -')).toEqual({
      detail: 'operator - is not emulated',
      token: '-',
      column: 10,
    });
  });

  it('characters that are no token', () => {
    expect(refusal('doc.a == #')).toEqual({
      detail: 'character "#" is not emulated',
      token: '#',
      column: 10,
    });
  });

  it('strings: unterminated, or with an escape the emulator does not know', () => {
    expect(refusal("doc.a == 'abc")).toEqual({
      detail: 'unterminated string',
      token: "'",
      column: 10,
    });
    expect(refusal("doc.a == 'a\\x'")).toEqual({
      detail: 'unsupported escape in a string',
      token: '\\x',
      column: 12,
    });
    expect(refusal("doc.a == 'a\\")).toEqual({
      detail: 'unsupported escape in a string',
      token: '\\',
      column: 12,
    });
  });

  it('functions, method calls and bracket access', () => {
    expect(refusal("get('database.C.x')")).toEqual({
      detail: 'function get() is not emulated',
      token: 'get',
      column: 1,
    });
    expect(refusal("doc.tags.includes('a')")).toEqual({
      detail: 'method calls are not emulated',
      token: '(',
      column: 18,
    });
    expect(refusal('doc.tags[0] == 1')).toEqual({
      detail: 'bracket access is not emulated',
      token: '[',
      column: 9,
    });
  });

  it('variables other than auth.openid, doc.<field>, request.data.<field> and now', () => {
    expect(refusal('auth.uid == 1')).toEqual({
      detail: 'auth.uid is not emulated (only auth.openid)',
      token: 'auth.uid',
      column: 1,
    });
    expect(refusal('auth.openid.x == 1')).toEqual({
      detail: 'auth.openid.x is not emulated (only auth.openid)',
      token: 'auth.openid.x',
      column: 1,
    });
    expect(refusal('auth == null')).toEqual({
      detail: 'auth is not emulated (only auth.openid)',
      token: 'auth',
      column: 1,
    });
    expect(refusal('1 == doc')).toEqual({
      detail: 'doc needs a field, e.g. doc._openid',
      token: 'doc',
      column: 6,
    });
    expect(refusal('doc. == 1')).toEqual({
      detail: 'expected a field name after "."',
      token: '==',
      column: 6,
    });
    expect(refusal('request.data == null')).toEqual({
      detail: 'request.data is not emulated (only request.data.<field>)',
      token: 'request.data',
      column: 1,
    });
    expect(refusal('request.auth.openid == 1')).toEqual({
      detail: 'request.auth.openid is not emulated (only request.data.<field>)',
      token: 'request.auth.openid',
      column: 1,
    });
    expect(refusal('now.ms == 1')).toEqual({
      detail: 'now has no fields',
      token: 'now.ms',
      column: 1,
    });
    expect(refusal('nobody == 1')).toEqual({
      detail: 'unknown identifier nobody',
      token: 'nobody',
      column: 1,
    });
  });

  it('incomplete or extra tokens', () => {
    expect(refusal('')).toEqual({ detail: 'expected a value', token: '<end>', column: 1 });
    expect(refusal('doc.a ==')).toEqual({ detail: 'expected a value', token: '<end>', column: 9 });
    expect(refusal('doc.a == 1 ||')).toEqual({
      detail: 'expected a value',
      token: '<end>',
      column: 14,
    });
    expect(refusal('doc.a == )')).toEqual({ detail: 'expected a value', token: ')', column: 10 });
    expect(refusal('(doc.a == 1')).toEqual({ detail: 'expected )', token: '<end>', column: 12 });
    expect(refusal('doc.a == 1 doc.b')).toEqual({
      detail: 'unexpected token',
      token: 'doc',
      column: 12,
    });
    expect(refusal('doc.a doc.b')).toEqual({ detail: 'unexpected token', token: 'doc', column: 7 });
    expect(refusal("doc.a == 'x' 'y'")).toEqual({
      detail: 'unexpected token',
      token: "'y'",
      column: 14,
    });
  });

  it('arrays anywhere but on the right of in', () => {
    expect(refusal('[1] == doc.a')).toEqual({
      detail: 'arrays may only follow "in"',
      token: '[',
      column: 5,
    });
    expect(refusal('doc.a != [1]')).toEqual({
      detail: 'arrays may only follow "in"',
      token: '[',
      column: 7,
    });
    expect(refusal('[1]')).toEqual({
      detail: 'an array is not a condition',
      token: '[',
      column: 4,
    });
    expect(refusal('doc.a in doc.b')).toEqual({
      detail: '"in" needs an array literal on its right',
      token: 'in',
      column: 7,
    });
  });

  it('parentheses nested deeper than 64 levels', () => {
    const nested = (depth: number) => `${'('.repeat(depth)}true${')'.repeat(depth)}`;
    expect(run(nested(64))).toBe(true);
    expect(refusal(nested(65))).toEqual({ detail: 'nested too deeply', token: '(', column: 65 });
    // Depth counts open parentheses, not every one seen: 70 groups side by side are fine.
    expect(run(Array.from({ length: 70 }, () => '(true)').join(' && '))).toBe(true);
  });
});
