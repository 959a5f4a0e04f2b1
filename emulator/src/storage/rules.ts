import fs from 'node:fs';
import path from 'node:path';

/**
 * Storage permissions for mini-program client requests, declared in the project's
 * `storage.json`: either one of the console's four basic permissions,
 * `{"permission": "READONLY" | "PRIVATE" | "ADMINWRITE" | "ADMINONLY"}`, or custom security
 * rules, `{"rules": {"read": <bool | expression>, "write": <bool | expression>}}`.
 * Without the file, the platform's default basic permission applies: READONLY
 * (所有用户可读，仅创建者可读写). Server code (the SDK in functions) and the control API bypass
 * them, as the cloud's 管理端 does.
 *
 * Source: 云存储安全规则 (developers.weixin.qq.com/miniprogram/dev/wxcloud/guide/storage/security-rules):
 * `read` covers download and temporary links, `write` covers upload, overwrite and delete, both
 * default to false; variables `auth` (null when signed out; `auth.openid`, `auth.uid`, the
 * latter absent for mini-program requests) and `resource` (`openid`: the owner, `path`: the
 * cloud path); a regular-expression literal with `.test(...)`, compared explicitly with true.
 * The four presets are the rule sets that page lists for each basic permission.
 */

export type StoragePermission = 'READONLY' | 'PRIVATE' | 'ADMINWRITE' | 'ADMINONLY';
export type StorageOperation = 'read' | 'write';

const OWNER = 'resource.openid == auth.openid';
export const PRESETS: Record<StoragePermission, Record<StorageOperation, boolean | string>> = {
  READONLY: { read: true, write: OWNER },
  PRIVATE: { read: OWNER, write: OWNER },
  ADMINWRITE: { read: true, write: false },
  ADMINONLY: { read: false, write: false },
};

export interface StorageAuth {
  openid: string;
}

export interface StorageResource {
  /** The owner's openid; null for files written by server code or the control API. */
  openid: string | null;
  path: string;
}

type Value =
  string | number | boolean | null | undefined | RegExp | { openid: string; uid?: undefined };

type Expr =
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'regex'; value: RegExp; arg: Expr }
  | { kind: 'var'; name: 'auth' | 'auth.openid' | 'auth.uid' | 'resource.openid' | 'resource.path' }
  | { kind: 'not'; operand: Expr }
  | { kind: 'compare'; op: '==' | '!='; left: Expr; right: Expr }
  | { kind: 'logic'; op: '&&' | '||'; left: Expr; right: Expr };

const VARIABLES = ['auth', 'auth.openid', 'auth.uid', 'resource.openid', 'resource.path'] as const;

export class StorageRuleError extends Error {}

/** Parses one rule expression; throws StorageRuleError naming what is not emulated. */
export function parseStorageRule(source: string): Expr {
  let i = 0;
  const fail = (what: string): never => {
    throw new StorageRuleError(
      `${what} at column ${i + 1}; emulated: ==, !=, &&, ||, !, parentheses, ${VARIABLES.join(', ')}, string/number/boolean/null literals, /regex/.test(...)`,
    );
  };
  const skip = (): void => {
    while (i < source.length && /\s/.test(source[i])) i++;
  };
  const eat = (text: string): boolean => {
    skip();
    if (source.startsWith(text, i)) {
      i += text.length;
      return true;
    }
    return false;
  };
  const primary = (): Expr => {
    skip();
    const ch = source[i];
    if (ch === '(') {
      i++;
      const inner = or();
      if (!eat(')')) fail('expected ")"');
      return inner;
    }
    if (ch === '"' || ch === "'") {
      const end = source.indexOf(ch, i + 1);
      if (end < 0) fail('unterminated string');
      const value = source.slice(i + 1, end);
      i = end + 1;
      return { kind: 'literal', value };
    }
    if (ch === '/') {
      const match = /^\/((?:\\.|[^/\\])+)\/([gimsuy]*)/.exec(source.slice(i));
      if (!match) fail('bad regular expression');
      i += (match as RegExpExecArray)[0].length;
      let value: RegExp;
      try {
        value = new RegExp((match as RegExpExecArray)[1], (match as RegExpExecArray)[2]);
      } catch (err) {
        return fail(`bad regular expression (${(err as Error).message})`);
      }
      if (!eat('.test(')) fail('a regular expression must be followed by .test(...)');
      const arg = or();
      if (!eat(')')) fail('expected ")" after .test(...');
      return { kind: 'regex', value, arg };
    }
    const number = /^-?\d+(\.\d+)?/.exec(source.slice(i));
    if (number) {
      i += number[0].length;
      return { kind: 'literal', value: Number(number[0]) };
    }
    const word = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*/.exec(source.slice(i));
    if (!word) return fail(`unexpected ${JSON.stringify(source.slice(i, i + 10) || 'end')}`);
    i += word[0].length;
    if (word[0] === 'true' || word[0] === 'false') {
      return { kind: 'literal', value: word[0] === 'true' };
    }
    if (word[0] === 'null') return { kind: 'literal', value: null };
    if (!(VARIABLES as readonly string[]).includes(word[0])) {
      i -= word[0].length;
      return fail(`"${word[0]}" is not emulated`);
    }
    return { kind: 'var', name: word[0] as (typeof VARIABLES)[number] };
  };
  const unary = (): Expr => {
    skip();
    if (source[i] === '!' && source[i + 1] !== '=') {
      i++;
      return { kind: 'not', operand: unary() };
    }
    const left = primary();
    skip();
    for (const op of ['==', '!='] as const) {
      if (source.startsWith(op, i)) {
        i += op.length;
        // `===` is not part of the rule language.
        if (source[i] === '=') fail('operator not emulated');
        return { kind: 'compare', op, left, right: primary() };
      }
    }
    return left;
  };
  const and = (): Expr => {
    let left = unary();
    while (eat('&&')) left = { kind: 'logic', op: '&&', left, right: unary() };
    return left;
  };
  const or = (): Expr => {
    let left = and();
    while (eat('||')) left = { kind: 'logic', op: '||', left, right: and() };
    return left;
  };
  const expr = or();
  skip();
  if (i < source.length) fail(`unexpected ${JSON.stringify(source.slice(i, i + 10))}`);
  return expr;
}

function evaluate(expr: Expr, auth: StorageAuth | null, resource: StorageResource): Value {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'regex': {
      const arg = evaluate(expr.arg, auth, resource);
      return typeof arg === 'string' && expr.value.test(arg);
    }
    case 'var':
      switch (expr.name) {
        case 'auth':
          return auth ? { openid: auth.openid } : null;
        case 'auth.openid':
          return auth?.openid ?? null;
        case 'auth.uid':
          // "微信小程序的请求没有此值": mini-program requests carry no uid.
          return null;
        case 'resource.openid':
          return resource.openid;
        case 'resource.path':
          return resource.path;
      }
      break;
    case 'not':
      return !evaluate(expr.operand, auth, resource);
    case 'compare': {
      const l = evaluate(expr.left, auth, resource);
      const r = evaluate(expr.right, auth, resource);
      const same = l === r || (l == null && r == null);
      return expr.op === '==' ? same : !same;
    }
    case 'logic': {
      const l = evaluate(expr.left, auth, resource) === true;
      if (expr.op === '&&') return l && evaluate(expr.right, auth, resource) === true;
      return l || evaluate(expr.right, auth, resource) === true;
    }
  }
  return undefined;
}

interface CompiledRule {
  source: boolean | string;
  expr?: Expr;
}

export class StorageRules {
  private constructor(
    /** Where the rules came from: the storage.json path, or "default (READONLY)". */
    readonly origin: string,
    readonly permission: StoragePermission | 'CUSTOM',
    private readonly rules: Record<StorageOperation, CompiledRule>,
  ) {}

  static fromPermission(permission: StoragePermission, origin: string): StorageRules {
    return StorageRules.compile(PRESETS[permission], permission, origin);
  }

  static compile(
    raw: Record<string, unknown>,
    permission: StoragePermission | 'CUSTOM',
    origin: string,
  ): StorageRules {
    const rules = {} as Record<StorageOperation, CompiledRule>;
    for (const key of Object.keys(raw)) {
      if (key !== 'read' && key !== 'write') {
        throw new Error(
          `${origin}: unknown storage rule "${key}"; storage rules are read and write`,
        );
      }
    }
    for (const op of ['read', 'write'] as const) {
      const value = raw[op] ?? false;
      if (typeof value === 'boolean') rules[op] = { source: value };
      else if (typeof value === 'string') {
        try {
          rules[op] = { source: value, expr: parseStorageRule(value) };
        } catch (err) {
          throw new Error(
            `${origin}: storage rule "${op}" ${JSON.stringify(value)}: ${(err as Error).message}`,
          );
        }
      } else
        throw new Error(
          `${origin}: storage rule "${op}" must be true, false or an expression string`,
        );
    }
    return new StorageRules(origin, permission, rules);
  }

  /** The rule text that decides `op` (for denial events and the console). */
  source(op: StorageOperation): boolean | string {
    return this.rules[op].source;
  }

  allows(op: StorageOperation, auth: StorageAuth | null, resource: StorageResource): boolean {
    const rule = this.rules[op];
    if (!rule.expr) return rule.source === true;
    return evaluate(rule.expr, auth, resource) === true;
  }
}

/** Reads `<projectDir>/storage.json`; a bad file stops the start with a message naming it. */
export function loadStorageRules(projectDir: string): StorageRules {
  const file = path.join(projectDir, 'storage.json');
  if (!fs.existsSync(file)) return StorageRules.fromPermission('READONLY', 'default (READONLY)');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(
      `${file}: must hold {"permission": "..."} or {"rules": {"read": ..., "write": ...}}`,
    );
  }
  const { permission, rules, ...rest } = raw as { permission?: unknown; rules?: unknown };
  if (Object.keys(rest).length) {
    throw new Error(
      `${file}: unknown key(s) ${Object.keys(rest).join(', ')}; use "permission" or "rules"`,
    );
  }
  if ((permission === undefined) === (rules === undefined)) {
    throw new Error(`${file}: give exactly one of "permission" and "rules"`);
  }
  if (permission !== undefined) {
    if (typeof permission !== 'string' || !(permission in PRESETS)) {
      throw new Error(
        `${file}: "permission" must be one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(permission)}`,
      );
    }
    return StorageRules.fromPermission(permission as StoragePermission, file);
  }
  if (!rules || typeof rules !== 'object' || Array.isArray(rules)) {
    throw new Error(`${file}: "rules" must be an object like {"read": true, "write": false}`);
  }
  return StorageRules.compile(rules as Record<string, unknown>, 'CUSTOM', file);
}
