import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import type { ChangeEvent } from '../../emulator/src/database';
import { makeProject } from './database-helpers';

/**
 * The control API's document writes (add, replace, delete), what the console's data panel uses.
 * They stand for the cloud console's database page (云开发控制台 → 数据库 → 添加记录 / edit / 删除),
 * an administrator's door: "云控制台的权限同管理端，拥有所有权限" (WeChat cloud docs, 数据库 → 权限控制,
 * developers.weixin.qq.com/miniprogram/dev/wxcloudservice/wxcloud/guide/database/permission.html).
 * The route shapes and error wordings are the emulator's own (the console has no public HTTP API).
 */

let emulator: RunningEmulator;
let dataDir: string;
const project = makeProject();

async function start(): Promise<RunningEmulator> {
  return startEmulator({ ...project, port: 0, dataDir });
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-control-writes-'));
  emulator = await start();
});
afterAll(async () => {
  await emulator.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => emulator.reset());

// Control-route answers are checked field by field; a loose type keeps the assertions readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(
  method: string,
  route: string,
  body?: unknown,
  raw?: string,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${emulator.url}/emulator/v1${route}`, {
    method,
    headers: body === undefined && raw === undefined ? {} : { 'content-type': 'application/json' },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, json: await res.json() };
}

const docs = async (name: string): Promise<Json[]> =>
  (await call('GET', `/collections/${name}/documents`)).json.documents;

test('add, replace and delete a document, rules bypassed, each change in the feed and the events', async () => {
  const changes: ChangeEvent[] = [];
  const unsubscribe = emulator.services.database.onChange((e) => changes.push(e));
  try {
    // USERPAYLOG's rules say `write: false` for clients; the control API is not a client.
    const added = await call('POST', '/collections/USERPAYLOG/documents', {
      _id: 'order-1',
      _openid: 'o_someone',
      paystatus: 0,
      createdAt: { $date: '2024-05-06T07:08:09Z' },
    });
    expect(added.status).toBe(201);
    expect(added.json).toEqual({
      id: 'order-1',
      document: {
        _id: 'order-1',
        _openid: 'o_someone',
        paystatus: 0,
        createdAt: { $date: '2024-05-06T07:08:09Z' },
      },
    });
    // Stored as a real date (relaxed EJSON `$date`), so a query on it compares dates.
    expect(emulator.services.database.store.get('USERPAYLOG', 'order-1')?.createdAt).toEqual(
      new Date('2024-05-06T07:08:09Z'),
    );

    // A replacement: the whole record as the editor saves it; `_id` may be left out.
    const replaced = await call('PUT', '/collections/USERPAYLOG/documents/order-1', {
      _openid: 'o_someone',
      paystatus: 1,
    });
    expect(replaced).toEqual({
      status: 200,
      json: {
        id: 'order-1',
        updated: 1,
        document: { _id: 'order-1', _openid: 'o_someone', paystatus: 1 },
      },
    });

    // No _id: the store makes one, as db.collection().add() does.
    const generated = await call('POST', '/collections/ITEMS/documents', { title: 'x' });
    expect(generated.status).toBe(201);
    expect(typeof generated.json.id).toBe('string');
    expect(await docs('ITEMS')).toEqual([{ _id: generated.json.id, title: 'x' }]);

    const removed = await call('DELETE', '/collections/USERPAYLOG/documents/order-1');
    expect(removed).toEqual({ status: 200, json: { id: 'order-1', removed: 1 } });
    expect(await docs('USERPAYLOG')).toEqual([]);
    const again = await call('DELETE', '/collections/USERPAYLOG/documents/order-1');
    expect(again.status).toBe(404);
    expect(again.json.error).toEqual({
      code: 'DOCUMENT_NOT_FOUND',
      message: 'no document order-1 in USERPAYLOG',
    });

    // The change feed (what realtime watches are fed from) saw each write in order.
    expect(changes.map((e) => [e.collection, e.kind, e.docId])).toEqual([
      ['USERPAYLOG', 'add', 'order-1'],
      ['USERPAYLOG', 'replace', 'order-1'],
      ['ITEMS', 'add', generated.json.id],
      ['USERPAYLOG', 'remove', 'order-1'],
    ]);
  } finally {
    unsubscribe();
  }
  const ops = emulator.events
    .since(0, 'database.operation')
    .map((e) => e.data)
    .filter((d) => d.via === 'control');
  expect(ops.map((d) => [d.action, d.collection, d.ok, d.count ?? d.code])).toEqual([
    ['database.insertDocument', 'USERPAYLOG', true, 1],
    ['database.modifyDocument', 'USERPAYLOG', true, 1],
    ['database.insertDocument', 'ITEMS', true, 1],
    ['database.removeDocument', 'USERPAYLOG', true, 1],
  ]);
});

test('bad input answers 400 naming what was wrong and writes nothing', async () => {
  await call('POST', '/collections/ITEMS/documents', { _id: 'keep', n: 1 });
  const before = await docs('ITEMS');
  const cases: [string, string, string | undefined, unknown, RegExp][] = [
    ['POST', '/collections/ITEMS/documents', '{"n": 1,}', undefined, /must be a JSON object/],
    ['POST', '/collections/ITEMS/documents', undefined, [1, 2], /not an array/],
    ['POST', '/collections/ITEMS/documents', undefined, 'text', /not string/],
    ['PUT', '/collections/ITEMS/documents/keep', '{"n": ', undefined, /must be a JSON object/],
    // MongoDB refuses `$`-prefixed field names in stored documents (manual, "Field Names").
    ['POST', '/collections/ITEMS/documents', undefined, { $set: { n: 2 } }, /\$set/],
    ['PUT', '/collections/ITEMS/documents/keep', undefined, { 'a.b': 1 }, /a\.b/],
    // A replacement never changes `_id` (MongoDB manual, replaceOne: "cannot ... _id").
    ['PUT', '/collections/ITEMS/documents/keep', undefined, { _id: 'other' }, /change _id/],
    // The same _id twice: MongoDB's E11000 duplicate key error on the _id index.
    ['POST', '/collections/ITEMS/documents', undefined, { _id: 'keep' }, /E11000/],
  ];
  for (const [method, route, raw, body, message] of cases) {
    const answer = await call(method, route, body, raw);
    expect([method, route, answer.status]).toEqual([method, route, 400]);
    expect(answer.json.error.message).toMatch(message);
  }
  expect(await docs('ITEMS')).toEqual(before);

  const noCollection = await call('POST', '/collections/NOPE/documents', { n: 1 });
  expect(noCollection.status).toBe(404);
  expect(noCollection.json.error.code).toBe('DATABASE_COLLECTION_NOT_EXIST');
  expect((await call('PUT', '/collections/ITEMS/documents/missing', { n: 1 })).status).toBe(404);
  // Failed writes are logged too, with the error's code.
  const failed = emulator.events
    .since(0, 'database.operation')
    .map((e) => e.data)
    .filter((d) => d.via === 'control' && d.ok === false);
  expect(failed.length).toBeGreaterThan(0);
  expect(failed.every((d) => typeof d.code === 'string')).toBe(true);
});

test('numeric ids are found by number; writes reach the journal and survive a restart', async () => {
  await call('POST', '/collections/ITEMS/documents', { _id: 42, n: 1 });
  await call('POST', '/collections/ITEMS/documents', { _id: '7', n: 'string id' });
  expect((await call('PUT', '/collections/ITEMS/documents/42', { n: 2 })).json.document).toEqual({
    _id: 42,
    n: 2,
  });
  // "7" exists as a string id: the string is tried first.
  expect((await call('GET', '/collections/ITEMS/documents/7')).json.document).toEqual({
    _id: '7',
    n: 'string id',
  });
  expect((await call('DELETE', '/collections/ITEMS/documents/7')).json).toEqual({
    id: '7',
    removed: 1,
  });

  await emulator.stop();
  emulator = await start();
  expect(await docs('ITEMS')).toEqual([{ _id: 42, n: 2 }]);
});

test('an import through the control API is logged as a database operation', async () => {
  const file = {
    format: 'wxcloud-emulator-database',
    version: 1,
    collections: { ITEMS: [{ _id: 'a' }, { _id: 'b' }] },
  };
  const answer = await call('POST', '/database/import', file);
  expect(answer.json).toEqual({ ok: true, collections: 1, documents: 2 });
  const ops = emulator.events.since(0, 'database.operation').map((e) => e.data);
  expect(ops).toContainEqual(
    expect.objectContaining({ action: 'database.import', via: 'control', ok: true, count: 2 }),
  );
});

test('with several envs, the document routes write to the env named by ?env= and no other', async () => {
  const twoEnvs = await startEmulator({
    ...makeProject(),
    port: 0,
    inMemory: true,
    envId: 'main-env,staging-env',
  });
  try {
    const url = `${twoEnvs.url}/emulator/v1/collections/ITEMS/documents`;
    const added = await fetch(`${url}?env=staging-env`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _id: 'only-staging' }),
    });
    expect(added.status).toBe(201);
    const read = async (query: string): Promise<unknown> =>
      ((await (await fetch(`${url}${query}`)).json()) as { documents: unknown }).documents;
    expect(await read('?env=staging-env')).toEqual([{ _id: 'only-staging' }]);
    expect(await read('')).toEqual([]);
    const removedInMain = await fetch(`${url}/only-staging`, { method: 'DELETE' });
    expect(removedInMain.status).toBe(404);
    const removed = await fetch(`${url}/only-staging?env=staging-env`, { method: 'DELETE' });
    expect(await removed.json()).toEqual({ id: 'only-staging', removed: 1 });
  } finally {
    await twoEnvs.stop();
  }
});
