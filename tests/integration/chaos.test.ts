import type { RunningEmulator } from '../../emulator/src';
import { runChaos } from '../chaos/engine';
import { createWxShoppers } from '../chaos/shoppers';
import { startProjectEmulator } from '../support/emulator';

/**
 * About 200 orders from simulated users (createWx scripts) paying concurrently through the real
 * functions and the emulator, with seeded random faults: dropped, duplicated, delayed, reordered
 * and lost callbacks; users cancelling, failing, tapping twice, leaving before the result; failing
 * database writes; callback timeouts; then the clock pushed past every retry and expiry, a share
 * of the paid orders refunded, and the invariants checked against the sandbox's money.
 * A larger run: `npm run chaos -- --orders 10000`.
 */
const ADMIN = 'o_chaos_admin';
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startProjectEmulator({
    functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: ADMIN } },
    // Short, so injected timeouts cost little; still far above a warm invocation.
    defaultFunctionTimeoutMs: 3000,
  });
});
afterAll(() => emu.stop());

it('loses no payment and grants nothing twice under random faults (seed 20261127)', async () => {
  const report = await runChaos(emu, createWxShoppers(emu), {
    seed: 20261127,
    orders: 200,
    concurrency: 16,
    refundShare: 0.2,
    adminOpenid: ADMIN,
    itemId: 'demo-unlock',
    orderLifetimeMs: 15 * 60_000,
  });
  expect(report.violations).toEqual([]);
  // The run must have exercised what it claims to: money taken, refunds, faults, retries.
  expect(report.sandboxPaid).toBeGreaterThan(60);
  expect(report.refunded).toBeGreaterThan(5);
  // Every buyer (and a stranger) was asked for the content afterwards: see checkInvariants §6.
  expect(report.contentChecked).toBeGreaterThan(100);
  expect(report.callbacks.retried).toBeGreaterThan(10);
  expect(report.callbacks.dropped).toBeGreaterThan(5);
  expect(Object.keys(report.faults).sort()).toEqual([
    'db-write',
    'delay',
    'drop',
    'duplicate',
    'lose',
    'none',
    'reorder',
    'timeout',
  ]);
}, 240_000);
