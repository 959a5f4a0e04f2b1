/**
 * The chaos run as a script, for runs too large for `npm test`:
 *   npm run chaos -- --orders 10000 [--seed N] [--concurrency N] [--refund-share 0.2]
 * Prints the report as JSON; exits 1 if any invariant was violated.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { startEmulator } from '../../emulator/src';
import { runChaos } from './engine';
import { createWxShoppers } from './shoppers';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '200' },
      seed: { type: 'string', default: '20261127' },
      concurrency: { type: 'string', default: '32' },
      'refund-share': { type: 'string', default: '0.2' },
      'max-instances': { type: 'string', default: '8' },
    },
  });
  const number = (name: string, text: string | undefined): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`--${name} must be a non-negative number, got ${text}`);
    return n;
  };
  const admin = 'o_chaos_admin';
  const emu = await startEmulator({
    projectDir: path.resolve(__dirname, '../..'),
    port: 0,
    inMemory: true,
    functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: admin } },
    maxInstancesPerFunction: number('max-instances', values['max-instances']),
  });
  try {
    const report = await runChaos(emu, createWxShoppers(emu), {
      seed: number('seed', values.seed),
      orders: number('orders', values.orders),
      concurrency: number('concurrency', values.concurrency),
      refundShare: number('refund-share', values['refund-share']),
      adminOpenid: admin,
      itemId: 'demo-unlock',
      orderLifetimeMs: 15 * 60_000,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.violations.length ? 1 : 0;
  } finally {
    await emu.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
