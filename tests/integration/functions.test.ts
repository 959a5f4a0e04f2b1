import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { RunningEmulator } from '../../emulator/src/emulator';
import { startProjectEmulator } from '../support/emulator';
import type { EmulatorEvent } from '../../emulator/src/events';
import type { InvokeOutcome } from '../../emulator/src/functions';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/functions');

/** Resolves with the first event (past or future) matching `match`. */
function waitForEvent(
  emulator: RunningEmulator,
  match: (event: EmulatorEvent) => boolean,
): Promise<EmulatorEvent> {
  return new Promise((resolve) => {
    const seen = emulator.events.since(0).find(match);
    if (seen) return resolve(seen);
    const unsubscribe = emulator.events.subscribe((event) => {
      if (match(event)) {
        unsubscribe();
        resolve(event);
      }
    });
  });
}

function resultOf<T>(outcome: InvokeOutcome): T {
  if (!('result' in outcome)) throw new Error(`expected a result, got ${JSON.stringify(outcome)}`);
  return outcome.result as T;
}

interface Whoami {
  wxContext: Record<string, unknown>;
  event: Record<string, unknown>;
  context: Record<string, unknown>;
  now: number;
  iso: string;
}

/**
 * Requests the emulator's HTTP server received on a function instance's /admin path while `run`
 * ran (the emulator runs in this process): what tells the two SDK transports apart.
 */
async function instanceHttpRequests(run: () => Promise<unknown>): Promise<number> {
  let seen = 0;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
    const req = args[0] as http.IncomingMessage | undefined;
    if (event === 'request' && req?.url?.startsWith('/admin/instances/')) seen++;
    return (emit as (this: http.Server, ...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;
  try {
    await run();
  } finally {
    http.Server.prototype.emit = emit;
  }
  return seen;
}

// The same conformance suite over both SDK transports: the default carries a function's SDK
// requests over its worker's message port, `--sdk-transport http` over loopback HTTP.
describe.each(['port', 'http'] as const)(
  'function runtime (real wx-server-sdk inside emulated instances), SDK transport %s',
  (sdkTransport) => {
    let emulator: RunningEmulator;

    beforeAll(async () => {
      emulator = await startProjectEmulator({
        functionsDir: FIXTURES,
        maxInstancesPerFunction: 2,
        sdkTransport,
      });
    });
    afterAll(() => emulator.stop());

    const post = async (
      route: string,
      body: unknown,
    ): Promise<{ status: number; json: unknown }> => {
      const res = await fetch(`${emulator.url}/emulator/v1${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as Record<string, unknown>;
      // The invocation id comes as a header; tests look records up by it.
      const invocationId = res.headers.get('x-wxcloud-invocation-id');
      return { status: res.status, json: invocationId ? { ...json, invocationId } : json };
    };

    test('health lists the function folders', async () => {
      const res = await fetch(`${emulator.url}/emulator/v1/health`);
      const health = (await res.json()) as { functions: string[] };
      expect(health.functions).toEqual(
        expect.arrayContaining(['whoami', 'caller', 'thrower', 'sleeper', 'timer']),
      );
    });

    test('getWXContext sees the caller; context and console output are per invocation', async () => {
      const { json } = await post('/functions/whoami/invoke', {
        data: { hello: 1 },
        openid: 'o_alice',
      });
      const outcome = json as InvokeOutcome;
      const first = resultOf<Whoami>(outcome);
      expect(first.wxContext).toMatchObject({
        OPENID: 'o_alice',
        APPID: 'wx0000000000000000',
        SOURCE: 'wx_client',
        ENV: 'local-env',
      });
      // A mini-program call's event carries the platform's userInfo (platform-facts §8).
      expect(first.event).toEqual({
        hello: 1,
        userInfo: { appId: 'wx0000000000000000', openId: 'o_alice' },
      });
      expect(first.context).toMatchObject({
        function_name: 'whoami',
        request_id: outcome.invocationId,
        time_limit_in_ms: 3000,
        namespace: 'local-env',
      });

      const second = await emulator.services.functions.invoke({
        name: 'whoami',
        data: {},
        openid: 'o_bob',
        source: 'wx_paycallback',
      });
      expect(resultOf<Whoami>(second).wxContext).toMatchObject({
        OPENID: 'o_bob',
        SOURCE: 'wx_paycallback',
      });

      const [a, b] = [outcome, second].map((o) =>
        emulator.services.functions.invocation(o.invocationId),
      );
      expect(a?.logs.map((l) => l.message)).toEqual([
        'whoami called with {"hello":1,"userInfo":{"appId":"wx0000000000000000","openId":"o_alice"}}',
      ]);
      expect(b?.logs.map((l) => l.message)).toEqual(['whoami called with {}']);
      // The second call reused the warm instance of the first.
      expect(a?.coldStart).toBe(true);
      expect(b?.coldStart).toBe(false);
      expect(b?.instanceId).toBe(a?.instanceId);
      const event = await waitForEvent(
        emulator,
        (e) => e.type === 'function.invocation' && e.data.invocationId === second.invocationId,
      );
      expect(event.data).toMatchObject({
        name: 'whoami',
        source: 'wx_paycallback',
        coldStart: false,
      });
    });

    test('callFunction from one function runs the other as the same user, source chained', async () => {
      const outcome = await emulator.services.functions.invoke({
        name: 'caller',
        data: {},
        openid: 'o_carol',
      });
      const result = resultOf<{ mine: Record<string, unknown>; callee: Whoami }>(outcome);
      expect(result.mine).toMatchObject({ OPENID: 'o_carol', SOURCE: 'wx_client' });
      expect(result.callee.wxContext).toMatchObject({ OPENID: 'o_carol', SOURCE: 'wx_client,scf' });
      expect(result.callee.event).toEqual({ from: 'caller' });
    });

    test('a callee that throws fails the caller through the SDK', async () => {
      const outcome = await emulator.services.functions.invoke({
        name: 'caller',
        data: { callee: 'thrower' },
      });
      expect(outcome).toMatchObject({ errCode: -404011 });
      expect((outcome as { errMsg: string }).errMsg).toContain('boom from thrower');
    });

    test('a function that throws answers errCode/errMsg and keeps its log', async () => {
      const { json } = await post('/functions/thrower/invoke', { data: {} });
      const outcome = json as { invocationId: string; errCode: number; errMsg: string };
      expect(outcome.errCode).toBe(-404011);
      expect(outcome.errMsg).toContain('error code -504002');
      expect(outcome.errMsg).toContain('boom from thrower');
      const record = emulator.services.functions.invocation(outcome.invocationId);
      expect(record?.outcome).toBe('threw');
      expect(record?.logs).toEqual([
        expect.objectContaining({ level: 'error', message: 'about to throw' }),
      ]);
    });

    test('an unknown function is the platform error, not an exception', async () => {
      const { status, json } = await post('/functions/nosuchfn/invoke', { data: {} });
      expect(status).toBe(200);
      expect(json).toMatchObject({ errCode: -404011 });
      expect((json as { errMsg: string }).errMsg).toContain('-501000');
    });

    test('a function that times out is terminated and its instance replaced', async () => {
      const slow = await emulator.services.functions.invoke({ name: 'sleeper', data: {} });
      expect(slow).toMatchObject({ errCode: -404011 });
      expect((slow as { errMsg: string }).errMsg).toContain('timed out after 0.5 seconds');
      const timedOut = emulator.services.functions.invocation(slow.invocationId);
      expect(timedOut?.outcome).toBe('timeout');

      const quick = await emulator.services.functions.invoke({
        name: 'sleeper',
        data: { quick: true },
      });
      expect(resultOf(quick)).toMatchObject({ quick: true });
      const replaced = emulator.services.functions.invocation(quick.invocationId);
      expect(replaced?.coldStart).toBe(true);
      expect(replaced?.instanceId).not.toBe(timedOut?.instanceId);
    });

    test('SDK work left in flight after main returns is flagged, and completes by default', async () => {
      const outcome = await emulator.services.functions.invoke({
        name: 'leaky',
        data: { tag: 'late-1' },
      });
      expect(resultOf(outcome)).toEqual({ returned: true });
      const marked = await waitForEvent(
        emulator,
        (e) =>
          e.type === 'function.invocation' &&
          e.data.name === 'marker' &&
          (e.data.event as { tag?: string }).tag === 'late-1',
      );
      expect(marked.data).toMatchObject({ source: 'wx_client,scf', result: { marked: 'late-1' } });
      const record = emulator.services.functions.invocation(outcome.invocationId);
      expect(record?.warnings).toEqual([
        expect.stringContaining('functions.invokeFunction was sent after main returned'),
      ]);
      await waitForEvent(
        emulator,
        (e) => e.type === 'function.log' && e.data.invocationId === outcome.invocationId,
      );
      expect(record?.logs).toEqual([
        expect.objectContaining({ message: 'late work finished', afterReturn: true }),
      ]);
    });

    test('N concurrent callers: at most the instance limit, each sees its own openid', async () => {
      const openids = ['o_c1', 'o_c2', 'o_c3', 'o_c4', 'o_c5', 'o_c6'];
      const outcomes = await Promise.all(
        openids.map((openid) =>
          emulator.services.functions.invoke({ name: 'slow', data: { holdMs: 50 }, openid }),
        ),
      );
      const results = outcomes.map((o) => resultOf<{ openid: string; instance: string }>(o));
      expect(results.map((r) => r.openid)).toEqual(openids);
      const instances = new Set(results.map((r) => r.instance));
      // Six callers at once, each holding its instance 50 ms: the limit (2) is reached, never passed.
      expect(instances.size).toBe(2);
      const described = emulator.services.functions.describe().find((f) => f.name === 'slow');
      expect(described?.instances).toHaveLength(2);
    });

    test('Date inside instances follows the emulated clock', async () => {
      const day = 3600 * 1000; // an hour: the timer fixture fires 12 times on the way
      const before = emulator.clock.now();
      await emulator.advanceClock(day);
      const outcome = await emulator.services.functions.invoke({ name: 'whoami', data: {} });
      const after = emulator.clock.now();
      const { now, iso } = resultOf<Whoami>(outcome);
      expect(now).toBeGreaterThanOrEqual(before + day);
      expect(now).toBeLessThanOrEqual(after);
      expect(Date.parse(iso)).toBeGreaterThanOrEqual(before + day);
    });

    test('a timer trigger runs when the clock passes its schedule', async () => {
      const from = emulator.clock.now();
      await emulator.advanceClock(5 * 60 * 1000);
      const fired = emulator.services.functions
        .invocations({ name: 'timer' })
        .filter((r) => Date.parse(r.startedAt) >= from);
      // 5 minutes from any start passes exactly one multiple of 5 minutes: one run.
      expect(fired).toHaveLength(1);
      const run = fired[0];
      expect(run?.source).toBe('wx_trigger');
      expect(run?.event).toMatchObject({ Type: 'Timer', TriggerName: 'every5min' });
      const time = new Date((run?.event as { Time: string }).Time);
      expect(time.getUTCSeconds()).toBe(0);
      expect(time.getUTCMinutes() % 5).toBe(0);
      expect(run?.result).toMatchObject({ source: 'wx_trigger' });
    });

    test('faults make the next calls fail, then the function runs again', async () => {
      const bad = await post('/faults', { functions: { name: 'whoami', mode: 'explode' } });
      expect(bad.status).toBe(400);
      expect((bad.json as { error: { message: string } }).error.message).toBe(
        'functions.mode must be "throw" or "timeout", got "explode"',
      );

      const ok = await post('/faults', { functions: { name: 'whoami', mode: 'throw', count: 2 } });
      expect(ok.status).toBe(200);
      emulator.services.functions.injectFaults({ name: 'marker', mode: 'timeout' });
      const calls = [];
      for (let i = 0; i < 3; i++) {
        calls.push(await emulator.services.functions.invoke({ name: 'whoami', data: {} }));
      }
      expect(calls.map((c) => 'errCode' in c)).toEqual([true, true, false]);
      const marker = await emulator.services.functions.invoke({ name: 'marker', data: {} });
      expect((marker as { errMsg: string }).errMsg).toContain('timed out');
      expect(emulator.services.functions.invocation(marker.invocationId)?.outcome).toBe('fault');
    });

    test(`SDK requests from a function ${sdkTransport === 'port' ? 'skip' : 'go through'} the HTTP server`, async () => {
      await emulator.services.functions.invoke({ name: 'whoami', data: {} });
      const requests = await instanceHttpRequests(async () => {
        const outcome = await emulator.services.functions.invoke({ name: 'caller', data: {} });
        expect('result' in outcome).toBe(true);
      });
      if (sdkTransport === 'port') expect(requests).toBe(0);
      else expect(requests).toBeGreaterThan(0);
    });
  },
);

describe('function runtime with --freeze-after-return, functions outside the project', () => {
  let emulator: RunningEmulator;
  let dir: string;

  beforeAll(async () => {
    // A functions folder outside the project tree: wx-server-sdk can only come from the
    // project's node_modules fallback.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-functions-'));
    for (const name of ['leaky', 'marker', 'whoami']) {
      fs.cpSync(path.join(FIXTURES, name), path.join(dir, name), { recursive: true });
    }
    emulator = await startProjectEmulator({
      functionsDir: dir,
      freezeAfterReturn: true,
    });
  });
  afterAll(async () => {
    await emulator.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('wx-server-sdk resolves from the project when the folder has none', async () => {
    const outcome = await emulator.services.functions.invoke({ name: 'whoami', data: {} });
    expect(resultOf<Whoami>(outcome).wxContext).toMatchObject({ SOURCE: 'wx_client' });
  });

  test('SDK work sent after main returned is flagged and dropped', async () => {
    const outcome = await emulator.services.functions.invoke({
      name: 'leaky',
      data: { tag: 'frozen' },
    });
    expect(resultOf(outcome)).toEqual({ returned: true });
    const warning = await waitForEvent(
      emulator,
      (e) => e.type === 'emulator.warning' && e.data.invocationId === outcome.invocationId,
    );
    expect(warning.data.message).toContain('dropped: --freeze-after-return');
    // The drop is decided when the request arrives, before anything runs: no marker invocation.
    expect(emulator.services.functions.invocations({ name: 'marker' })).toEqual([]);
  });

  test('health shows a function folder added while running', async () => {
    fs.cpSync(path.join(FIXTURES, 'thrower'), path.join(dir, 'thrower'), { recursive: true });
    const res = await fetch(`${emulator.url}/emulator/v1/health`);
    expect(((await res.json()) as { functions: string[] }).functions).toEqual([
      'leaky',
      'marker',
      'thrower',
      'whoami',
    ]);
  });
});
