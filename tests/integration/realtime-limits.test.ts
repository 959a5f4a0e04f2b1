// Realtime memory (issue 15 item 3): watches are capped per user and in all, every watch shares
// one text per document version, and each watch's replay buffer is bounded by bytes.
import v8 from 'node:v8';
import vm from 'node:vm';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { MAX_WATCHES_PER_OPENID } from '../../emulator/src/database/realtime';
import { EVENT_BUFFER_CHARS, Watch } from '../../emulator/src/database/realtime/watch';
import type { ChangeEvent } from '../../emulator/src/database/store';
import { makeProject } from './database-helpers';
import { RawClient } from './realtime-helpers';

let emu: RunningEmulator;
const clients: RawClient[] = [];
beforeAll(async () => {
  emu = await startEmulator({
    ...makeProject({ NOTES: { rules: { read: 'doc._openid == auth.openid', write: false } } }),
    port: 0,
    inMemory: true,
  });
});
afterAll(async () => {
  for (const client of clients) client.ws.close();
  await emu.stop();
});

const watchFrame = (watchId: string): Parameters<RawClient['request']>[0] => ({
  watchId,
  msgType: 'INIT_WATCH',
  msgData: {
    envId: 'local-env',
    collName: 'NOTES',
    query: JSON.stringify(JSON.stringify({ _openid: '{openid}' })),
  },
});

test('one user gets at most 100 watches across sockets; another user is not affected', async () => {
  const alice1 = await RawClient.connect(emu.url, 'o-alice-cap');
  const alice2 = await RawClient.connect(emu.url, 'o-alice-cap');
  const bob = await RawClient.connect(emu.url, 'o-bob-cap');
  clients.push(alice1, alice2, bob);
  for (let i = 0; i < 60; i++) {
    expect((await alice1.request(watchFrame(`a1-${i}`))).msgType).toBe('INIT_EVENT');
  }
  for (let i = 0; i < MAX_WATCHES_PER_OPENID - 60; i++) {
    expect((await alice2.request(watchFrame(`a2-${i}`))).msgType).toBe('INIT_EVENT');
  }
  const refused = await alice2.request(watchFrame('one-too-many'));
  expect(refused.msgType).toBe('ERROR');
  expect(String(refused.msgData?.message)).toBe(
    "at most 100 watches per user (wxcloud-emulator's cap); close some first",
  );
  expect((await bob.request(watchFrame('bob-1'))).msgType).toBe('INIT_EVENT');
});

function heapUsedAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

let seq = 0;
const change = (after: Record<string, unknown>): ChangeEvent => ({
  seq: ++seq,
  collection: 'NOTES',
  docId: after._id as string,
  kind: 'update',
  before: null,
  after,
});

test('a thousand watches of one document share one copy of each version', () => {
  const doc = { _id: 'order-1', _openid: 'o-heavy', body: 'x'.repeat(20_000), v: 0 };
  const before = heapUsedAfterGc();
  const watches = Array.from(
    { length: 1000 },
    (_, i) =>
      new Watch(
        { collection: 'NOTES', filter: { _openid: 'o-heavy' }, order: [] },
        'o-heavy',
        `w${i}`,
        [doc],
      ),
  );
  // 20 updates of a 20 KB document: 1000 private copies each would be 400 MB.
  for (let v = 1; v <= 20; v++) {
    const ev = change({ ...doc, v });
    for (const watch of watches) watch.apply(ev);
  }
  const grown = heapUsedAfterGc() - before;
  expect(watches.every((w) => w.currEvent === 20)).toBe(true);
  expect(grown).toBeLessThan(40 * 1024 * 1024);
});

test("a watch's replay buffer is bounded by bytes: past it a rebuild re-inits instead of replaying", () => {
  const watch = new Watch({ collection: 'NOTES', filter: {}, order: [] }, 'o-x', 'w', [
    { _id: 'd', body: '' },
  ]);
  const big = 'y'.repeat(20_000);
  for (let v = 1; v <= 200; v++) watch.apply(change({ _id: 'd', body: big, v }));
  // The last 10 changes are still buffered: replayed as they happened.
  const recent = watch.since(watch.currEvent - 10) ?? [];
  expect(recent.map((e) => e.DataType)).toEqual(Array(10).fill('update'));
  // 200 changes of 20 KB are far past the 1 MB buffer: the client is re-initialised instead.
  expect(200 * 20_000).toBeGreaterThan(EVENT_BUFFER_CHARS);
  const old = watch.since(watch.currEvent - 200) ?? [];
  expect(old.map((e) => e.DataType)).toEqual(['init']);
});
