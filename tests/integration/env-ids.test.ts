/**
 * The envs an emulator hosts (`--env-id a,b`, JS `envId: 'a,b'`): the first is the default and
 * every function's DYNAMIC_CURRENT_ENV; an SDK call naming an env the emulator does not host
 * fails, as on the cloud, where an env id that does not exist answers "Environment not found"
 * (developers' reports: errCode -501000 through wx.cloud.callFunction) with the code INVALID_ENV
 * that the cloud's own error text links to. The "how to add it" part of the message is the
 * emulator's.
 */
import path from 'node:path';
import type { RunningEmulator } from '../../emulator/src/emulator';
import { startProjectEmulator } from '../support/emulator';
import { createWx } from '../../emulator/src';
import { runWithSdk } from '../support/sdk';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/env-functions');

describe('env ids', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startProjectEmulator({
      functionsDir: FIXTURES,
      envId: 'shop-prod-9f3a,shop-test-2b7c',
    });
    await fetch(`${emulator.url}/emulator/v1/collections/notes`, { method: 'PUT' });
    // The second env has its own database: its collection is created there.
    await runWithSdk(emulator.url, `await db.createCollection('notes');`, {
      envId: 'shop-test-2b7c',
    });
  });
  afterAll(() => emulator.stop());

  test('health lists every env; the first is the default', async () => {
    const health = (await (await fetch(`${emulator.url}/emulator/v1/health`)).json()) as Record<
      string,
      unknown
    >;
    expect(health).toMatchObject({
      envId: 'shop-prod-9f3a',
      envIds: ['shop-prod-9f3a', 'shop-test-2b7c'],
    });
  });

  test('a function with a hosted env id hard-coded works; by default it runs in the first env', async () => {
    const outcome = await emulator.services.functions.invoke({
      name: 'hardcoded-env',
      data: { text: 'hi' },
    });
    expect(outcome).toMatchObject({
      result: { note: { text: 'hi' }, env: 'shop-prod-9f3a' },
    });
    const inTest = await emulator.services.functions.invoke({
      name: 'hardcoded-env',
      data: { text: 'hi' },
      envId: 'shop-test-2b7c',
    });
    expect(inTest).toMatchObject({ result: { env: 'shop-test-2b7c' } });
  });

  test("a function pinned to an env the emulator does not host fails with the cloud's error and the fix", async () => {
    const before = (await runWithSdk<number>(
      emulator.url,
      `return (await db.collection('notes').count()).total;`,
      { envId: 'shop-prod-9f3a' },
    )) as number;
    const outcome = await emulator.services.functions.invoke({ name: 'foreign-env', data: {} });
    const result = (outcome as { result: { written: boolean; errMsg: string } }).result;
    expect(result.written).toBe(false);
    expect(result.errMsg).toContain('Environment not found');
    expect(result.errMsg).toContain('someone-elses-env-9x8y');
    expect(result.errMsg).toContain(
      '--env-id shop-prod-9f3a,shop-test-2b7c,someone-elses-env-9x8y',
    );
    const after = await runWithSdk<number>(
      emulator.url,
      `return (await db.collection('notes').count()).total;`,
      { envId: 'shop-prod-9f3a' },
    );
    expect(after).toBe(before);
  });

  test('the server SDK and the client door answer INVALID_ENV for an unknown env', async () => {
    await expect(
      runWithSdk(emulator.url, `return await db.collection('notes').get();`, {
        envId: 'local-env',
      }),
    ).rejects.toMatchObject({ errMsg: expect.stringContaining('Environment not found') });
    const res = await fetch(`${emulator.url}/admin/client?env=nope-env`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-wxcloud-openid': 'o-a' },
      body: JSON.stringify({
        action: 'database.getDocument',
        collectionName: 'notes',
        query: '{}',
      }),
    });
    expect(await res.json()).toMatchObject({ code: 'INVALID_ENV' });
  });

  test('a mini-program calling a function in an unknown env gets -501000 Environment not found', async () => {
    const wx = createWx({ url: emulator.url, openid: 'o-gina' });
    wx.cloud.init({ env: 'gone-env' });
    await expect(wx.cloud.callFunction({ name: 'hardcoded-env', data: {} })).rejects.toMatchObject({
      errCode: -404011,
      errMsg: expect.stringContaining('error code -501000, error message Environment not found'),
    });
  });

  test('each env has its own data: a write in one is not seen in the other', async () => {
    const count = (envId: string): Promise<number> =>
      runWithSdk<number>(
        emulator.url,
        `try { return (await db.collection('diary').count()).total; } catch (e) { return -1; }`,
        { envId },
      );
    await runWithSdk(
      emulator.url,
      `await db.createCollection('diary'); await db.collection('diary').add({ data: { text: 't' } });`,
      { envId: 'shop-test-2b7c' },
    );
    expect(await count('shop-test-2b7c')).toBe(1);
    // The default env has no such collection (DATABASE_COLLECTION_NOT_EXIST).
    expect(await count('shop-prod-9f3a')).toBe(-1);
  });

  test('a bad env id stops the start', async () => {
    await expect(
      startProjectEmulator({
        functionsDir: FIXTURES,
        envId: 'a,,b',
      }),
    ).rejects.toThrow(/env id "" is not valid/);
  });
});
