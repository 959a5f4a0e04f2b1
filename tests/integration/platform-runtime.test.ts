/**
 * What the platform hands a function besides its code: the event's userInfo, getWXContext()
 * per caller, the context argument, the handler forms SCF's Node.js runtime accepts, and the
 * function folder as working directory and module search path.
 *
 * Sources: Cloud.getWXContext (WeChat cloud SDK reference: OPENID and APPID "when a mini-program
 * calls the function", ENV always, SOURCE the call chain, e.g. wx_client,scf); platform-facts §8
 * (event.userInfo = {appId, openId} for mini-program calls; NODE_PATH=/var/user:...); SCF's
 * Node.js guide (cloud.tencent.com/document/product/583/11060: handlers take (event, context,
 * callback), callback(error, result) answers; an async handler answers with return).
 */
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import type { InvokeOutcome } from '../../emulator/src/functions';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/platform-functions');

function resultOf<T>(outcome: InvokeOutcome): T {
  if (!('result' in outcome)) throw new Error(`expected a result, got ${JSON.stringify(outcome)}`);
  return outcome.result as T;
}

interface Probe {
  event: Record<string, unknown>;
  wxContext: Record<string, unknown>;
  context: Record<string, unknown>;
}

describe('the platform around a function', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({
      functionsDir: FIXTURES,
      projectDir: ROOT,
      port: 0,
      inMemory: true,
      appid: 'wx1234567890abcdef',
    });
  });
  afterAll(() => emulator.stop());
  const invoke = (request: Parameters<RunningEmulator['services']['functions']['invoke']>[0]) =>
    emulator.services.functions.invoke(request);

  test("a mini-program call's event carries userInfo {appId, openId}; a sent userInfo is overwritten", async () => {
    const outcome = await invoke({
      name: 'paysample-style',
      data: { userInfo: { openId: 'o-forged', appId: 'wx-forged' } },
      openid: 'o-carol',
    });
    expect(resultOf(outcome)).toEqual({
      openid: 'o-carol',
      appId: 'wx1234567890abcdef',
      requestId: outcome.invocationId,
    });
  });

  test('timers, pay callbacks and function-to-function calls get no injected userInfo', async () => {
    for (const source of ['wx_trigger', 'wx_paycallback', 'wx_client,scf']) {
      const outcome = await invoke({
        name: 'context-probe',
        data: { x: 1 },
        openid: source === 'wx_trigger' ? '' : 'o-dave',
        source,
      });
      expect(resultOf<Probe>(outcome).event).toEqual({ x: 1 });
    }
  });

  test('getWXContext() per caller: a timer sees ENV and SOURCE only, a user call its user too', async () => {
    const fromClient = resultOf<Probe>(
      await invoke({ name: 'context-probe', data: {}, openid: 'o-erin', clientIp: '10.1.2.3' }),
    );
    expect(fromClient.wxContext).toEqual({
      OPENID: 'o-erin',
      APPID: 'wx1234567890abcdef',
      CLIENTIP: '10.1.2.3',
      ENV: 'local-env',
      SOURCE: 'wx_client',
    });
    // The same warm instance next runs as a timer: nothing of the previous caller remains.
    const fromTimer = resultOf<Probe>(
      await invoke({ name: 'context-probe', data: {}, openid: '', source: 'wx_trigger' }),
    );
    expect(fromTimer.wxContext).toEqual({ ENV: 'local-env', SOURCE: 'wx_trigger' });
    const chained = resultOf<Probe>(
      await invoke({ name: 'context-probe', data: {}, openid: 'o-erin', source: 'wx_client,scf' }),
    );
    expect(chained.wxContext).toMatchObject({ OPENID: 'o-erin', SOURCE: 'wx_client,scf' });
  });

  test('the context argument carries the invocation, function and limits', async () => {
    const outcome = await invoke({ name: 'context-probe', data: {} });
    expect(resultOf<Probe>(outcome).context).toEqual({
      request_id: outcome.invocationId,
      function_name: 'context-probe',
      function_version: '$LATEST',
      namespace: 'local-env',
      memory_limit_in_mb: 256,
      time_limit_in_ms: 3000,
    });
  });

  test('a callback-style main answers through its callback, and fails through it', async () => {
    expect(resultOf(await invoke({ name: 'callback-style', data: { n: 21 } }))).toEqual({
      doubled: 42,
      fn: 'callback-style',
    });
    const failed = await invoke({ name: 'callback-style', data: { fail: true } });
    expect(failed).toMatchObject({ errCode: -404011 });
    expect('errMsg' in failed && failed.errMsg).toContain('asked to fail');
  });

  test('a main that is neither async nor callback-style answers with its return value', async () => {
    expect(resultOf(await invoke({ name: 'plain-main', data: { a: 2, b: 3 } }))).toEqual({
      sum: 5,
    });
  });

  test("the function's folder is its working directory and on its module search path", async () => {
    expect(resultOf(await invoke({ name: 'own-files', data: {} }))).toEqual({
      mchKey: 'k-from-own-folder',
      cert: 'not-a-real-certificate',
      cwd: path.join(FIXTURES, 'own-files'),
    });
  });
});
