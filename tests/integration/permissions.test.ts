/**
 * The console's four basic permissions, declared with `"permission"` in `database/<C>.json`,
 * met by mini-program users through createWx.
 *
 * Source: the cloud's permission guide (数据库权限控制, developers.weixin.qq.com .../database/
 * permission.html): per mode, whether a mini-program user may read and write their own and
 * others' records (the admin side always may); the cloud's security-rules guide and
 * platform-facts §8: under the basic permissions the platform adds "_openid is the user" to a
 * query by itself, so the creator's doc(id).update()/remove() work and others' match nothing.
 * The names are Tencent Cloud's AclTag values (READONLY, PRIVATE, ADMINWRITE, ADMINONLY). A
 * collection without a file gets PRIVATE, taken as a new collection's default: no official
 * document states it (emulator/docs/rules.md lists what was searched); the source is community
 * reports that a collection created by code gets "仅创建者及管理员可读写"
 * (developers.weixin.qq.com/community/develop/doc/0002aa68828dc842feb7cd09156400) and
 * platform-facts §8.
 * Error wording is the emulator's; the code (DATABASE_PERMISSION_DENIED → -502003) the platform's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWx, startEmulator, type EmulatedWx, type RunningEmulator } from '../../emulator/src';
import { runWithSdk } from '../support/sdk';

const FUNCTIONS = path.resolve(__dirname, '../fixtures/platform-functions');

function projectWith(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-perm-'));
  fs.mkdirSync(path.join(dir, 'database'));
  for (const [name, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, 'database', `${name}.json`), JSON.stringify(content));
  }
  return dir;
}

describe('basic permissions from the client', () => {
  let emulator: RunningEmulator;
  let projectDir: string;
  let alice: EmulatedWx;
  let bob: EmulatedWx;

  beforeAll(async () => {
    projectDir = projectWith({
      ARTICLES: { permission: 'READONLY' },
      ALBUMS: { permission: 'PRIVATE' },
      GOODS: { permission: 'ADMINWRITE' },
      LEDGER: { permission: 'ADMINONLY' },
      ORDERS: { rules: { read: 'doc._openid == auth.openid', write: false } },
    });
    emulator = await startEmulator({
      functionsDir: FUNCTIONS,
      projectDir,
      port: 0,
      inMemory: true,
    });
    alice = createWx({ url: emulator.url, openid: 'o-alice' });
    bob = createWx({ url: emulator.url, openid: 'o-bob' });
  });
  afterAll(async () => {
    await emulator.stop();
    fs.rmSync(projectDir, { recursive: true, force: true });
  });

  const add = async (wx: EmulatedWx, collection: string, data: Record<string, unknown>) =>
    (await wx.cloud.database().collection(collection).add({ data }))._id as string;
  const all = async (wx: EmulatedWx, collection: string) =>
    (await wx.cloud.database().collection(collection).where({}).get()).data as {
      _id: string;
      _openid: string;
      title: string;
    }[];
  const denied = { errCode: -502003 };

  test('PRIVATE: each user sees and changes only their own records; doc(id) works for the creator', async () => {
    const mine = await add(alice, 'ALBUMS', { title: 'alice' });
    const theirs = await add(bob, 'ALBUMS', { title: 'bob' });
    // No {openid} in the query: the platform narrows it to the caller's records.
    expect((await all(alice, 'ALBUMS')).map((d) => d._id)).toEqual([mine]);
    expect((await all(bob, 'ALBUMS')).map((d) => d._id)).toEqual([theirs]);
    const albums = alice.cloud.database().collection('ALBUMS');
    expect((await albums.doc(mine).get()).data).toMatchObject({
      title: 'alice',
      _openid: 'o-alice',
    });
    await expect(albums.doc(theirs).get()).rejects.toMatchObject({
      errMsg: expect.stringContaining('does not exist'),
    });
    expect(await albums.doc(mine).update({ data: { title: 'alice 2' } })).toMatchObject({
      stats: { updated: 1 },
    });
    expect(await albums.doc(theirs).update({ data: { title: 'hacked' } })).toMatchObject({
      stats: { updated: 0 },
    });
    expect(await albums.doc(theirs).remove()).toMatchObject({ stats: { removed: 0 } });
    expect((await all(bob, 'ALBUMS'))[0]?.title).toBe('bob');
    expect(await albums.doc(mine).remove()).toMatchObject({ stats: { removed: 1 } });
  });

  test('READONLY: everyone reads every record, only the creator changes one', async () => {
    const mine = await add(alice, 'ARTICLES', { title: 'hello' });
    await add(bob, 'ARTICLES', { title: 'world' });
    expect((await all(bob, 'ARTICLES')).map((d) => d.title).sort()).toEqual(['hello', 'world']);
    const asBob = bob.cloud.database().collection('ARTICLES');
    expect((await asBob.doc(mine).get()).data).toMatchObject({ title: 'hello' });
    expect(await asBob.doc(mine).update({ data: { title: 'defaced' } })).toMatchObject({
      stats: { updated: 0 },
    });
    const asAlice = alice.cloud.database().collection('ARTICLES');
    expect(await asAlice.doc(mine).update({ data: { title: 'hello!' } })).toMatchObject({
      stats: { updated: 1 },
    });
    expect((await asBob.doc(mine).get()).data).toMatchObject({ title: 'hello!' });
  });

  test('ADMINWRITE: clients read what cloud functions wrote, and may not write', async () => {
    await runWithSdk(emulator.url, `await db.collection('GOODS').add({ data: { title: 'pen' } });`);
    expect((await all(alice, 'GOODS')).map((d) => d.title)).toEqual(['pen']);
    await expect(add(alice, 'GOODS', { title: 'free' })).rejects.toMatchObject(denied);
    const penId = (await all(alice, 'GOODS'))[0]?._id ?? 'missing';
    await expect(
      alice.cloud
        .database()
        .collection('GOODS')
        .doc(penId)
        .update({ data: { title: 'x' } }),
    ).rejects.toMatchObject(denied);
  });

  test('ADMINONLY: clients may neither read nor write', async () => {
    await runWithSdk(emulator.url, `await db.collection('LEDGER').add({ data: { title: 'a' } });`);
    await expect(all(alice, 'LEDGER')).rejects.toMatchObject(denied);
    await expect(add(alice, 'LEDGER', { title: 'b' })).rejects.toMatchObject(denied);
  });

  test('a collection without a file has the default PRIVATE', async () => {
    await fetch(`${emulator.url}/emulator/v1/collections/NOTES`, { method: 'PUT' });
    const mine = await add(alice, 'NOTES', { title: 'note' });
    expect((await all(alice, 'NOTES')).map((d) => d._id)).toEqual([mine]);
    expect(await all(bob, 'NOTES')).toEqual([]);
  });

  test("the control API (the console's source) shows each collection's permission", async () => {
    const res = await fetch(`${emulator.url}/emulator/v1/collections`);
    const { collections } = (await res.json()) as {
      collections: { name: string; permission: string }[];
    };
    const byName = Object.fromEntries(collections.map((c) => [c.name, c.permission]));
    expect(byName).toMatchObject({
      ARTICLES: 'READONLY',
      ALBUMS: 'PRIVATE',
      GOODS: 'ADMINWRITE',
      LEDGER: 'ADMINONLY',
      ORDERS: 'CUSTOM',
      NOTES: 'PRIVATE',
    });
  });
});

describe('permission declarations', () => {
  test.each([
    [{ permission: 'PUBLIC' }, /"permission" must be one of "READONLY" .*got "PUBLIC"/],
    [{ permission: 'PRIVATE', rules: { read: true } }, /declares both "rules" and "permission"/],
  ])('%j stops the start, naming the file', async (content, message) => {
    const projectDir = projectWith({ BAD: content });
    try {
      await expect(
        startEmulator({ functionsDir: FUNCTIONS, projectDir, port: 0, inMemory: true }),
      ).rejects.toThrow(message);
      await expect(
        startEmulator({ functionsDir: FUNCTIONS, projectDir, port: 0, inMemory: true }),
      ).rejects.toThrow('BAD.json');
    } finally {
      fs.rmSync(projectDir, { recursive: true, force: true });
    }
  });
});
