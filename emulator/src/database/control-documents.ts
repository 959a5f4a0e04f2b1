import type { Context, Hono } from 'hono';
import { EmulatorError } from '../errors';
import type { EventLog } from '../events';
import { validateCollectionName, type Store } from './store';
import { fromEjsonValue, toRelaxed, type Doc, type DocId } from './values';

/**
 * The control API's document routes: list and read, add, replace and delete one document, as the cloud
 * console's database page does (云开发控制台 → 数据库: 添加记录, edit a record, 删除记录). Like the
 * console they are an administrator's door, so security rules do not apply ("云控制台的权限同管理端，
 * 拥有所有权限", WeChat cloud docs, 数据库 → 权限控制). Every write goes
 * through the store, so the journal, realtime watches and the change feed see it as they see an
 * SDK write, and each logs a `database.operation` event with `via: "control"`.
 *
 * Bodies are one document as relaxed or canonical EJSON (`{"$date": "ISO"}` for dates), the form
 * the list and export routes give. Ids in the path are strings unless a client chose a number
 * (`doc(42)`): the string is tried first. Each route takes `?env=` (a hosted env; the default
 * when omitted), as the other control routes do.
 */
export function mountDocumentRoutes(
  app: Hono,
  storeIn: (c: Context) => Store,
  events: EventLog,
): void {
  const existing = (store: Store, name: string): string => {
    validateCollectionName(name);
    if (!store.hasCollection(name)) {
      throw new EmulatorError('DATABASE_COLLECTION_NOT_EXIST', `no collection ${name}`, 404);
    }
    return name;
  };

  /** The stored id a path segment names, or a 404 naming it. */
  const storedId = (store: Store, name: string, raw: string): DocId => {
    if (store.get(name, raw)) return raw;
    if (/^-?\d+(\.\d+)?$/.test(raw) && store.get(name, Number(raw))) return Number(raw);
    throw new EmulatorError('DOCUMENT_NOT_FOUND', `no document ${raw} in ${name}`, 404);
  };

  app.get('/collections/:name/documents', (c) => {
    const store = storeIn(c);
    const name = existing(store, c.req.param('name'));
    return c.json({ documents: store.find(name, {}).map((d) => toRelaxed(d)) });
  });

  app.get('/collections/:name/documents/:id', (c) => {
    const store = storeIn(c);
    const name = existing(store, c.req.param('name'));
    const id = storedId(store, name, c.req.param('id'));
    return c.json({ document: toRelaxed(store.get(name, id)) });
  });

  app.post('/collections/:name/documents', async (c) => {
    const store = storeIn(c);
    const name = existing(store, c.req.param('name'));
    const doc = await documentBody(c, `a new ${name} document`);
    const [id] = controlWrite(
      events,
      'database.insertDocument',
      name,
      () => store.insert(name, [doc]),
      (ids) => ids.length,
    );
    return c.json({ id, document: toRelaxed(store.get(name, id)) }, 201);
  });

  app.put('/collections/:name/documents/:id', async (c) => {
    const store = storeIn(c);
    const name = existing(store, c.req.param('name'));
    const id = storedId(store, name, c.req.param('id'));
    const doc = await documentBody(c, `the new ${name}/${String(id)}`);
    // A replacement, as the console's editor saves the whole record; `_id` may be left out but
    // not changed (updates.ts says so by name).
    const { updated } = controlWrite(
      events,
      'database.modifyDocument',
      name,
      () =>
        store.update(name, { _id: id }, { kind: 'replace', doc }, { multi: false, upsert: false }),
      (result) => result.updated,
    );
    return c.json({ id, updated, document: toRelaxed(store.get(name, id)) });
  });

  app.delete('/collections/:name/documents/:id', (c) => {
    const store = storeIn(c);
    const name = existing(store, c.req.param('name'));
    const id = storedId(store, name, c.req.param('id'));
    const removed = controlWrite(
      events,
      'database.removeDocument',
      name,
      () => store.remove(name, { _id: id }, { multi: false }),
      (count) => count,
    );
    return c.json({ id, removed });
  });
}

/**
 * Runs one write made through the control API, logging a `database.operation` event as the SDK's
 * actions are logged (handlers.ts), plus `via: "control"`, so the console and any events reader
 * see the data changed.
 */
export function controlWrite<T>(
  events: EventLog,
  action: string,
  collection: string | undefined,
  write: () => T,
  countOf: (result: T) => number,
): T {
  const started = process.hrtime.bigint();
  const log = (extra: Record<string, unknown>): void => {
    events.emit('database.operation', {
      action,
      collection,
      via: 'control',
      durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      ...extra,
    });
  };
  try {
    const result = write();
    log({ ok: true, count: countOf(result) });
    return result;
  } catch (err) {
    log({ ok: false, code: err instanceof EmulatorError ? err.code : 'INTERNAL' });
    throw err;
  }
}

/** The request's body as one plain document; anything else is a 400 naming what was wrong. */
async function documentBody(c: Context, what: string): Promise<Doc> {
  const text = await c.req.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `${what} must be a JSON object (relaxed EJSON): ${(err as Error).message}`,
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `${what} must be a JSON object (relaxed EJSON), not ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`,
    );
  }
  let doc: unknown;
  try {
    doc = fromEjsonValue(json);
  } catch (err) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `${what} is not valid EJSON: ${(err as Error).message}`,
    );
  }
  return doc as Doc;
}
