import { EmulatorError } from '../errors';
import type { EventLog } from '../events';
import type { ActionContext, ActionHandler } from '../service';
import { runPipeline } from './aggregate';
import { geoNearDocs, geoNearStageOf } from './geo';
import type { RulesEngine } from './rules';
import { validateCollectionName, type FindOptions, type Store, type UpdateSpec } from './store';
import { withRegexBudget } from './regex';
import { parseWire, toCanonical, type Doc } from './values';

/**
 * The SDK's database actions (`POST /admin`, `action: database.*`): the wire format only.
 * Each handler parses the request as `@cloudbase/database` 1.4.3 (inside wx-server-sdk 4.0.2)
 * sends it, calls the store, and answers the shape that SDK reads (see docs/database.md).
 */

/** The cloud returns at most 1000 records per query; the SDK asks for 100 unless told. */
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/**
 * A mini-program client gets at most 20 records per query, whatever it asks ("limit 在小程序端默认及
 * 最大上限为 20，在云函数端默认及最大上限为 1000", Collection.limit): enforced here, not only by
 * createWx, so a client speaking the protocol directly gets the same.
 */
export const CLIENT_LIMIT = 20;

export function createDatabaseActions(
  store: Store,
  now: () => number,
  events: EventLog,
  rules?: RulesEngine,
): Record<string, ActionHandler> {
  /** Runs one action, timing it and logging a database.operation event either way. */
  const run = (
    action: string,
    body: Record<string, unknown>,
    work: () => { answer: Record<string, unknown>; count?: number },
  ): Promise<unknown> => {
    const started = process.hrtime.bigint();
    const collection = typeof body.collectionName === 'string' ? body.collectionName : undefined;
    const transactionId = typeof body.transactionId === 'string' ? body.transactionId : undefined;
    const log = (extra: Record<string, unknown>): void => {
      events.emit('database.operation', {
        action,
        collection,
        transactionId,
        queryType: body.queryType,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        ...extra,
      });
    };
    try {
      // Each request's regular expressions share one time budget (regex.ts).
      const { answer, count } = withRegexBudget(work);
      log({ ok: true, count });
      return Promise.resolve({ ...answer, requestId: requestId() });
    } catch (err) {
      log({ ok: false, code: err instanceof EmulatorError ? err.code : 'INTERNAL' });
      return Promise.reject(err);
    }
  };

  const parse = (text: unknown, what: string): unknown => parseWire(text, what, now());
  const filterOf = (body: Record<string, unknown>): Doc =>
    body.query === undefined || body.query === ''
      ? {}
      : asObject(parse(body.query, 'query'), 'query');
  /**
   * Mini-program client requests (ctx.client) go through the security rules (rules/) before the
   * store is touched; transactions and collection management are cloud-function only.
   */
  const clientOf = (
    ctx: ActionContext,
    action: string,
    body: Record<string, unknown>,
  ): { openid: string; rules: RulesEngine } | undefined => {
    if (!ctx.client || !rules) return undefined;
    const { openid } = ctx.client;
    const collection = typeof body.collectionName === 'string' ? body.collectionName : undefined;
    if (body.transactionId !== undefined && body.transactionId !== null) {
      rules.refuse(collection, action, openid, 'transactions run in cloud functions only');
    }
    return { openid, rules };
  };
  const cloudFunctionOnly = (
    ctx: ActionContext,
    action: string,
    body: Record<string, unknown>,
  ): void => {
    if (!ctx.client || !rules) return;
    const collection = typeof body.collectionName === 'string' ? body.collectionName : undefined;
    rules.refuse(collection, action, ctx.client.openid, `${action} is for cloud functions only`);
  };
  const txnOf = (body: Record<string, unknown>): string | undefined => {
    if (body.transactionId === undefined || body.transactionId === null) return undefined;
    if (typeof body.transactionId !== 'string') {
      throw new EmulatorError('INVALID_PARAM', 'transactionId must be a string');
    }
    return body.transactionId;
  };

  return {
    'database.insertDocument': (body, ctx) =>
      run('database.insertDocument', body, () => {
        const name = validateCollectionName(body.collectionName);
        const client = clientOf(ctx, 'database.insertDocument', body);
        if (!Array.isArray(body.data) || !body.data.length) {
          throw new EmulatorError(
            'INVALID_PARAM',
            'data must be a non-empty array of EJSON documents',
          );
        }
        let docs = body.data.map((text, i) => asObject(parse(text, `data[${i}]`), `data[${i}]`));
        if (client) {
          docs = client.rules.authorizeCreate(name, docs, client.openid, 'database.insertDocument');
        }
        const ids = store.insert(name, docs, txnOf(body));
        return { answer: { data: { insertedIds: ids } }, count: ids.length };
      }),

    'database.getDocument': (body, ctx) =>
      run('database.getDocument', body, () => {
        const name = validateCollectionName(body.collectionName);
        const client = clientOf(ctx, 'database.getDocument', body);
        const filter = client
          ? client.rules.authorizeRead(name, filterOf(body), client.openid, 'database.getDocument')
          : filterOf(body);
        const options: FindOptions = {
          limit:
            body.queryType === 'DOC'
              ? 1
              : Math.min(limitOf(body.limit), client ? CLIENT_LIMIT : MAX_LIMIT),
          offset: body.queryType === 'DOC' ? 0 : offsetOf(body.offset),
          order: body.order === undefined ? undefined : orderOf(parse(body.order, 'order')),
          projection:
            body.projection === undefined
              ? undefined
              : asObject(parse(body.projection, 'projection'), 'projection'),
        };
        const docs = store.find(name, filter, options, txnOf(body));
        return { answer: { data: { list: docs.map((d) => toCanonical(d)) } }, count: docs.length };
      }),

    'database.calculateDocument': (body, ctx) =>
      run('database.calculateDocument', body, () => {
        const name = validateCollectionName(body.collectionName);
        const client = clientOf(ctx, 'database.calculateDocument', body);
        const filter = client
          ? client.rules.authorizeRead(
              name,
              filterOf(body),
              client.openid,
              'database.calculateDocument',
            )
          : filterOf(body);
        const total = store.count(name, filter, txnOf(body));
        return { answer: { data: { total } }, count: total };
      }),

    // aggregate(): `stages` is [{stageKey: '$match', stageValue: '<EJSON or JSON text>'}] as
    // @cloudbase/database's Aggregation sends it; the answer's `list` holds EJSON strings.
    'database.aggregateDocuments': (body, ctx) =>
      run('database.aggregateDocuments', body, () => {
        const name = validateCollectionName(body.collectionName);
        const client = clientOf(ctx, 'database.aggregateDocuments', body);
        let pipeline = stagesOf(body.stages, parse);
        if (client) {
          pipeline = client.rules.authorizeAggregate(
            name,
            pipeline,
            client.openid,
            'database.aggregateDocuments',
          );
        }
        // A leading $match is the collection query itself (as MongoDB plans it): the store
        // filters. A leading $geoNear (only valid first) runs on its own query, nearest first.
        const [first, ...rest] = pipeline;
        const txn = txnOf(body);
        let docs: Doc[];
        let remaining = pipeline;
        if (first && '$geoNear' in first) {
          const stage = geoNearStageOf(first.$geoNear);
          const key = store.requireGeoIndex(name, stage.key);
          docs = geoNearDocs(store.find(name, stage.query ?? {}, {}, txn), stage, key);
          remaining = rest;
        } else if (first && '$match' in first) {
          docs = store.find(name, asObject(first.$match, 'stages[0].$match'), {}, txn);
          remaining = rest;
        } else {
          docs = store.find(name, {}, {}, txn);
        }
        const list = runPipeline(docs, remaining, {
          collection: (other) => store.find(validateCollectionName(other), {}, {}, txn),
        });
        return { answer: { data: { list: list.map((d) => toCanonical(d)) } }, count: list.length };
      }),

    'database.modifyDocument': (body, ctx) =>
      run('database.modifyDocument', body, () => {
        const name = validateCollectionName(body.collectionName);
        const client = clientOf(ctx, 'database.modifyDocument', body);
        let spec = updateSpecOf(body, parse);
        let filter = filterOf(body);
        if (client) {
          const allowed = client.rules.authorizeUpdate(
            name,
            filter,
            spec,
            client.openid,
            'database.modifyDocument',
          );
          filter = allowed.filter;
          if (allowed.replacement) spec = { kind: 'replace', doc: allowed.replacement };
        }
        const result = store.update(
          name,
          filter,
          spec,
          { multi: body.multi === true, upsert: body.upsert === true },
          txnOf(body),
        );
        const data_: Record<string, unknown> = { updated: result.updated };
        if (result.upsertedId !== undefined) data_.upsert_id = result.upsertedId;
        return {
          answer: { data: data_ },
          count: result.updated + (result.upsertedId === undefined ? 0 : 1),
        };
      }),

    // Query.updateAndReturn (@cloudbase/database; node-sdk's db, and inside transactions): the
    // first matching document updated and returned, as MongoDB's findOneAndUpdate with
    // returnNewDocument. One synchronous step on the store, so nothing interleaves.
    'database.modifyAndReturnDoc': (body, ctx) =>
      run('database.modifyAndReturnDoc', body, () => {
        cloudFunctionOnly(ctx, 'database.modifyAndReturnDoc', body);
        const name = validateCollectionName(body.collectionName);
        const spec = updateSpecOf(body, parse);
        const txn = txnOf(body);
        const filter = filterOf(body);
        const [target] = store.find(name, filter, { limit: 1 }, txn);
        if (!target) return { answer: { data: { updated: 0, doc: null } }, count: 0 };
        // Pin the document found, keeping the query for a positional `$`.
        const pinned = '_id' in filter ? filter : { ...filter, _id: target._id };
        const { updated } = store.update(name, pinned, spec, { multi: false, upsert: false }, txn);
        const [after] = store.find(name, { _id: target._id }, { limit: 1 }, txn);
        return { answer: { data: { updated, doc: toCanonical(after) } }, count: updated };
      }),

    'database.removeDocument': (body, ctx) =>
      run('database.removeDocument', body, () => {
        const name = validateCollectionName(body.collectionName);
        const client = clientOf(ctx, 'database.removeDocument', body);
        const filter = client
          ? client.rules.authorizeDelete(
              name,
              filterOf(body),
              client.openid,
              'database.removeDocument',
            )
          : filterOf(body);
        const deleted = store.remove(name, filter, { multi: body.multi === true }, txnOf(body));
        return { answer: { data: { deleted } }, count: deleted };
      }),

    'database.addCollection': (body, ctx) =>
      run('database.addCollection', body, () => {
        cloudFunctionOnly(ctx, 'database.addCollection', body);
        const name = validateCollectionName(body.collectionName);
        if (!store.createCollection(name)) {
          // Unconfirmed against the cloud: its exact code for "already exists" is not documented.
          throw new EmulatorError(
            'DATABASE_COLLECTION_ALREADY_EXIST',
            `collection ${name} already exists`,
          );
        }
        return { answer: {} };
      }),

    // startTransaction answers transactionId at the top level, not under data (platform-facts §2).
    'database.startTransaction': (body, ctx) =>
      run('database.startTransaction', body, () => {
        cloudFunctionOnly(ctx, 'database.startTransaction', body);
        return { answer: { transactionId: store.startTransaction() } };
      }),

    'database.commitTransaction': (body, ctx) =>
      run('database.commitTransaction', body, () => {
        cloudFunctionOnly(ctx, 'database.commitTransaction', body);
        const id = txnOf(body);
        if (!id)
          throw new EmulatorError('INVALID_PARAM', 'commitTransaction needs a transactionId');
        return { answer: {}, count: store.commitTransaction(id).writes };
      }),

    'database.abortTransaction': (body, ctx) =>
      run('database.abortTransaction', body, () => {
        cloudFunctionOnly(ctx, 'database.abortTransaction', body);
        const id = txnOf(body);
        if (!id) throw new EmulatorError('INVALID_PARAM', 'abortTransaction needs a transactionId');
        store.abortTransaction(id);
        return { answer: {} };
      }),
  };
}

let seq = 0;
function requestId(): string {
  return `local-db-${Date.now().toString(36)}-${(++seq).toString(36)}`;
}

function asObject(value: unknown, what: string): Doc {
  if (!value || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) {
    throw new EmulatorError('INVALID_PARAM', `${what} must be an object`);
  }
  return value as Doc;
}

/** The update of a modify request: operators, a merge of plain fields, or (merge: false) a replacement. */
function updateSpecOf(
  body: Record<string, unknown>,
  parse: (text: unknown, what: string) => unknown,
): UpdateSpec {
  const data = asObject(parse(body.data, 'data'), 'data');
  const hasOperators = Object.keys(data).some((k) => k.startsWith('$'));
  if (body.merge === false) {
    // set(): the whole new document, no operators (the SDK refuses them too).
    if (hasOperators) {
      throw new EmulatorError(
        'INVALID_PARAM',
        'a replacement (merge: false) may not contain update operators',
      );
    }
    return { kind: 'replace', doc: data };
  }
  // A raw object without operators merges its fields, as the SDK's own encoding does.
  return { kind: 'operators', modifier: hasOperators ? data : { $set: data } };
}

/** The SDK's `stages`: each `{stageKey, stageValue}` becomes `{[stageKey]: parsed value}`. */
function stagesOf(raw: unknown, parse: (text: unknown, what: string) => unknown): Doc[] {
  if (!Array.isArray(raw)) {
    throw new EmulatorError(
      'INVALID_PARAM',
      'stages must be an array of {stageKey, stageValue} (as @cloudbase/database sends them)',
    );
  }
  return raw.map((stage: { stageKey?: unknown; stageValue?: unknown } | null, i) => {
    if (!stage || typeof stage.stageKey !== 'string' || !stage.stageKey.startsWith('$')) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `stages[${i}].stageKey must be a string like "$match"`,
      );
    }
    return { [stage.stageKey]: parse(stage.stageValue, `stages[${i}].stageValue`) };
  });
}

function limitOf(raw: unknown): number {
  if (raw === undefined || raw === null) return DEFAULT_LIMIT;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `limit must be a non-negative integer, got ${JSON.stringify(raw)}`,
    );
  }
  // 0 means "the default" on the cloud as in the SDK (which sends 100 for a falsy limit).
  return raw === 0 ? DEFAULT_LIMIT : Math.min(raw, MAX_LIMIT);
}

function offsetOf(raw: unknown): number {
  if (raw === undefined || raw === null) return 0;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `offset must be a non-negative integer, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

/**
 * `order` arrives as `{"field": 1 | -1, ...}` (this SDK: orderBy calls merged in call order) or,
 * from older clients, `[{"field", "direction": "asc" | "desc"}]`.
 */
function orderOf(raw: unknown): [string, 1 | -1][] {
  const direction = (value: unknown, field: string): 1 | -1 => {
    if (value === 1 || value === 'asc') return 1;
    if (value === -1 || value === 'desc') return -1;
    throw new EmulatorError('INVALID_PARAM', `order of ${field} must be 1/-1 or asc/desc`);
  };
  if (Array.isArray(raw)) {
    return raw.map((item: { field?: unknown; direction?: unknown }) => {
      if (typeof item?.field !== 'string')
        throw new EmulatorError('INVALID_PARAM', 'order items need a field');
      return [item.field, direction(item.direction, item.field)];
    });
  }
  if (raw && typeof raw === 'object') {
    return Object.entries(raw as Doc).map(([field, value]) => [field, direction(value, field)]);
  }
  throw new EmulatorError('INVALID_PARAM', 'order must be an object like {"field": 1}');
}
