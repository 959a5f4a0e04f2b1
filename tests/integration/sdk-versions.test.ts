/**
 * Cloud functions pinned to older SDK generations, run unmodified: every request they make
 * reaches the emulator, and nothing reaches an outside host.
 *
 * Sources: wx-server-sdk 2.1.2 bundles @cloudbase/node-sdk 2.1.1, whose getCloudbaseContext
 * (lib/cloudbase.js) copies TCB_CONTEXT_CNFG from process.env only when TCB_CONTEXT_KEYS names
 * it, and whose Request#getUrl (lib/utils/httpRequest.js) otherwise falls back to
 * http://tcb-admin.tencentyun.com/admin in SCF; wx-server-sdk 2.6.3 (node-sdk 2.9.1) and 3.0.1
 * (node-sdk 2.10.0) read it regardless; tcb-admin-node 1.23.0 (src/utils/httpRequest.js) reads
 * no injected address at all and always posts to tcb-admin.tencentyun.com in SCF.
 * The SDKs are installed from the npm registry on first run (tests/support/fixture-functions.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { functionsFolder } from '../support/fixture-functions';
import { documents, invoke } from '../support/emulator';

const ROOT = path.resolve(__dirname, '../..');
const SOURCE = path.join(ROOT, 'tests/fixtures/sdk-functions');
const NAMES = [
  'notes-sdk2-1',
  'notes-sdk2-6',
  'notes-sdk3',
  'notes-sdk4',
  'notes-node-sdk',
  'admin-node-direct',
  'calls-outside',
];

interface Note {
  id: string;
  note: { _id: string; text: string; sdk: string; _openid?: string };
  openid?: string;
  pay?: string;
}

describe('functions pinned to older SDKs reach only the emulator', () => {
  let emulator: RunningEmulator;
  let functionsDir: string;

  beforeAll(async () => {
    functionsDir = await functionsFolder(SOURCE, NAMES);
    emulator = await startEmulator({
      functionsDir,
      projectDir: ROOT,
      port: 0,
      inMemory: true,
      // Loading an old SDK on a shared CI core can take a few seconds.
      defaultFunctionTimeoutMs: 20000,
    });
    await fetch(`${emulator.url}/emulator/v1/collections/notes`, { method: 'PUT' });
  }, 240000);
  afterAll(async () => {
    await emulator?.stop();
    if (functionsDir) fs.rmSync(functionsDir, { recursive: true, force: true });
  });

  it.each([
    ['notes-sdk2-1', '2.1.2'],
    ['notes-sdk2-6', '2.6.3'],
    ['notes-sdk3', '3.0.1'],
    ['notes-sdk4', '4.0.2'],
  ])(
    '%s (wx-server-sdk %s): database and CloudPay requests land in the emulator',
    async (name, version) => {
      const installed = JSON.parse(
        fs.readFileSync(
          require.resolve('wx-server-sdk/package.json', { paths: [path.join(functionsDir, name)] }),
          'utf8',
        ),
      ) as { version: string };
      expect(installed.version).toBe(version);

      const text = `hello from ${version}`;
      const result = await invoke<Note>(emulator, name, { text }, { openid: 'o-old-sdk' });
      expect(result.note).toMatchObject({ _id: result.id, text, sdk: version });
      expect(result.openid).toBe('o-old-sdk');
      // The sandbox answered the query (the order does not exist): return_code SUCCESS, result FAIL.
      expect(result.pay).toBe('SUCCESS');
      const stored = await documents<{ _id: string; text: string }>(emulator, 'notes');
      expect(stored.find((d) => d._id === result.id)?.text).toBe(text);
    },
  );

  it('@cloudbase/node-sdk 2.1.1 used directly lands in the emulator', async () => {
    const result = await invoke<Note>(emulator, 'notes-node-sdk', { text: 'direct' });
    expect(result.note).toMatchObject({ _id: result.id, text: 'direct', sdk: 'node-sdk 2.1.1' });
    const stored = await documents<{ _id: string }>(emulator, 'notes');
    expect(stored.map((d) => d._id)).toContain(result.id);
  });

  it('tcb-admin-node, which cannot be pointed anywhere, is refused before leaving: host, SDK and fix named', async () => {
    const before = (await documents(emulator, 'notes')).length;
    const result = await invoke<{ sent: boolean; message: string }>(emulator, 'admin-node-direct', {
      text: 'leak?',
    });
    expect(result.sent).toBe(false);
    expect(result.message).toContain('tcb-admin.tencentyun.com');
    expect(result.message).toContain('tcb-admin-node@1.23.0');
    expect(result.message).toContain('upgrade wx-server-sdk');
    expect(await documents(emulator, 'notes')).toHaveLength(before);
    // The refusal is in the invocation's log even when the function swallows the error.
    const [record] = emulator.services.functions.invocations({ name: 'admin-node-direct' });
    expect(record?.logs.some((l) => l.message.includes('tcb-admin.tencentyun.com'))).toBe(true);
  });

  it('a plain https request to a WeChat host fails at once with the sealed-network error', async () => {
    const started = Date.now();
    const result = await invoke<{ failed: boolean; code: string; message: string }>(
      emulator,
      'calls-outside',
      {},
    );
    expect(result).toMatchObject({ failed: true, code: 'EWXCLOUD_SEALED' });
    expect(result.message).toContain('api.weixin.qq.com');
    // "At once": no DNS lookup or connect timeout was waited for (generous bound for CI).
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
