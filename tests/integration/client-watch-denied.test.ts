import { createWx, type RunningEmulator } from '../../emulator/src';
import { startProjectEmulator } from '../support/emulator';

/**
 * A watch the security rules deny. The mini-program reports a failed watch through its onError
 * callback, once, and the watch is over (reference-sdk-api/database/collection/Collection.watch:
 * "onError: 监听出错时的回调"); nothing else escapes into the program.
 */
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startProjectEmulator();
});
afterAll(() => emu.stop());

it('a denied watch calls onError exactly once and leaves no unhandled rejection', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const spies = (['log', 'warn', 'error'] as const).map((level) =>
    jest.spyOn(console, level).mockImplementation(() => undefined),
  );
  try {
    const wx = createWx({ url: emu.url, openid: 'o_snooper' });
    const errors: unknown[] = [];
    let failed: () => void = () => undefined;
    const firstError = new Promise<void>((resolve) => (failed = resolve));
    // USERPAYLOG's rules let a user read only their own orders (database rules in the project):
    // a watch over everyone's orders is denied.
    const watcher = wx.cloud
      .database()
      .collection('USERPAYLOG')
      .where({ paystatus: 1 })
      .watch({
        onChange: () => undefined,
        onError: (err: unknown) => {
          errors.push(err);
          failed();
        },
      });
    await firstError;
    // Give a second report, or a rejection, the time it took to show up before the fix.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(errors).toHaveLength(1);
    // COLLECTION_PERMISSION_DENIED is the realtime protocol's code for it (@cloudbase/database
    // 1.4.3 realtime/virtual-websocket-client.js handleCommonError); the message is the emulator's.
    expect(errors[0]).toBeInstanceOf(Error);
    expect(errors[0]).toMatchObject({
      errCode: 'COLLECTION_PERMISSION_DENIED',
      errMsg: expect.stringContaining('Permission denied: USERPAYLOG') as unknown,
    });
    expect(unhandled).toEqual([]);
    await watcher.close();
  } finally {
    process.off('unhandledRejection', onUnhandled);
    spies.forEach((spy) => spy.mockRestore());
  }
});
