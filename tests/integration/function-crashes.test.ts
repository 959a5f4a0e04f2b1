// Functions that try to take the emulator down with them (issue 15 item 8). On the cloud every
// instance is its own process: a signal or a late crash ends that instance only, and the next
// call gets a fresh one (SCF docs, "函数运行时" / instance reuse). The error wording is the
// emulator's own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import type { EmulatorEvent } from '../../emulator/src/events';
import type { InvokeOutcome } from '../../emulator/src/functions';

const ROOT = path.resolve(__dirname, '../..');

// Written the way people write functions: callback-style main, no SDK needed.
const FUNCTIONS: Record<string, string> = {
  selfkill: `exports.main = function (event, context, callback) {
  // Someone's "restart on bad state" trick.
  process.kill(process.pid, 'SIGTERM');
  callback(null, { killed: true });
};
`,
  parentkill: `exports.main = function (event, context, callback) {
  process.kill(process.ppid, 'SIGTERM');
  callback(null, { killed: true });
};
`,
  latecrash: `var calls = 0;
exports.main = function (event, context, callback) {
  calls++;
  if (event.crashLater) {
    setTimeout(function () { throw new Error('late failure after return'); }, 10);
  }
  callback(null, { calls: calls });
};
`,
};

let emu: RunningEmulator;
let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-crash-fns-'));
  for (const [name, source] of Object.entries(FUNCTIONS)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'index.js'), source);
  }
  emu = await startEmulator({ functionsDir: dir, projectDir: ROOT, port: 0, inMemory: true });
});
afterAll(async () => {
  await emu.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const errMsgOf = (outcome: InvokeOutcome): string => {
  if (!('errMsg' in outcome)) throw new Error(`expected an error, got ${JSON.stringify(outcome)}`);
  return outcome.errMsg;
};

test.each(['selfkill', 'parentkill'])(
  '%s: process.kill aimed at the host fails inside the function; the emulator keeps serving',
  async (name) => {
    const outcome = await emu.services.functions.invoke({ name, data: {} });
    expect(errMsgOf(outcome)).toMatch(/process\.kill\(\d+, "SIGTERM"\) refused/);
    const health = await fetch(`${emu.url}/emulator/v1/health`);
    expect(health.status).toBe(200);
  },
);

test('an instance that crashed after main returned is retired: the next call gets a fresh one, and the crash is recorded', async () => {
  const first = await emu.services.functions.invoke({
    name: 'latecrash',
    data: { crashLater: true },
  });
  expect(first).toMatchObject({ result: { calls: 1 } });
  // Wait for the late throw to end the instance, as the emulator reports it.
  const isCrashWarning = (event: EmulatorEvent): boolean =>
    event.type === 'emulator.warning' && event.data.invocationId === first.invocationId;
  const warning = await new Promise<string>((resolve) => {
    const seen = emu.events.since(0).find(isCrashWarning);
    if (seen) return resolve(String(seen.data.message));
    const unsubscribe = emu.events.subscribe((event) => {
      if (isCrashWarning(event)) {
        unsubscribe();
        resolve(String(event.data.message));
      }
    });
  });
  expect(warning).toMatch(
    /crashed after main returned \(.*late failure after return.*\); it was retired/,
  );

  const second = await emu.services.functions.invoke({ name: 'latecrash', data: {} });
  // A fresh instance: its module state starts over, so the count is 1 again.
  expect(second).toMatchObject({ result: { calls: 1 } });
  const [record] = emu.services.functions
    .invocations({ name: 'latecrash' })
    .filter((r) => r.invocationId === second.invocationId);
  expect(record).toMatchObject({ outcome: 'ok', coldStart: true });
});
