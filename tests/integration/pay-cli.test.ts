import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { runPayCommand } from '../../emulator/src/pay/cli';
import { runWithSdk } from '../support/sdk';

const ROOT = path.resolve(__dirname, '../..');

// The CLI and its messages are the emulator's own (emulator's wording throughout).
let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({
    functionsDir: path.join(ROOT, 'tests/fixtures/functions'),
    projectDir: ROOT,
    port: 0,
    inMemory: true,
  });
  await fetch(`${emulator.url}/emulator/v1/collections/PAYNOTIFY`, { method: 'PUT' });
});
afterAll(() => emulator.stop());

/** Runs `wxcloud-emulator pay ...` in-process, capturing what it prints. */
async function pay(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runPayCommand(
    [...argv, '--url', emulator.url],
    { write: (t: string) => (out += t) },
    { write: (t: string) => (err += t) },
  );
  return { code, out, err };
}

test('pay faults, confirm, status and resend against a running emulator', async () => {
  await runWithSdk(
    emulator.url,
    `return await cloud.cloudPay.unifiedOrder({ body: 'x', outTradeNo: 'CLI0000001', spbillCreateIp: '127.0.0.1', subMchId: '1900000109', totalFee: 1, envId: 'local-env', functionName: 'paycallback-ok', nonceStr: 'n' });`,
  );
  expect((await pay('faults', 'drop', '--order', 'CLI0000001')).code).toBe(0);
  expect(JSON.parse((await pay('faults')).out)).toEqual({
    callbacks: [{ action: 'drop', count: 1, delayMs: 0, outTradeNo: 'CLI0000001' }],
    queryOrder: [],
    refunds: [],
  });
  const confirmed = await pay('confirm', 'CLI0000001');
  expect(confirmed.code).toBe(0);
  expect(JSON.parse(confirmed.out).order.callbacks.attempts[0].outcome).toBe('dropped');
  expect((await pay('resend', 'CLI0000001')).code).toBe(0);
  const status = JSON.parse((await pay('status', 'CLI0000001', '--json')).out);
  expect(status.order.tradeState).toBe('SUCCESS');
  expect(status.order.callbacks.attempts.map((a: { outcome: string }) => a.outcome)).toEqual([
    'dropped',
    'acknowledged',
  ]);
});

test('list and status print a compact table for a person (--json for the control API answer)', async () => {
  await runWithSdk(
    emulator.url,
    `return await cloud.cloudPay.unifiedOrder({ body: '表格', outTradeNo: 'CLI0000003', spbillCreateIp: '127.0.0.1', subMchId: '1900000109', totalFee: 250, envId: 'local-env', functionName: 'paycallback-ok', nonceStr: 'n' });`,
  );
  expect((await pay('confirm', 'CLI0000003')).code).toBe(0);
  const list = await pay('list');
  expect(list.code).toBe(0);
  const lines = list.out.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^OUT TRADE NO +STATE +AMOUNT +OPENID +CALLBACK +CREATED$/);
  const row = lines.find((l) => l.startsWith('CLI0000003'));
  expect(row).toMatch(
    /^CLI0000003 +SUCCESS +¥2\.50 +\S+ +acknowledged \(1 attempt\) +\d{4}-\d\d-\d\d /,
  );
  // One line per order plus the header and the count: not hundreds of lines of JSON.
  const { orders } = JSON.parse((await pay('list', '--json')).out) as { orders: unknown[] };
  expect(lines).toHaveLength(orders.length + 2);
  expect(lines[lines.length - 1]).toBe(`${orders.length} order${orders.length === 1 ? '' : 's'}`);

  const status = await pay('status', 'CLI0000003');
  expect(status.out.split('\n')[0]).toBe('CLI0000003  SUCCESS  ¥2.50  表格');
  expect(status.out).toContain('payment callback: acknowledged (1 attempt)');
  expect(status.out).toMatch(/#1 \S+ \S+ initial → acknowledged/);
});

test('usage errors exit 2, refusals exit 1 with the emulator message', async () => {
  expect((await pay('confirm')).code).toBe(2);
  expect((await pay('explode', 'X')).err).toContain('unknown command "explode"');
  const missing = await pay('status', 'NOSUCHORDER');
  expect(missing.code).toBe(1);
  expect(missing.err).toContain('no sandbox order with outTradeNo \\"NOSUCHORDER\\"');
  const bad = await pay('faults', 'explode');
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('callbacks[0].action must be one of');
});

test('pay faults query-order / refund and pay refund: the sandbox disagrees on demand', async () => {
  await runWithSdk(
    emulator.url,
    `return await cloud.cloudPay.unifiedOrder({ body: 'x', outTradeNo: 'CLI0000002', spbillCreateIp: '127.0.0.1', subMchId: '1900000109', totalFee: 100, envId: 'local-env', functionName: 'paycallback-ok', nonceStr: 'n' });`,
  );
  expect((await pay('confirm', 'CLI0000002')).code).toBe(0);
  expect(
    (await pay('faults', 'query-order', '--order', 'CLI0000002', '--total-fee', '1')).code,
  ).toBe(0);
  expect((await pay('faults', 'refund', '--status', 'REFUNDCLOSE', '--count', '2')).code).toBe(0);
  expect(JSON.parse((await pay('faults')).out)).toMatchObject({
    queryOrder: [{ outTradeNo: 'CLI0000002', totalFee: 1, count: 1 }],
    refunds: [{ status: 'REFUNDCLOSE', count: 2 }],
  });
  // Through the real SDK: queryOrder reports the rule's amount once, then the order's.
  const answers = await runWithSdk<{ totalFee: number }[]>(
    emulator.url,
    `const q = () => cloud.cloudPay.queryOrder({ subMchId: '1900000109', nonceStr: 'n', outTradeNo: 'CLI0000002' }); return [await q(), await q()];`,
  );
  expect(answers.map((a) => a.totalFee)).toEqual([1, 100]);
  const refunded = await pay('refund', 'CLI0000002', '--fee', '40', '--status', 'CHANGE');
  expect(refunded.code).toBe(0);
  expect(JSON.parse(refunded.out).order.refunds).toEqual([
    expect.objectContaining({ refundFee: 40, source: 'VENDOR_PLATFORM', status: 'PROCESSING' }),
  ]);
  const bad = await pay('faults', 'refund', '--status', 'LOST');
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('refunds[0].status must be one of SUCCESS, REFUNDCLOSE, CHANGE');
  const tooMuch = await pay('refund', 'CLI0000002', '--fee', '61');
  expect(tooMuch.code).toBe(1);
  expect(tooMuch.err).toContain('from 1 to the 60 fen left to refund');
  expect((await pay('refund')).code).toBe(2);
  expect((await pay('faults', 'clear')).code).toBe(0);
  expect(JSON.parse((await pay('faults')).out)).toEqual({
    callbacks: [],
    queryOrder: [],
    refunds: [],
  });
});
