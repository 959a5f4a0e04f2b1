import { EmulatorError } from '../../errors';
import type { EventLog } from '../../events';
import type { DeclaredCollection } from '../declarations';
import { clone, type Doc } from '../values';
import {
  applyPermission,
  DEFAULT_PERMISSION,
  ownRecords,
  PERMISSIONS,
  type Permission,
  type PresetOperation,
} from './permissions';
import {
  evaluate,
  fieldsRead,
  parseRule,
  RuleSyntaxError,
  UNKNOWN,
  type Bindings,
  type Expr,
} from './expression';

/**
 * Security rules for mini-program client requests (`ActionContext.client` set), from
 * `database/<NAME>.json` `rules`: `read`, `write`, and optionally `create`, `update`, `delete`
 * (each falls back to `write`). Server SDK requests never come here: they bypass rules, as on the
 * cloud. Every check looks at the request (query, data) and the rule only, never at stored
 * documents, so a denied caller learns nothing about what exists (same answer either way).
 *
 * The platform's model, emulated: a client query must be a subset of the rule. A rule that reads
 * `doc.<field>` passes only when the query pins that field by equality (`where({_openid:
 * '{openid}'})` for `doc._openid == auth.openid`), and the rule holds for every pinned value.
 * `'{openid}'` anywhere in a client query becomes the caller's openid first, as on the cloud.
 */

export type RuleKey = 'read' | 'write' | 'create' | 'update' | 'delete';
type Operation = 'read' | 'create' | 'update' | 'delete';

interface CompiledRule {
  key: RuleKey;
  source: string | boolean;
  expr?: Expr;
}

const RULE_KEYS: RuleKey[] = ['read', 'write', 'create', 'update', 'delete'];
/** At most this many combinations of `$in` values are checked for one query (then deny). */
const MAX_COMBINATIONS = 256;

/** Compiles one collection's rules; throws an Error naming the file, rule and token. */
export function compileRules(
  collection: string,
  raw: unknown,
  file: string,
): Map<RuleKey, CompiledRule> {
  const rules = new Map<RuleKey, CompiledRule>();
  if (raw === undefined) return rules;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const where = `${file}: collection ${collection}, rule "${key}"`;
    if (!RULE_KEYS.includes(key as RuleKey)) {
      throw new Error(`${where}: unknown rule name; use ${RULE_KEYS.join(', ')}`);
    }
    if (typeof value === 'boolean') {
      rules.set(key as RuleKey, { key: key as RuleKey, source: value });
    } else if (typeof value === 'string') {
      try {
        rules.set(key as RuleKey, { key: key as RuleKey, source: value, expr: parseRule(value) });
      } catch (err) {
        // Mutation testing: `err instanceof RuleSyntaxError` → true survives as an equivalent
        // mutant: parseRule throws nothing else (its input is a string, its recursion bounded).
        if (err instanceof RuleSyntaxError) {
          throw new Error(
            `${where}: ${JSON.stringify(value)} is not emulated by wxcloud-emulator: ${err.message}`,
          );
        }
        throw err;
      }
    } else {
      throw new Error(`${where}: must be true, false or an expression string`);
    }
  }
  return rules;
}

/** Replaces the string '{openid}' with the caller's openid everywhere in a client query. */
export function substituteOpenid<T>(value: T, openid: string): T {
  if (value === '{openid}') return openid as T;
  if (Array.isArray(value))
    return value.map((item: unknown) => substituteOpenid(item, openid)) as T;
  // Mutation testing: `typeof value === 'object'` → true survives as an equivalent mutant: no
  // primitive's prototype is Object.prototype.
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Doc = {};
    for (const [key, item] of Object.entries(value as Doc))
      out[key] = substituteOpenid(item, openid);
    return out as T;
  }
  return value;
}

interface Denial {
  rule: RuleKey;
  expression: string | boolean | null;
  reason: string;
}

export class RulesEngine {
  /** Collections with custom `rules`; every other collection has a basic permission. */
  private compiled = new Map<string, Map<RuleKey, CompiledRule>>();
  private permissions = new Map<string, Permission>();

  constructor(
    private readonly events: EventLog,
    private readonly now: () => number,
  ) {}

  /** Compiles every declared collection's rules; a rule outside the emulated subset stops start. */
  load(declared: DeclaredCollection[]): void {
    const compiled = new Map<string, Map<RuleKey, CompiledRule>>();
    const permissions = new Map<string, Permission>();
    for (const d of declared) {
      if (d.rules !== undefined) compiled.set(d.name, compileRules(d.name, d.rules, d.file));
      // Mutation testing: `d.permission` → true survives as an equivalent mutant: a stored
      // undefined reads as no permission (permissionOf's `?? DEFAULT_PERMISSION`).
      else if (d.permission) permissions.set(d.name, d.permission);
    }
    this.compiled = compiled;
    this.permissions = permissions;
  }

  /** `CUSTOM` (security rules) or the basic permission a client request meets. */
  permissionOf(collection: string): Permission | 'CUSTOM' {
    if (this.compiled.has(collection)) return 'CUSTOM';
    return this.permissions.get(collection) ?? DEFAULT_PERMISSION;
  }

  /**
   * Under a basic permission: the query as the platform runs it (narrowed to the caller's own
   * records where the preset says so), or DATABASE_PERMISSION_DENIED. Undefined for custom rules.
   */
  private underPermission(
    collection: string,
    operation: PresetOperation,
    query: Doc,
    openid: string,
    action: string,
  ): Doc | undefined {
    const permission = this.permissionOf(collection);
    if (permission === 'CUSTOM') return undefined;
    const decision = applyPermission(permission, operation);
    if ('denied' in decision) {
      this.events.emit('database.denied', {
        collection,
        action,
        openid,
        operation,
        rule: 'permission',
        expression: permission,
        reason: decision.denied,
      });
      throw new EmulatorError(
        'DATABASE_PERMISSION_DENIED',
        `[PermissionDenied] Permission denied: ${collection} has the basic permission ${permission} (${PERMISSIONS[permission]}): ${decision.denied}`,
        403,
      );
    }
    return decision.ownOnly ? ownRecords(query, openid) : query;
  }

  /**
   * A client read (get, count, watch): returns the query with '{openid}' substituted, or throws
   * DATABASE_PERMISSION_DENIED.
   */
  authorizeRead(collection: string, filter: Doc, openid: string, action: string): Doc {
    const query = substituteOpenid(filter, openid);
    const preset = this.underPermission(collection, 'read', query, openid, action);
    if (preset) return preset;
    this.enforce(collection, 'read', action, openid, () =>
      this.checkQuery(this.rule(collection, 'read'), query, openid, () => UNKNOWN),
    );
    return query;
  }

  /**
   * A client aggregate: the pipeline's first `$match` is its query and must be a subset of the
   * `read` rule, as for get() (CloudBase: a client aggregate is checked like a query; a pipeline
   * that does not start with `$match` is judged as the empty query). Each `$lookup` reads another
   * collection outside that query, so its collection's `read` rule must hold for the lookup's own
   * leading `$match` (pipeline form) or for any document (emulator choice: conservative, as the
   * cloud's exact check of joined collections is undocumented). '{openid}' is substituted in the
   * whole pipeline.
   */
  authorizeAggregate(collection: string, pipeline: Doc[], openid: string, action: string): Doc[] {
    let stages = substituteOpenid(pipeline, openid);
    const leading = (list: unknown): Doc => {
      const first = Array.isArray(list) ? (list[0] as Doc | undefined) : undefined;
      // A leading $geoNear's `query` is its query as a leading $match is.
      const match = first?.$match ?? (first?.$geoNear as Doc | undefined)?.query;
      return match && typeof match === 'object' && !Array.isArray(match) ? (match as Doc) : {};
    };
    const preset = this.underPermission(collection, 'read', leading(stages), openid, action);
    if (preset) {
      // The narrowed query becomes the leading $match (replacing the pipeline's own, if any).
      const rest = stages[0] && '$match' in stages[0] ? stages.slice(1) : stages;
      stages = [{ $match: preset }, ...rest];
    } else {
      this.enforce(collection, 'read', action, openid, () =>
        this.checkQuery(this.rule(collection, 'read'), leading(stages), openid, () => UNKNOWN),
      );
    }
    const lookups = (list: Doc[]): Doc[] =>
      list.flatMap((stage) => {
        const spec = stage.$lookup as Doc | undefined;
        // Mutation testing: `typeof spec !== 'object'` → false, `[]` → `["Stryker was here"]` here
        // and below survive as equivalent mutants: a string spec or stage has no string `from`, so
        // the loop below skips it as it skips a missing spec.
        if (!spec || typeof spec !== 'object') return [];
        const inner = Array.isArray(spec.pipeline) ? (spec.pipeline as Doc[]) : [];
        return [spec, ...lookups(inner)];
      });
    for (const spec of lookups(stages)) {
      if (typeof spec.from !== 'string') continue;
      const from = spec.from;
      const joined = this.permissionOf(from);
      if (joined !== 'CUSTOM') {
        // A joined collection cannot be narrowed to the caller's records: only presets that let
        // everyone read pass (emulator choice, as for custom rules: conservative).
        if (joined === 'PRIVATE') {
          this.refuse(
            from,
            action,
            openid,
            `${from} has the basic permission PRIVATE: a $lookup cannot be limited to the caller's records`,
          );
        }
        this.underPermission(from, 'read', {}, openid, action);
        continue;
      }
      this.enforce(from, 'read', action, openid, () =>
        this.checkQuery(this.rule(from, 'read'), leading(spec.pipeline), openid, () => UNKNOWN),
      );
    }
    return stages;
  }

  /** A client insert: each document gets `_openid` = the caller (as the platform sets it). */
  authorizeCreate(collection: string, docs: Doc[], openid: string, action: string): Doc[] {
    const stamped = docs.map((doc) => ({ ...clone(doc), _openid: openid }));
    if (this.underPermission(collection, 'create', {}, openid, action)) return stamped;
    this.enforce(collection, 'create', action, openid, () => {
      for (const doc of stamped) {
        const denial = this.checkDocument(this.rule(collection, 'create'), doc, openid);
        if (denial) return denial;
      }
      return undefined;
    });
    return stamped;
  }

  /**
   * A client update: the query must pin what the rule reads about `doc`; `request.data` is the
   * update's data (`$set` fields known, fields under other operators unknown, untouched null).
   * A replacement (`set()`, which may also create) must pass both `update` and `create`.
   */
  authorizeUpdate(
    collection: string,
    filter: Doc,
    update: { kind: 'operators'; modifier: Doc } | { kind: 'replace'; doc: Doc },
    openid: string,
    action: string,
  ): { filter: Doc; replacement?: Doc } {
    const query = substituteOpenid(filter, openid);
    const replacement =
      update.kind === 'replace' ? { ...clone(update.doc), _openid: openid } : undefined;
    if (this.permissionOf(collection) !== 'CUSTOM' && update.kind === 'operators') {
      this.refuseOpenidChange(collection, action, openid, update.modifier);
    }
    const preset = this.underPermission(collection, 'update', query, openid, action);
    if (preset) return { filter: preset, replacement };
    this.enforce(collection, 'update', action, openid, () => {
      if (update.kind === 'operators' && touchesOpenid(update.modifier)) {
        return {
          rule: 'update',
          expression: null,
          reason: 'a client may not change _openid (emulator choice; unconfirmed on the cloud)',
        };
      }
      // Mutation testing: `update.kind === 'operators'` → true survives as an equivalent mutant:
      // without a replacement the update is operators.
      const requestData = replacement
        ? (path: string) => fieldOf(replacement, path)
        : (path: string) => setValueOf(update.kind === 'operators' ? update.modifier : {}, path);
      const denial = this.checkQuery(this.rule(collection, 'update'), query, openid, requestData);
      if (denial || !replacement) return denial;
      const id = query._id;
      // Mutation testing: `id === undefined` → false survives as an equivalent mutant: `{_id:
      // undefined}` reads as a missing _id, null (fieldOf).
      const created =
        isOperatorObject(id) || id === undefined ? replacement : { _id: id, ...replacement };
      return this.checkDocument(this.rule(collection, 'create'), created, openid);
    });
    return { filter: query, replacement };
  }

  authorizeDelete(collection: string, filter: Doc, openid: string, action: string): Doc {
    const query = substituteOpenid(filter, openid);
    const preset = this.underPermission(collection, 'delete', query, openid, action);
    if (preset) return preset;
    this.enforce(collection, 'delete', action, openid, () =>
      this.checkQuery(this.rule(collection, 'delete'), query, openid, () => UNKNOWN),
    );
    return query;
  }

  /** Client requests the platform only allows in cloud functions (transactions, collections). */
  refuse(collection: string | undefined, action: string, openid: string, reason: string): never {
    this.events.emit('database.denied', { collection, action, openid, rule: null, reason });
    throw new EmulatorError('DATABASE_PERMISSION_DENIED', `[PermissionDenied] ${reason}`, 403);
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Under a basic permission, too, a client may not re-own a record (emulator choice). */
  private refuseOpenidChange(
    collection: string,
    action: string,
    openid: string,
    modifier: Doc,
  ): void {
    if (touchesOpenid(modifier)) {
      this.refuse(
        collection,
        action,
        openid,
        'a client may not change _openid (emulator choice; unconfirmed on the cloud)',
      );
    }
  }

  private rule(collection: string, operation: Operation): CompiledRule | { key: RuleKey } {
    const rules = this.compiled.get(collection);
    // Mutation testing: `operation === 'read'` → false (or `=== ''`) survives as an equivalent
    // mutant (the fallback below looks up `read` for a read too), and `rules?.get` → `rules.get`
    // (both lines) as well: rule() is only asked about collections with compiled rules.
    const specific = operation === 'read' ? undefined : rules?.get(operation);
    return (
      specific ??
      rules?.get(operation === 'read' ? 'read' : 'write') ?? {
        key: operation === 'read' ? 'read' : 'write',
      }
    );
  }

  private enforce(
    collection: string,
    operation: Operation,
    action: string,
    openid: string,
    check: () => Denial | undefined,
  ): void {
    const denial = check();
    if (!denial) return;
    this.events.emit('database.denied', {
      collection,
      action,
      openid,
      operation,
      rule: denial.rule,
      expression: denial.expression,
      reason: denial.reason,
    });
    const shown =
      denial.expression === null ? 'no rule (default deny)' : JSON.stringify(denial.expression);
    throw new EmulatorError(
      'DATABASE_PERMISSION_DENIED',
      `[PermissionDenied] Permission denied: ${collection} rule "${denial.rule}" ${shown}: ${denial.reason}`,
      403,
    );
  }

  /** The rule must hold for every document the query can match, judged from its equality pins. */
  private checkQuery(
    rule: CompiledRule | { key: RuleKey },
    query: Doc,
    openid: string,
    requestData: (path: string) => unknown,
  ): Denial | undefined {
    const fixed = constant(rule);
    if (fixed !== undefined) return fixed ?? undefined;
    const { key, source, expr } = rule as CompiledRule & { expr: Expr };
    const paths = fieldsRead(expr, 'doc');
    const pins = pinsOf(query);
    const candidates = paths.map((path) => candidatesFor(pins, path));
    let combinations = 1;
    for (const list of candidates) if (list) combinations *= Math.max(list.length, 1);
    if (combinations > MAX_COMBINATIONS) {
      return {
        rule: key,
        expression: source,
        reason: `the query's "in" lists are too large to check`,
      };
    }
    for (const combo of product(candidates)) {
      const env: Bindings = {
        openid,
        now: this.now(),
        doc: (path) => {
          // Mutation testing: `i >= 0` → true and `combo[i] !== UNKNOWN` → true survive as
          // equivalent mutants: evaluate asks only for the paths fieldsRead listed, and an UNKNOWN
          // combo entry is returned as UNKNOWN either way.
          const i = paths.indexOf(path);
          return i >= 0 && combo[i] !== UNKNOWN ? combo[i] : UNKNOWN;
        },
        requestData,
      };
      const result = evaluate(expr, env);
      if (result === true) continue;
      if (result === UNKNOWN) {
        const loose = paths.filter((_, i) => !candidates[i]).map((p) => `doc.${p}`);
        return {
          rule: key,
          expression: source,
          reason: `the query is not a subset of the rule: it does not pin ${loose.join(', ') || 'the fields the rule reads'} (e.g. where({_openid: '{openid}'}))`,
        };
      }
      const pinned = paths
        .map((p, i) => (candidates[i] ? `doc.${p} = ${JSON.stringify(combo[i])}` : ''))
        .filter(Boolean);
      return {
        rule: key,
        expression: source,
        reason: `the rule is false for the query's ${pinned.join(', ') || 'conditions'}`,
      };
    }
    return undefined;
  }

  /** A create: the new document is both `doc` and `request.data`. */
  private checkDocument(
    rule: CompiledRule | { key: RuleKey },
    doc: Doc,
    openid: string,
  ): Denial | undefined {
    const fixed = constant(rule);
    if (fixed !== undefined) return fixed ?? undefined;
    const { key, source, expr } = rule as CompiledRule & { expr: Expr };
    const env: Bindings = {
      openid,
      now: this.now(),
      doc: (path) => fieldOf(doc, path),
      requestData: (path) => fieldOf(doc, path),
    };
    if (evaluate(expr, env) === true) return undefined;
    return { rule: key, expression: source, reason: 'the rule is false for the new document' };
  }
}

/** A boolean rule or a missing one decides alone: undefined means "evaluate the expression". */
function constant(rule: CompiledRule | { key: RuleKey }): Denial | undefined | null {
  if (!('source' in rule)) {
    return { rule: rule.key, expression: null, reason: `no "${rule.key}" rule: denied by default` };
  }
  if (rule.source === true) return null;
  if (rule.source === false)
    return { rule: rule.key, expression: false, reason: 'the rule is false' };
  return undefined;
}

/**
 * Equality constraints of a query by dotted path: `{f: v}`, `{f: {$eq: v}}`, `{f: {$in: [..]}}`,
 * and the same inside `$and`. `$or`/`$nor` and other operators pin nothing (conservative).
 */
function pinsOf(query: Doc): Map<string, unknown[]> {
  const pins = new Map<string, unknown[]>();
  const add = (path: string, values: unknown[]): void => {
    const existing = pins.get(path);
    // Two constraints on one field: only values satisfying both can match.
    pins.set(path, existing ? existing.filter((v) => values.some((w) => sameish(v, w))) : values);
  };
  for (const [key, value] of Object.entries(query)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const part of value) {
        // Mutation testing: `part && typeof part === 'object'` → `part || ...` or true survives:
        // only an `$and` entry that is null makes pinsOf throw, failing a query the store refuses
        // anyway ($and takes query documents, MongoDB manual); `typeof part === 'object'` → true
        // is equivalent (a string's pins are keyed '0', '1'..., paths no rule can name).
        if (part && typeof part === 'object') {
          for (const [path, values] of pinsOf(part as Doc)) add(path, values);
        }
      }
      continue;
    }
    // Mutation testing: `key.startsWith('$')` → `key.endsWith('$')` survives as an equivalent
    // mutant: a top-level `$or`/`$nor` then pins a field named `$or`, and MongoDB field names may
    // not start with `$`, so no document has one for a rule to read.
    if (key.startsWith('$') || value instanceof RegExp) continue;
    if (isOperatorObject(value)) {
      const ops = value as Doc;
      if ('$eq' in ops) add(key, [ops.$eq]);
      if (Array.isArray(ops.$in)) add(key, ops.$in as unknown[]);
      continue;
    }
    add(key, [value]);
  }
  return pins;
}

/** The values a pinned query allows for `doc.<path>`, or undefined when it does not pin it. */
function candidatesFor(pins: Map<string, unknown[]>, path: string): unknown[] | undefined {
  const exact = pins.get(path);
  if (exact) return exact;
  // `{a: {b: 1}}` (exact sub-document) pins doc.a.b too.
  const parts = path.split('.');
  // Mutation testing: `parts.length - 1` → `+ 1` survives as an equivalent mutant (the first
  // two rounds look up the whole path, already known not pinned). `every` → `some` survives where
  // a pinned list mixes documents with non-documents (`{owner: {$in: [{openid: x}, 'y']}}`): such
  // a list is judged unpinned (refused), an emulator choice, the cloud's reading of a path through
  // a non-document being undocumented.
  for (let i = parts.length - 1; i > 0; i--) {
    const prefix = pins.get(parts.slice(0, i).join('.'));
    if (prefix && prefix.every((v) => v && typeof v === 'object' && !isOperatorObject(v))) {
      return prefix.map((v) => fieldOf(v as Doc, parts.slice(i).join('.')));
    }
  }
  return undefined;
}

function* product(lists: (unknown[] | undefined)[]): Generator<unknown[]> {
  const sizes = lists.map((l) => (l ? l.length : 1));
  // An empty list (contradictory pins) matches no document: nothing to check.
  if (sizes.some((n) => n === 0)) return;
  const index = sizes.map(() => 0);
  for (;;) {
    yield lists.map((l, i) => (l ? l[index[i]] : UNKNOWN));
    let i = index.length - 1;
    // Mutation testing: `i >= 0` → true survives as an equivalent mutant: at i = -1,
    // `++index[-1] >= sizes[-1]` is `NaN >= undefined`, false, and the loop ends the same way.
    while (i >= 0 && ++index[i] >= sizes[i]) index[i--] = 0;
    if (i < 0) return;
  }
}

// Mutation testing: dropping `typeof value === 'object'`, `!Array.isArray(value)` or
// `!(value instanceof Date)` survives as an equivalent mutant: strings, numbers, arrays and dates
// have no own key starting with `$` (Object.keys gives indices or nothing).
function isOperatorObject(value: unknown): boolean {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    Object.keys(value).some((k) => k.startsWith('$'))
  );
}

function sameish(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A field by dotted path; a missing field is null (as in a MongoDB query). */
function fieldOf(doc: Doc, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Doc)[part];
  }
  return value === undefined ? null : value;
}

/** `request.data.<path>` of an operator update: `$set` values known, other operators unknown. */
function setValueOf(modifier: Doc, path: string): unknown {
  for (const [op, fields] of Object.entries(modifier)) {
    // Mutation testing: weakening this test survives: only `{$set: null}` then throws, failing an
    // update the store refuses anyway (an operator takes a document); a string's or number's
    // entries are keyed '0', '1'..., fields no rule can name.
    if (!fields || typeof fields !== 'object') continue;
    for (const [field, value] of Object.entries(fields as Doc)) {
      const covers = field === path || path.startsWith(`${field}.`) || field.startsWith(`${path}.`);
      if (!covers) continue;
      if (op !== '$set' || field.startsWith(`${path}.`)) return UNKNOWN;
      return field === path ? value : fieldOf(value as Doc, path.slice(field.length + 1));
    }
  }
  return null;
}

// Mutation testing: `!!fields` → true (or `||`) and `typeof fields === 'object'` → true survive:
// the first only makes `{$set: null}` throw, an update the store refuses anyway; a primitive's keys
// are indices, never `_openid`.
function touchesOpenid(modifier: Doc): boolean {
  return Object.values(modifier).some(
    (fields) =>
      !!fields &&
      typeof fields === 'object' &&
      Object.keys(fields as Doc).some((f) => f === '_openid' || f.startsWith('_openid.')),
  );
}
