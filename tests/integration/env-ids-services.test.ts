/**
 * Every service per env (`--env-id a,b`): on the cloud two envs never share data, so a file saved
 * in one env, a watch opened in one and a document written in one belong to that env alone.
 * - A fileID names its env and bucket: `cloud://<env>.<hex of the env id's first two
 *   characters>-<env>-<APPID>/<path>` (the platform's own example
 *   `cloud://test-f97abe.7465-test-f97abe-1258350000/a.png`; the emulated APPID is 1250000000).
 * - A fileID of another env is not found: wx-server-sdk's getTempFileURL maps the entry's
 *   STORAGE_FILE_NONEXIST to status -503003 with an empty tempFileURL (its index.js,
 *   TCB_ERR_CODE).
 * - The control API's `?env=` parameter, the data dir layout per env (`envs/<id>/`) and
 *   `reset?env=` are the emulator's own (emulator/docs/functions.md, README).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { createWx } from '../../emulator/src';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';
import { closeRealClientSockets, Inbox, quietConsole } from './realtime-helpers';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/env-functions');
const PROD = 'shop-prod-9f3a';
const TEST = 'shop-test-2b7c';

type Json = Record<string, unknown>;

async function control(emu: RunningEmulator, route: string, init?: RequestInit): Promise<Json> {
  const res = await fetch(`${emu.url}/emulator/v1${route}`, init);
  return { status: res.status, ...((await res.json()) as Json) };
}

async function documents(emu: RunningEmulator, collection: string, env?: string): Promise<Json[]> {
  const query = env ? `?env=${env}` : '';
  const answer = await control(emu, `/collections/${collection}/documents${query}`);
  return answer.documents as Json[];
}

describe('env ids: every service keeps its data per env', () => {
  let emu: RunningEmulator;
  let projectDir: string;
  let dataDir: string;
  let restoreConsole: () => void;
  const start = (): Promise<RunningEmulator> =>
    startEmulator({
      functionsDir: FIXTURES,
      projectDir,
      dataDir,
      port: 0,
      envId: `${PROD},${TEST}`,
    });

  beforeAll(async () => {
    restoreConsole = quietConsole();
    // All may read the board; a creator writes their own posts (the console's READONLY preset).
    ({ projectDir } = makeProject({ BOARD: { permission: 'READONLY' } }));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-envs-'));
    emu = await start();
  });
  afterAll(async () => {
    await closeRealClientSockets();
    await emu.stop();
    restoreConsole();
    fs.rmSync(projectDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('a file a function saves in one env names that env and is not found from the other', async () => {
    const ben = createWx({ url: emu.url, openid: 'o-ben' });
    ben.cloud.init({ env: TEST });
    const { result } = (await ben.cloud.callFunction({
      name: 'save-receipt',
      data: { name: 'r1', text: 'paid 1 fen' },
    })) as { result: { fileID: string; env: string } };
    expect(result).toEqual({
      fileID: `cloud://${TEST}.7368-${TEST}-1250000000/receipts/r1.txt`,
      env: TEST,
    });

    const urlsIn = (env: string): Promise<Json[]> =>
      runWithSdk<{ fileList: Json[] }>(
        emu.url,
        `return await cloud.getTempFileURL({ fileList: [${JSON.stringify(result.fileID)}] });`,
        { envId: env },
      ).then((answer) => answer.fileList);
    const [inTest] = await urlsIn(TEST);
    expect(inTest).toMatchObject({ fileID: result.fileID, status: 0 });
    expect(await (await fetch(String(inTest?.tempFileURL))).text()).toBe('paid 1 fen');
    const [inProd] = await urlsIn(PROD);
    expect(inProd).toMatchObject({ fileID: result.fileID, status: -503003, tempFileURL: '' });

    // The control API lists each env's files under ?env=; no env means the default env.
    const listed = (answer: Json): string[] => (answer.files as Json[]).map((f) => String(f.path));
    expect(listed(await control(emu, `/storage/files?env=${TEST}`))).toContain('receipts/r1.txt');
    expect(listed(await control(emu, '/storage/files'))).not.toContain('receipts/r1.txt');
    const bytes = await fetch(`${emu.url}/emulator/v1/storage/files/receipts/r1.txt?env=${TEST}`);
    expect(await bytes.text()).toBe('paid 1 fen');
  });

  test("a watch opened by a client of one env sees that env's changes only", async () => {
    const watcher = (env: string): { changes: Inbox<Json[]>; close: () => void } => {
      const wx = createWx({ url: emu.url, openid: `o-watch-${env}` });
      wx.cloud.init({ env });
      const changes = new Inbox<Json[]>();
      const listener = wx.cloud
        .database()
        .collection('BOARD')
        .watch({
          onChange: (snapshot: unknown) => changes.push((snapshot as { docs: Json[] }).docs),
          onError: (err: unknown) => changes.push([{ error: String(err) }]),
        });
      return { changes, close: () => void listener.close() };
    };
    const inProd = watcher(PROD);
    const inTest = watcher(TEST);
    expect(await inProd.changes.count(1)).toEqual([[]]);
    expect(await inTest.changes.count(1)).toEqual([[]]);

    const poster = (env: string) => {
      const wx = createWx({ url: emu.url, openid: 'o-poster' });
      wx.cloud.init({ env });
      return wx.cloud.database().collection('BOARD');
    };
    await poster(TEST).add({ data: { text: 'in test' } });
    const testDocs = await inTest.changes.count(2);
    expect(testDocs[1]).toEqual([expect.objectContaining({ text: 'in test' })]);

    // The prod watch's next snapshot is prod's own post, without the test env's.
    await poster(PROD).add({ data: { text: 'in prod' } });
    const prodDocs = await inProd.changes.count(2);
    expect(prodDocs[1]).toEqual([expect.objectContaining({ text: 'in prod' })]);
    inProd.close();
    inTest.close();
  });

  test('one user watching two envs (database({env})) gets each env on its own socket', async () => {
    const wx = createWx({ url: emu.url, openid: 'o-two-envs' });
    const closers: (() => Promise<void>)[] = [];
    const watch = (db: ReturnType<typeof wx.cloud.database>): Inbox<Json[]> => {
      const changes = new Inbox<Json[]>();
      const listener = db.collection('BOARD').watch({
        onChange: (snapshot: unknown) => changes.push((snapshot as { docs: Json[] }).docs),
        onError: (err: unknown) => changes.push([{ error: String(err) }]),
      });
      closers.push(() => listener.close());
      return changes;
    };
    const inProd = watch(wx.cloud.database());
    const inTest = watch(wx.cloud.database({ env: TEST }));
    const [prodInit] = await inProd.count(1);
    const [testInit] = await inTest.count(1);
    expect(prodInit?.map((d) => d.text)).toEqual(['in prod']);
    expect(testInit?.map((d) => d.text)).toEqual(['in test']);
    await Promise.all(closers.map((close) => close()));
  });

  test('the control API reads, exports, imports and resets one env under ?env=', async () => {
    expect((await documents(emu, 'BOARD')).map((d) => d.text)).toEqual(['in prod']);
    expect((await documents(emu, 'BOARD', TEST)).map((d) => d.text)).toEqual(['in test']);
    const collections = await control(emu, `/collections?env=${TEST}`);
    expect(collections.collections).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'BOARD', count: 1 })]),
    );

    const unknown = await control(emu, '/collections?env=nope-env');
    expect(unknown).toMatchObject({ status: 404, error: { code: 'INVALID_ENV' } });
    expect(String((unknown.error as Json).message)).toContain(`${PROD}, ${TEST}`);

    // Export prod, import into test: test's BOARD now holds prod's post; prod is unchanged.
    const exported = await control(emu, `/database/export?env=${PROD}`);
    const { status: _status, ...file } = exported;
    const imported = await control(emu, `/database/import?env=${TEST}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...file, collections: { BOARD: (file.collections as Json).BOARD } }),
    });
    expect(imported).toMatchObject({ ok: true, documents: 1 });
    expect((await documents(emu, 'BOARD', TEST)).map((d) => d.text)).toEqual(['in prod']);

    // Reset one env: its documents go; the other env keeps its own.
    await control(emu, `/reset?env=${TEST}`, { method: 'POST' });
    expect(await documents(emu, 'BOARD', TEST)).toEqual([]);
    expect((await documents(emu, 'BOARD')).map((d) => d.text)).toEqual(['in prod']);
  });

  test('each env persists in the data dir: the first at its root, others under envs/<id>/', async () => {
    await runWithSdk(emu.url, `await db.collection('BOARD').add({ data: { text: 'kept' } });`, {
      envId: TEST,
    });
    await control(emu, `/storage/files/kept.txt?env=${TEST}`, { method: 'PUT', body: 'kept' });
    await emu.stop();
    expect(fs.existsSync(path.join(dataDir, 'database', 'journal.jsonl'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'envs', TEST, 'database', 'journal.jsonl'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'envs', TEST, 'storage', 'index.json'))).toBe(true);

    emu = await start();
    expect((await documents(emu, 'BOARD')).map((d) => d.text)).toEqual(['in prod']);
    expect((await documents(emu, 'BOARD', TEST)).map((d) => d.text)).toEqual(['kept']);
    const files = await control(emu, `/storage/files?env=${TEST}`);
    expect((files.files as Json[]).map((f) => f.path)).toContain('kept.txt');
    const root = await control(emu, '/storage/files');
    expect((root.files as Json[]).map((f) => f.path)).not.toContain('kept.txt');
  });
});

test('a data dir written by a one-env emulator loads as the first env when more are hosted', async () => {
  const { projectDir } = makeProject();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-envs-old-'));
  const options = { functionsDir: FIXTURES, projectDir, dataDir, port: 0 };
  try {
    const before = await startEmulator({ ...options, envId: PROD });
    await runWithSdk(before.url, `await db.collection('ITEMS').add({ data: { n: 1 } });`, {
      envId: PROD,
    });
    await before.stop();

    const after = await startEmulator({ ...options, envId: `${PROD},${TEST}` });
    try {
      expect((await documents(after, 'ITEMS')).map((d) => d.n)).toEqual([1]);
      expect(await documents(after, 'ITEMS', TEST)).toEqual([]);
    } finally {
      await after.stop();
    }
  } finally {
    fs.rmSync(projectDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the root keeps its env when --env-id is reordered, and is left alone when its env is not hosted', async () => {
  const { projectDir } = makeProject();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-envs-order-'));
  const options = { functionsDir: FIXTURES, projectDir, dataDir, port: 0 };
  const items = async (emu: RunningEmulator, env: string): Promise<unknown[]> =>
    (await documents(emu, 'ITEMS', env)).map((d) => d.n);
  try {
    const first = await startEmulator({ ...options, envId: `${PROD},${TEST}` });
    for (const [env, n] of [
      [PROD, 1],
      [TEST, 2],
    ] as const) {
      await runWithSdk(first.url, `await db.collection('ITEMS').add({ data: { n: ${n} } });`, {
        envId: env,
      });
    }
    await first.stop();
    expect(fs.readFileSync(path.join(dataDir, 'ROOT_ENV'), 'utf8').trim()).toBe(PROD);

    // Reordered: the default env changes, each env's data does not.
    const reordered = await startEmulator({ ...options, envId: `${TEST},${PROD}` });
    try {
      expect(await items(reordered, PROD)).toEqual([1]);
      expect(await items(reordered, TEST)).toEqual([2]);
    } finally {
      await reordered.stop();
    }

    // Another env alone: it starts empty under envs/, with a warning; the root stays PROD's.
    const other = await startEmulator({ ...options, envId: 'other-env-5d' });
    try {
      expect(await items(other, 'other-env-5d')).toEqual([]);
      const warnings = other.events
        .since(0, 'emulator.warning')
        .map((e) => String((e.data as Json).message));
      expect(warnings.some((m) => m.includes(`holds env ${PROD}'s data`))).toBe(true);
    } finally {
      await other.stop();
    }
    const back = await startEmulator({ ...options, envId: PROD });
    try {
      expect(await items(back, PROD)).toEqual([1]);
    } finally {
      await back.stop();
    }
  } finally {
    fs.rmSync(projectDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
