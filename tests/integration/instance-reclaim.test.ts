import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS, resolveConfig, type RunningEmulator } from '../../emulator/src/emulator';
import type { InvokeOutcome } from '../../emulator/src/functions';
import { startProjectEmulator } from '../support/emulator';

// The cloud keeps an instance for a while after its last call, then reclaims it; the next call
// cold-starts a new one (docs.cloudbase.net/practices/scf-preset-concurrency, 并发实例复用与回收:
// "并发实例处理完事件请求后，不会立刻被回收，而是会保留一段时间以便复用…保留期过后，如果没有请求
// 需要该实例处理，云函数平台则会回收该实例"). The retention is not documented ("由云函数平台根据情况
// 动态调整"), so the 10-minute default is the emulator's choice; these tests set their own time
// and move the emulated clock instead of waiting.

const IDLE_MS = 60_000;

/** Two plain functions and no timer triggers (a trigger firing would start instances itself). */
function functionsDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-reclaim-'));
  for (const name of ['ping', 'pong']) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(
      path.join(dir, name, 'index.js'),
      `// Answers with its own name, callback style.
exports.main = function (event, context, callback) {
  callback(null, { from: '${name}' });
};
`,
    );
  }
  return dir;
}
const FIXTURES = functionsDir();

function instanceOf(emu: RunningEmulator, outcome: InvokeOutcome): { id?: string; cold?: boolean } {
  const record = emu.services.functions.invocation(outcome.invocationId);
  return { id: record?.instanceId, cold: record?.coldStart };
}

const live = (emu: RunningEmulator): string[] =>
  emu.services.functions
    .describe()
    .flatMap((f) => f.instances.filter((i) => i.state !== 'dead').map((i) => i.instanceId));

describe('idle function instances', () => {
  let emu: RunningEmulator;
  afterEach(async () => emu?.stop());

  test('an instance idle for the idle time is reclaimed; a call in between keeps it', async () => {
    emu = await startProjectEmulator({ functionsDir: FIXTURES, instanceIdleMs: IDLE_MS });
    const first = instanceOf(emu, await emu.services.functions.invoke({ name: 'ping', data: {} }));
    expect(first.cold).toBe(true);

    await emu.advanceClock(IDLE_MS - 1000);
    const second = instanceOf(emu, await emu.services.functions.invoke({ name: 'ping', data: {} }));
    // Still there, and the call restarts its idle time.
    expect(second).toEqual({ id: first.id, cold: false });

    await emu.advanceClock(IDLE_MS - 1000);
    expect(live(emu)).toEqual([first.id]);

    await emu.advanceClock(2000);
    expect(live(emu)).toEqual([]);

    const third = instanceOf(emu, await emu.services.functions.invoke({ name: 'ping', data: {} }));
    expect(third.cold).toBe(true);
    expect(third.id).not.toBe(first.id);
  });

  test('only the instances idle long enough go: a busier function keeps its instance', async () => {
    emu = await startProjectEmulator({ functionsDir: FIXTURES, instanceIdleMs: IDLE_MS });
    const ping = instanceOf(emu, await emu.services.functions.invoke({ name: 'ping', data: {} }));
    await emu.advanceClock(IDLE_MS / 2);
    const pong = instanceOf(emu, await emu.services.functions.invoke({ name: 'pong', data: {} }));
    await emu.advanceClock(IDLE_MS / 2 + 1000);
    expect(live(emu)).toEqual([pong.id]);
    expect(live(emu)).not.toContain(ping.id);
  });

  test('instanceIdleMs 0 keeps idle instances however long the clock moves', async () => {
    emu = await startProjectEmulator({ functionsDir: FIXTURES, instanceIdleMs: 0 });
    const first = instanceOf(emu, await emu.services.functions.invoke({ name: 'ping', data: {} }));
    await emu.advanceClock(24 * 3600 * 1000);
    expect(live(emu)).toEqual([first.id]);
  });

  test('after a reset the idle time counts again (the reset drops the clock task)', async () => {
    emu = await startProjectEmulator({ functionsDir: FIXTURES, instanceIdleMs: IDLE_MS });
    const first = instanceOf(emu, await emu.services.functions.invoke({ name: 'ping', data: {} }));
    await emu.reset();
    await emu.advanceClock(IDLE_MS - 1000);
    expect(live(emu)).toEqual([first.id]);
    await emu.advanceClock(2000);
    expect(live(emu)).toEqual([]);
  });
});

test('the default idle time is 10 minutes, and a bad one is refused naming the option', () => {
  expect(DEFAULTS.instanceIdleMs).toBe(600_000);
  expect(resolveConfig({ functionsDir: FIXTURES }).instanceIdleMs).toBe(600_000);
  expect(() => resolveConfig({ functionsDir: FIXTURES, instanceIdleMs: -1 })).toThrow(
    /instanceIdleMs must be a non-negative integer/,
  );
});
