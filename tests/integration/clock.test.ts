// The emulated clock steps through time (issue 14 item 6): `advance` runs each due task at its
// own due time, in order, and functions see that time in Date.now(); then it settles at the
// target. And it returns only once what became due, callback deliveries included, has run
// (issue 16 item 5; documented in the README's control API table and the JS API section).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transform } from 'esbuild';
import { Clock } from '../../emulator/src/clock';
import { startEmulator, type RunningEmulator } from '../../emulator/src';
import { documents } from '../support/emulator';

const ROOT = path.resolve(__dirname, '../..');
const FIVE_MINUTES = 5 * 60 * 1000;

test('advance runs each due task at its own due time, in due order, then settles at the target', async () => {
  const clock = new Clock();
  try {
    const start = clock.now();
    const seen: { label: string; at: number; now: number }[] = [];
    for (const [label, after] of [
      ['c', 3000],
      ['a', 1000],
      ['b', 2000],
    ] as const) {
      const at = start + after;
      clock.schedule(at, label, () => {
        seen.push({ label, at, now: clock.now() });
        // A task scheduled by a task, still within the advance, runs at its own time too.
        if (label === 'a') {
          clock.schedule(at + 500, 'a2', () => {
            seen.push({ label: 'a2', at: at + 500, now: clock.now() });
          });
        }
      });
    }
    await clock.advance(10_000);
    expect(seen.map((s) => s.label)).toEqual(['a', 'a2', 'b', 'c']);
    for (const [i, s] of seen.entries()) {
      // Its own due time (real time keeps moving while it runs, so not a whole step later).
      expect(s.now).toBeGreaterThanOrEqual(s.at);
      expect(s.now).toBeLessThan(seen[i + 1]?.at ?? start + 10_000);
    }
    expect(clock.now()).toBeGreaterThanOrEqual(start + 10_000);
    expect(clock.pending()).toEqual([]);
  } finally {
    clock.stop();
  }
});

describe('with functions', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({
      functionsDir: path.join(ROOT, 'tests/fixtures/functions'),
      projectDir: ROOT,
      port: 0,
      inMemory: true,
    });
  });
  afterAll(() => emu.stop());

  test("a timer function sees each tick's own time in Date.now(), and its record says so", async () => {
    const from = emu.clock.now();
    await emu.advanceClock(60 * 60 * 1000);
    const runs = emu.services.functions
      .invocations({ name: 'timer' })
      .filter((r) => r.source === 'wx_trigger' && Date.parse(r.startedAt) >= from);
    // "0 */5 * * * * *": every 5 minutes, so 12 ticks in an hour.
    expect(runs).toHaveLength(12);
    let previous = from;
    for (const run of runs) {
      const tick = Date.parse((run.event as { Time: string }).Time);
      const now = (run.result as { now: number }).now;
      expect(tick).toBeGreaterThan(previous);
      // Seen inside the function and recorded: the tick's time, not the hour's end.
      expect(now).toBeGreaterThanOrEqual(tick);
      expect(now).toBeLessThan(tick + FIVE_MINUTES);
      expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(tick);
      expect(Date.parse(run.startedAt)).toBeLessThan(tick + FIVE_MINUTES);
      previous = tick;
    }
  });
});

test("the README's JS API example, run verbatim, ends with the user's payment delivered and unlocked", async () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block =
    /```ts\n(import \{ startEmulator, createWx \} from 'wxcloud-emulator';[\s\S]*?)```/.exec(
      readme,
    );
  if (!block) throw new Error("README.md has no ```ts block importing from 'wxcloud-emulator'");
  const [importLine, ...body] = block[1].split('\n');
  expect(importLine).toBe("import { startEmulator, createWx } from 'wxcloud-emulator';");
  const { code } = await transform(body.join('\n'), { loader: 'ts' });
  // The package as a user gets it, with its stop() observed: what holds when the example ends.
  const pkg = await import('wxcloud-emulator');
  let seen: { orders: unknown[]; unlocks: unknown[] } | undefined;
  const startEmulatorSeen: typeof pkg.startEmulator = async (options) => {
    const emulator = await pkg.startEmulator(options);
    const stop = emulator.stop;
    emulator.stop = async () => {
      seen = {
        orders: emulator.services.pay.listOrders(),
        unlocks: await documents(emulator, 'USERUNLOCK'),
      };
      return stop();
    };
    return emulator;
  };
  // The example as a module of its own (its body inside an async function, as a user's script).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-example-'));
  const file = path.join(dir, 'example.js');
  fs.writeFileSync(file, `module.exports = async (startEmulator, createWx) => {\n${code}\n};\n`);
  const { default: run } = (await import(file)) as {
    default: (s: typeof pkg.startEmulator, c: typeof pkg.createWx) => Promise<void>;
  };
  const cwd = process.cwd();
  process.chdir(ROOT); // the example's functionsDir 'cloudfunctions' is relative to the project
  try {
    await run(startEmulatorSeen, pkg.createWx);
  } finally {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  expect(seen?.orders).toEqual([
    expect.objectContaining({
      tradeState: 'SUCCESS',
      openid: 'o_test_user',
      callbacks: expect.objectContaining({ acknowledged: true }),
    }),
  ]);
  expect(seen?.unlocks).toEqual([
    expect.objectContaining({ _openid: 'o_test_user', itemId: 'demo-unlock' }),
  ]);
}, 60_000);
