import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PayLedger } from './ledger';
import { advance, harness, order, stopHarness, type Harness } from './test-support/sandbox-harness';

/**
 * The pay journal (ledger.ts) under the sandbox, with the emulated clock: a write the disk
 * refuses changes nothing, and a sandbox rebuilt from the file resumes a notification's retry at
 * the instant WeChat's schedule put it (15 s after the failed first attempt: WeChat Pay v2,
 * 支付结果通知, 15s/15s/30s/...). The journal error's wording is the emulator's.
 */

const harnesses: Harness[] = [];
afterEach(() => {
  for (const h of harnesses.splice(0)) stopHarness(h);
});

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'wxcloud-payledger-'));
}

function withLedger(dataDir: string, full?: { now: boolean }): { h: Harness; ledger: PayLedger } {
  const h = harness();
  harnesses.push(h);
  const ledger = new PayLedger(
    dataDir,
    () => undefined,
    (fd, buffer, offset, length) => {
      if (full?.now) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        });
      }
      return fs.writeSync(fd, buffer, offset, length);
    },
  );
  h.sandbox.restore(
    ledger,
    ledger.open(() => h.sandbox.ledgerState()),
  );
  return { h, ledger };
}

test('a change the disk refuses is refused whole: no order, no payment, no notification', async () => {
  const dataDir = tempDir();
  const full = { now: false };
  const { h } = withLedger(dataDir, full);
  order(h, 'ORDER000001');

  full.now = true;
  expect(() =>
    h.sandbox.call('unifiedOrder', {
      body: 'x',
      out_trade_no: 'ORDER000002',
      total_fee: 1,
      spbill_create_ip: '127.0.0.1',
      sub_mch_id: '1900000109',
      env_id: 'local-env',
      function_name: 'paynotify',
      nonce_str: 'n0nce',
    }),
  ).toThrow(/could not write its database journal .*ENOSPC/);
  expect(h.sandbox.get('ORDER000002')).toBeUndefined();
  expect(() => h.sandbox.decide('ORDER000001', 'confirm')).toThrow(/ENOSPC/);
  await h.sandbox.idle();
  const unpaid = h.sandbox.get('ORDER000001');
  expect(unpaid).toMatchObject({ tradeState: 'NOTPAY', decisions: [] });
  expect(unpaid?.transactionId).toBeUndefined();
  expect(h.delivered).toEqual([]);
  expect(h.sandbox.callbacks.stats().notifications).toBe(0);

  full.now = false;
  h.sandbox.decide('ORDER000001', 'confirm');
  await h.sandbox.idle();
  expect(h.delivered.map((d) => d.outTradeNo)).toEqual(['ORDER000001']);
});

test('a sandbox rebuilt from the journal resumes a pending retry at its emulated instant', async () => {
  const dataDir = tempDir();
  const first = withLedger(dataDir);
  first.h.reply = () => ({ result: { errcode: -1, errmsg: 'busy' } });
  order(first.h, 'ORDER000003');
  first.h.sandbox.decide('ORDER000003', 'confirm');
  await first.h.sandbox.idle();
  const pending = first.h.sandbox.get('ORDER000003');
  expect(pending?.callbacks?.nextAttemptAt).toBe(
    new Date(Date.parse(pending?.paidAt ?? '') + 15_000).toISOString(),
  );
  // No clean stop: the first sandbox just stops running, as a killed process does.
  first.h.clock.stop();

  const second = withLedger(dataDir);
  expect(second.h.sandbox.get('ORDER000003')).toMatchObject({
    tradeState: 'SUCCESS',
    transactionId: pending?.transactionId,
    payment: pending?.payment,
  });
  await advance(second.h, 14_999);
  expect(second.h.delivered).toEqual([]);
  await advance(second.h, 1);
  expect(second.h.delivered.map((d) => d.outTradeNo)).toEqual(['ORDER000003']);
  const view = second.h.sandbox.get('ORDER000003');
  expect(view?.callbacks?.attempts.map((a) => [a.trigger, a.outcome])).toEqual([
    ['initial', 'rejected'],
    ['retry', 'acknowledged'],
  ]);
  expect(view?.callbacks?.attempts[1]?.dueAt).toBe(pending?.callbacks?.nextAttemptAt);
});
