import { toCanonical, type Doc, type DocId } from './values';

/**
 * The indexes declared in `database/<C>.json`, kept as in-memory lookup trees so that a unique
 * check touches only the written keys and a query whose conditions an index covers (equality,
 * `$in`, and a range on the next key, as a MongoDB index bound) reads only the documents under
 * those keys. An index only narrows: the store still tests every candidate with the full query
 * (mingo), so an index can never change what a query returns, only how much it reads.
 */

export interface IndexSpec {
  name: string;
  /** 1 / -1, or "2dsphere" for a geo index (geo queries need one, as on the cloud). */
  keys: Record<string, 1 | -1 | '2dsphere'>;
  unique: boolean;
}

interface IndexNode {
  /** The scalar value this node's key stands for (range bounds compare against it). */
  value: unknown;
  children?: Map<string, IndexNode>;
  ids?: Set<DocId>;
}

/**
 * The lookup key of one value. Scalars (string, number, boolean, null/missing, Date) get a short
 * typed key; anything else (arrays, embedded documents, other BSON types) gets its canonical
 * EJSON, which is what the unique check has always compared (type-exact, key-order sensitive).
 */
export function valueKey(value: unknown): string {
  return scalarKey(value) ?? `j${toCanonical({ v: value })}`;
}

function scalarKey(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return `s${value}`;
    case 'number':
      return Object.is(value, -0) ? 'n-0' : `n${value}`;
    case 'boolean':
      return value ? 'T' : 'F';
    case 'undefined':
      return 'z';
    case 'object':
      if (value === null) return 'z';
      if (value instanceof Date) return `d${value.getTime()}`;
      return undefined;
    default:
      return undefined;
  }
}

/** A field's value by dotted path; a missing field is null (as a MongoDB index stores it). */
export function fieldValue(doc: Doc, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Doc)[part];
  }
  return value === undefined ? null : value;
}

/** True when a dotted path goes through an array (MongoDB then matches any element's value). */
function crossesArray(doc: Doc, path: string): boolean {
  if (!path.includes('.')) return false;
  let value: unknown = doc;
  for (const part of path.split('.')) {
    if (Array.isArray(value)) return true;
    if (value === null || typeof value !== 'object') return false;
    value = (value as Doc)[part];
  }
  return false;
}

/** One index over one collection's committed documents. */
export class CollectionIndex {
  readonly fields: string[];
  private readonly root: IndexNode = { value: undefined, children: new Map() };
  /**
   * Documents whose indexed value is an array or an embedded document: MongoDB matches those by
   * element or by structure, which a key lookup cannot answer, so every query reads them.
   */
  private readonly unkeyed = new Set<DocId>();

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.keys);
  }

  add(id: DocId, doc: Doc): void {
    let node = this.root;
    let keyed = true;
    for (const field of this.fields) {
      const value = fieldValue(doc, field);
      const scalar = scalarKey(value);
      if (scalar === undefined || crossesArray(doc, field)) keyed = false;
      const key = scalar ?? valueKey(value);
      let child = node.children?.get(key);
      if (!child) {
        child = { value };
        node.children ??= new Map();
        node.children.set(key, child);
      }
      node = child;
    }
    (node.ids ??= new Set()).add(id);
    if (!keyed) this.unkeyed.add(id);
  }

  remove(id: DocId, doc: Doc): void {
    const path: [IndexNode, string][] = [];
    let node: IndexNode | undefined = this.root;
    for (const field of this.fields) {
      const key = valueKey(fieldValue(doc, field));
      const child: IndexNode | undefined = node.children?.get(key);
      if (!child) return;
      path.push([node, key]);
      node = child;
    }
    node.ids?.delete(id);
    this.unkeyed.delete(id);
    // Prune empty branches so a collection that churns keys does not keep dead nodes.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, key] = path[i];
      const child = parent.children?.get(key);
      if (!child || child.ids?.size || child.children?.size) break;
      parent.children?.delete(key);
    }
  }

  clear(): void {
    this.root.children = new Map();
    this.unkeyed.clear();
  }

  /** The ids of documents whose indexed values have exactly these keys (unique checks). */
  owners(keys: string[]): ReadonlySet<DocId> {
    let node: IndexNode | undefined = this.root;
    for (const key of keys) {
      node = node.children?.get(key);
      if (!node) return EMPTY;
    }
    return node.ids ?? EMPTY;
  }

  keysOf(doc: Doc): string[] {
    return this.fields.map((field) => valueKey(fieldValue(doc, field)));
  }

  /**
   * How well this index serves `conditions`: two points per leading key with an equality or
   * `$in`, one for a range on the key after them; 0 if the first key has no condition.
   */
  score(conditions: Map<string, FieldCondition[]>): number {
    let score = 0;
    for (const field of this.fields) {
      const conds = conditions.get(field);
      if (!conds) break;
      if (conds.some((c) => c.keys)) score += 2;
      else {
        score += 1;
        break;
      }
    }
    return score;
  }

  /** A superset of the documents matching `conditions` (see score), plus every unkeyed one. */
  candidates(conditions: Map<string, FieldCondition[]>): Set<DocId> {
    const out = new Set<DocId>(this.unkeyed);
    const visit = (node: IndexNode, level: number): void => {
      const conds = level < this.fields.length ? conditions.get(this.fields[level]) : undefined;
      if (!conds) {
        collectIds(node, out);
        return;
      }
      const lookup = conds.find((c) => c.keys)?.keys;
      if (lookup) {
        for (const key of lookup) {
          const child = node.children?.get(key);
          if (child && conds.every((c) => accepts(c, key, child.value))) visit(child, level + 1);
        }
        return;
      }
      // A range: read every distinct value under this prefix, no deeper conditions (a bound).
      for (const [key, child] of node.children ?? []) {
        if (conds.every((c) => accepts(c, key, child.value))) collectIds(child, out);
      }
    };
    visit(this.root, 0);
    return out;
  }
}

const EMPTY: ReadonlySet<DocId> = new Set();

/**
 * The ids a filter can match, narrowed by `_id` or by the index that covers most of its
 * conditions (see score); undefined when nothing narrows it and every document must be read.
 */
export function candidateIds(
  indexes: CollectionIndex[],
  byField: Map<string, FieldCondition[]>,
): Iterable<DocId> | undefined {
  const idKeys = byField.get('_id')?.find((c) => c.keys)?.keys;
  if (idKeys) return [...idKeys].map(idOfKey).filter((id): id is DocId => id !== undefined);
  let best: CollectionIndex | undefined;
  let bestScore = 0;
  for (const index of indexes) {
    const score = index.score(byField);
    if (score > bestScore) [best, bestScore] = [index, score];
  }
  return best?.candidates(byField);
}

/** The `_id` a lookup key stands for (ids are strings or numbers, never anything else). */
function idOfKey(key: string): DocId | undefined {
  if (key.startsWith('s')) return key.slice(1);
  if (key.startsWith('n')) return Number(key.slice(1));
  return undefined;
}

function collectIds(node: IndexNode, out: Set<DocId>): void {
  if (node.ids) for (const id of node.ids) out.add(id);
  if (node.children) for (const child of node.children.values()) collectIds(child, out);
}

// ---- what a filter asks of each field -----------------------------------------------------------

/** One condition on one field: a set of exact keys (equality, `$in`) and/or range bounds. */
export interface FieldCondition {
  keys?: Set<string>;
  gt?: unknown;
  gte?: unknown;
  lt?: unknown;
  lte?: unknown;
}

/** The conditions of a filter an index can use, and whether they are all it asks. */
export interface FilterConditions {
  byField: Map<string, FieldCondition[]>;
  /**
   * True when the filter is nothing but plain equalities to strings, numbers or booleans on
   * top-level keys: then a document found under exactly those keys matches without a test.
   */
  plainEqualities: boolean;
}

/**
 * The top-level conditions of a filter (and of `$and` items) that narrow by key. Everything else
 * (`$or`, `$not`, regexes, `$elemMatch`, ...) is left to the full test, which always runs.
 */
export function conditionsOf(filter: Doc): FilterConditions {
  const byField = new Map<string, FieldCondition[]>();
  let plain = true;
  const add = (field: string, condition: FieldCondition): void => {
    const list = byField.get(field);
    if (list) list.push(condition);
    else byField.set(field, [condition]);
  };
  const walk = (part: Doc): void => {
    for (const [field, value] of Object.entries(part)) {
      if (field === '$and' && Array.isArray(value)) {
        plain = false;
        for (const item of value) if (isPlainObject(item)) walk(item);
        continue;
      }
      if (field.startsWith('$')) {
        plain = false;
        continue;
      }
      const scalar = queryScalarKey(value);
      if (scalar !== undefined) {
        if (!isPlainEquality(value)) plain = false;
        add(field, { keys: new Set([scalar]) });
        continue;
      }
      plain = false;
      if (!isPlainObject(value) || !Object.keys(value).every((k) => k.startsWith('$'))) continue;
      const condition: FieldCondition = {};
      for (const [op, operand] of Object.entries(value)) {
        if (op === '$eq') {
          const key = queryScalarKey(operand);
          if (key !== undefined) add(field, { keys: new Set([key]) });
        } else if (op === '$in' && Array.isArray(operand)) {
          const keys = operand.map(queryScalarKey);
          if (keys.every((k) => k !== undefined)) add(field, { keys: new Set(keys as string[]) });
        } else if (op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') {
          if (rangeKind(operand)) condition[op.slice(1) as 'gt' | 'gte' | 'lt' | 'lte'] = operand;
        }
      }
      if (Object.keys(condition).length) add(field, condition);
    }
  };
  walk(filter);
  return { byField, plainEqualities: plain };
}

/** Key of a query value that an equality can look up; undefined/null are left to the test. */
function queryScalarKey(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return scalarKey(value);
}

function isPlainEquality(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function isPlainObject(value: unknown): value is Doc {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function rangeKind(value: unknown): 'n' | 's' | 'd' | undefined {
  if (typeof value === 'number' && !Number.isNaN(value)) return 'n';
  if (typeof value === 'string') return 's';
  if (value instanceof Date && !Number.isNaN(value.getTime())) return 'd';
  return undefined;
}

/**
 * Whether an index key may satisfy a condition. Bounds only exclude values of the bound's own
 * type (MongoDB compares within a type bracket); other types are kept for the full test.
 */
function accepts(condition: FieldCondition, key: string, value: unknown): boolean {
  if (condition.keys && !condition.keys.has(key)) return false;
  const bounds: ['gt' | 'gte' | 'lt' | 'lte', (c: number) => boolean][] = [
    ['gt', (c) => c > 0],
    ['gte', (c) => c >= 0],
    ['lt', (c) => c < 0],
    ['lte', (c) => c <= 0],
  ];
  for (const [op, ok] of bounds) {
    const bound = condition[op];
    if (bound === undefined) continue;
    const c = compareSameKind(value, bound);
    if (c !== undefined && !ok(c)) return false;
  }
  return true;
}

function compareSameKind(value: unknown, bound: unknown): number | undefined {
  const kind = rangeKind(bound);
  if (kind !== rangeKind(value)) return undefined;
  if (kind === 'd') return (value as Date).getTime() - (bound as Date).getTime();
  if (kind === 'n') return (value as number) - (bound as number);
  const a = value as string;
  const b = bound as string;
  return a < b ? -1 : a > b ? 1 : 0;
}
