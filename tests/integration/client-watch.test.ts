import { createWx, type RunningEmulator } from '../../emulator/src';
import { control, startProjectEmulator } from '../support/emulator';

/**
 * The page's watch through createWx in plain Node (no global WebSocket: createWx brings `ws`):
 * the documented snapshot shape, the paid update pushed when the callback lands, and close().
 */
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startProjectEmulator();
});
afterAll(() => emu.stop());

interface Snapshot {
  type?: string;
  docs: { paystatus: number; status: string }[];
  docChanges: { dataType: string; queueType: string; doc: { paystatus: number } }[];
}

it('watches the user’s own order and sees it paid when the callback lands', async () => {
  expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined();
  // The real client logs its socket's events; the last, the close that follows watcher.close(),
  // comes a moment after close() resolves. Wait for it, so nothing logs after the file ended.
  let socketClosed: () => void = () => undefined;
  const closeLogged = new Promise<void>((resolve) => (socketClosed = resolve));
  const quiet = (...args: unknown[]): void => {
    if (String(args[0]).includes('[realtime] ws event: close')) socketClosed();
  };
  const spies = (['log', 'warn'] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation(quiet),
  );
  const wx = createWx({ url: emu.url, openid: 'o_watcher', decide: () => 'confirm' });
  const placed = (await wx.cloud.callFunction({
    name: 'userpay',
    data: { itemId: 'demo-unlock' },
  })) as {
    result: { docid: string; tradeno: string };
  };
  const snapshots: Snapshot[] = [];
  let paid: () => void = () => undefined;
  const seenPaid = new Promise<void>((resolve) => (paid = resolve));
  const errors: unknown[] = [];
  const watcher = wx.cloud
    .database()
    .collection('USERPAYLOG')
    .where({ _id: placed.result.docid, _openid: '{openid}' })
    .watch({
      onChange: (snapshot: unknown) => {
        snapshots.push(snapshot as Snapshot);
        if ((snapshot as Snapshot).docs[0]?.paystatus === 1) paid();
      },
      onError: (err: unknown) => errors.push(err),
    });
  await control(emu, 'POST', `/pay/orders/${placed.result.tradeno}/confirm`);
  // A bounded wait whose timer is cleared either way: a timer left running keeps jest from exiting.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    seenPaid,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`watch saw ${JSON.stringify(snapshots)}`)), 10_000);
    }),
  ]).finally(() => clearTimeout(timer));
  expect(errors).toEqual([]);
  expect(snapshots[0]).toMatchObject({ type: 'init', docs: [{ paystatus: 0, status: 'pending' }] });
  expect(snapshots[0].docChanges[0]).toMatchObject({ dataType: 'init', queueType: 'init' });
  const last = snapshots[snapshots.length - 1];
  expect(last.type).toBeUndefined();
  expect(last.docChanges).toEqual([
    expect.objectContaining({
      dataType: 'update',
      queueType: 'update',
      doc: expect.objectContaining({ paystatus: 1 }),
    }),
  ]);
  await expect(watcher.close()).resolves.toBeUndefined();
  await closeLogged;
  spies.forEach((spy) => spy.mockRestore());
});
