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
import dgram from 'node:dgram';
import path from 'node:path';
import type { RunningEmulator } from '../../emulator/src/emulator';
import { startProjectEmulator } from '../support/emulator';
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
    emulator = await startProjectEmulator({
      functionsDir: FIXTURES,
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

  test('context.getRemainingTimeInMillis() counts down from the timeout; the printed context keeps the platform fields', async () => {
    // The method is AWS Lambda's Node.js context method ("returns the number of milliseconds left
    // before the execution times out", docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html);
    // no Tencent doc lists it for SCF, whose context is JSON data (time_limit_in_ms, request_id,
    // ...: cloud.tencent.com/document/product/583/9210), so it stays out of the context's keys.
    // The function's config.json sets a 5 s timeout (the console's 超时时间, in seconds).
    const outcome = await invoke({ name: 'time-left', data: { waitMs: 300 } });
    const result = resultOf<{
      atStart: number;
      afterWait: number;
      limit: number;
      keys: string[];
      printed: Record<string, unknown>;
    }>(outcome);
    expect(result.limit).toBe(5000);
    expect(result.atStart).toBeGreaterThan(0);
    expect(result.atStart).toBeLessThanOrEqual(5000);
    // 300 ms of waiting takes at least 300 ms off what is left.
    expect(result.atStart - result.afterWait).toBeGreaterThanOrEqual(300);
    expect(result.keys).not.toContain('getRemainingTimeInMillis');
    expect(result.keys).toEqual(
      expect.arrayContaining(['request_id', 'function_name', 'time_limit_in_ms', 'namespace']),
    );
    expect(result.printed).toMatchObject({ function_name: 'time-left', time_limit_in_ms: 5000 });
  });

  test('UDP is sealed like TCP: a datagram or connect to an outside host fails naming it; loopback works', async () => {
    // The emulator's own rule (network-seal.ts, README "The network is sealed"): an instance
    // reaches only loopback; the EWXCLOUD_SEALED code and wording are the emulator's.
    const receiver = dgram.createSocket('udp4');
    const received = new Promise<string>((resolve) =>
      receiver.once('message', (msg) => resolve(msg.toString())),
    );
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    try {
      const outcome = await invoke({
        name: 'udp-outside',
        data: { localPort: receiver.address().port },
      });
      const result =
        resultOf<Record<string, { failed: boolean; code?: string; message?: string }>>(outcome);
      expect(result.local).toEqual({ failed: false });
      expect(await received).toBe('hits:1|c');
      expect(result.resolver).toMatchObject({ failed: true, code: 'EWXCLOUD_SEALED' });
      expect(result.resolver?.message).toContain('119.29.29.29:53');
      expect(result.statsd).toMatchObject({ failed: true, code: 'EWXCLOUD_SEALED' });
      expect(result.statsd?.message).toContain('statsd.example.com');
    } finally {
      receiver.close();
    }
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
