// Smaller defects from issue 15 item 8, each found by trying.
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { makeProject } from './database-helpers';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ ...makeProject(), port: 0, inMemory: true });
});
afterAll(() => emu.stop());

const post = (route: string, body: unknown): Promise<Response> =>
  fetch(`${emu.url}/emulator/v1${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('clock/advance past the last representable date is refused, and the emulator keeps answering', async () => {
  const refused = await post('/clock/advance', { ms: 1e16 });
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
    /would move the emulated clock past 9999-12-31T23:59:59\.999Z; advance by at most \d+ ms/,
  );
  const health = await fetch(`${emu.url}/emulator/v1/health`);
  expect(health.status).toBe(200);
  // A year is fine.
  expect((await post('/clock/advance', { ms: 365 * 24 * 3600_000 })).status).toBe(200);
});

test('an unknown ?type= on /events answers 400 naming the allowed types', async () => {
  const answer = await fetch(`${emu.url}/emulator/v1/events?type=pay.orders`);
  expect(answer.status).toBe(400);
  const { error } = (await answer.json()) as { error: { code: string; message: string } };
  expect(error.code).toBe('INVALID_PARAM');
  expect(error.message).toBe(
    'unknown event type "pay.orders"; use one of: function.invocation, function.log, database.operation, database.denied, storage.operation, storage.denied, pay.order, pay.callback, pay.refund, emulator.warning, emulator.reset, clock.advanced',
  );
});

test('POST /database/import is all or nothing: a bad document in a later collection leaves earlier ones untouched', async () => {
  const store = emu.services.database.store;
  store.insert('ITEMS', [{ _id: 'kept', name: 'before the import' }]);
  const answer = await post('/database/import', {
    format: 'wxcloud-emulator-database',
    version: 1,
    collections: {
      ITEMS: [{ _id: 'new', name: 'from the file' }],
      USERPAYLOG: [{ _id: 'a', tradeno: 'T1' }, { tradeno: 'T2' }],
    },
  });
  expect(answer.status).toBe(400);
  expect(((await answer.json()) as { error: { message: string } }).error.message).toBe(
    'a USERPAYLOG document has no valid _id',
  );
  expect(store.find('ITEMS', {})).toEqual([{ _id: 'kept', name: 'before the import' }]);
  expect(store.find('USERPAYLOG', {})).toEqual([]);

  const duplicate = await post('/database/import', {
    format: 'wxcloud-emulator-database',
    version: 1,
    collections: { ITEMS: [{ _id: 'x' }, { _id: 'x' }] },
  });
  expect(((await duplicate.json()) as { error: { message: string } }).error.message).toBe(
    'collections.ITEMS holds _id "x" twice',
  );
  expect(store.find('ITEMS', {})).toEqual([{ _id: 'kept', name: 'before the import' }]);
});
