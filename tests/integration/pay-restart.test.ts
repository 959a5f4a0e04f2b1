import fs from 'node:fs';
import path from 'node:path';
import type { OrderView } from '../../emulator/src/pay';
import { bundleCli, killed, type CliBin } from '../support/cli-process';
import { runWithSdk } from '../support/sdk';
import { makeProject } from './database-helpers';

// Issue 15 item 7: the CloudPay sandbox is WeChat Pay's side of the data, and WeChat Pay does not
// forget a payment because the merchant's emulator restarted. A real emulator process is paid
// through, SIGKILLed (no clean stop), and started again on the same data dir: the app must not be
// able to tell. Expected values come from WeChat Pay v2's documentation: queryOrder's trade_state
// SUCCESS (支付成功) for a paid order with its transaction_id; a refund is accepted with
// result_code SUCCESS and queryRefund's refund_status_0 becomes SUCCESS once it settles; a
// notification that got no acknowledgement is sent again 15 s later (支付结果通知:
// 15s/15s/30s/3m/...). `reset` forgetting the sandbox is the emulator's own control API.

const ROOT = path.resolve(__dirname, '../..');
const NONCE = '5K8264ILTKCH16CQ2502SI8ZNMTM67VS';
const MCH = '1900000109';

let bin: CliBin;
beforeAll(async () => {
  bin = await bundleCli();
});
afterAll(() => bin.killAll());

/** A project whose functions folder holds one CloudPay callback, written here. */
function payProject(): { projectDir: string; functionsDir: string; dataDir: string } {
  const { projectDir, functionsDir } = makeProject({ PAYNOTIFY: { rules: { read: false } } });
  // wx-server-sdk resolves from the project's node_modules, as in a DevTools project.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(projectDir, 'node_modules'), 'dir');
  const fn = path.join(functionsDir, 'payresult');
  fs.mkdirSync(fn);
  fs.writeFileSync(
    path.join(fn, 'package.json'),
    JSON.stringify({ name: 'payresult', version: '1.0.0', main: 'index.js' }),
  );
  fs.writeFileSync(
    path.join(fn, 'index.js'),
    `// CloudPay callback: note the payment or refund, then acknowledge with errcode 0.
const cloud = require('wx-server-sdk');
cloud.init({ env: cloud.DYNAMIC_CURRENT_ENV });
exports.main = async function (event, context) {
  await cloud.database().collection('PAYNOTIFY').add({
    data: { outTradeNo: event.outTradeNo || (event.reqInfo && event.reqInfo.outTradeNo), kind: event.reqInfo ? 'refund' : 'payment' },
  });
  return { errcode: 0, errmsg: 'OK' };
};
`,
  );
  return { projectDir, functionsDir, dataDir: path.join(projectDir, 'data') };
}

type Answer = Record<string, unknown>;

function client(url: string) {
  const control = async <T = Answer>(method: 'GET' | 'POST', route: string, body?: unknown) => {
    const res = await fetch(`${url}/emulator/v1${route}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await res.json()) as T;
  };
  return {
    control,
    /** Several cloudPay calls in order, with the real SDK. */
    pay: (calls: [string, Answer][]): Promise<Answer[]> =>
      runWithSdk<Answer[]>(
        url,
        `const out = []; for (const [api, f] of ${JSON.stringify(calls)}) out.push(await cloud.cloudPay[api](f)); return out;`,
      ),
    order: async (no: string): Promise<OrderView> =>
      (await control<{ order: OrderView }>('GET', `/pay/orders/${no}`)).order,
    notes: async (): Promise<Answer[]> =>
      (await control<{ documents: Answer[] }>('GET', '/collections/PAYNOTIFY/documents')).documents,
  };
}

const unified = (no: string, totalFee: number): [string, Answer] => [
  'unifiedOrder',
  {
    body: '解锁全文',
    outTradeNo: no,
    spbillCreateIp: '127.0.0.1',
    subMchId: MCH,
    totalFee,
    envId: 'local-env',
    functionName: 'payresult',
    nonceStr: NONCE,
  },
];
const query = (no: string): [string, Answer] => [
  'queryOrder',
  { subMchId: MCH, nonceStr: NONCE, outTradeNo: no },
];
const refund = (no: string, outRefundNo: string, totalFee: number): [string, Answer] => [
  'refund',
  {
    subMchId: MCH,
    nonceStr: NONCE,
    outTradeNo: no,
    outRefundNo,
    totalFee,
    refundFee: 1,
    envId: 'local-env',
    functionName: 'payresult',
  },
];

test('a SIGKILL and restart on the same data dir is invisible: paid orders, refunds, pending callbacks', async () => {
  const { projectDir, functionsDir, dataDir } = payProject();
  const args = ['start', '--port', '0', '--data', dataDir, '--functions', functionsDir];
  const stamp = Date.now().toString(36);
  const [paid, pending, refunding] = ['A', 'B', 'C'].map((k) => `RST${stamp}${k}`);

  const first = await bin.start(args, projectDir);
  const one = client(first.url);
  await one.pay([unified(paid, 3), unified(pending, 3), unified(refunding, 3)]);
  await one.control('POST', `/pay/orders/${paid}/confirm`);
  // B's first notification is lost in transit: its retry is due 15 s later (emulated).
  await one.control('POST', '/faults', {
    pay: { callbacks: [{ action: 'drop', count: 1, outTradeNo: pending }] },
  });
  await one.control('POST', `/pay/orders/${pending}/confirm`);
  await one.control('POST', `/pay/orders/${refunding}/confirm`);
  const [before, , refundBefore] = await one.pay([
    query(paid),
    refund(refunding, `RF${stamp}C`, 3),
    refund(refunding, `RF${stamp}C`, 3),
  ]);
  expect(before).toMatchObject({ tradeState: 'SUCCESS' });
  expect((await one.order(pending)).callbacks).toMatchObject({
    acknowledged: false,
    nextAttemptAt: expect.any(String),
  });
  expect((await one.notes()).map((n) => n.outTradeNo).sort()).toEqual([paid, refunding].sort());
  await killed(first.child);

  const second = await bin.start(args, projectDir);
  const two = client(second.url);
  const [after, again, retried, refundAfter] = await two.pay([
    query(paid),
    unified(paid, 3),
    refund(refunding, `RF${stamp}C`, 3),
    refund(paid, `RF${stamp}A`, 3),
  ]);
  expect(after).toMatchObject({
    returnCode: 'SUCCESS',
    resultCode: 'SUCCESS',
    tradeState: 'SUCCESS',
    totalFee: 3,
    transactionId: before.transactionId,
    timeEnd: before.timeEnd,
  });
  expect(again).toMatchObject({
    resultCode: 'FAIL',
    errCodeDes: expect.stringMatching(/^该订单已支付/),
  });
  // The same refund retried answers the same refund (WeChat: a retry with the same out_refund_no).
  expect(retried).toMatchObject({ resultCode: 'SUCCESS', refundId: refundBefore.refundId });
  expect(refundAfter).toMatchObject({ returnCode: 'SUCCESS', resultCode: 'SUCCESS', refundFee: 1 });

  // B's retry, C's refund and A's new refund were all scheduled on the emulated clock.
  await two.control('POST', '/clock/advance', { ms: 15_000 });
  const b = await two.order(pending);
  expect(b.callbacks).toMatchObject({ acknowledged: true });
  expect(b.callbacks?.attempts.map((a) => [a.trigger, a.outcome])).toEqual([
    ['initial', 'dropped'],
    ['retry', 'acknowledged'],
  ]);
  const [refundedA, refundedC] = await two.pay([
    ['queryRefund', { subMchId: MCH, nonceStr: NONCE, outRefundNo: `RF${stamp}A` }],
    ['queryRefund', { subMchId: MCH, nonceStr: NONCE, outRefundNo: `RF${stamp}C` }],
  ]);
  expect(refundedA).toMatchObject({ resultCode: 'SUCCESS', refundStatus_0: 'SUCCESS' });
  expect(refundedC).toMatchObject({ resultCode: 'SUCCESS', refundStatus_0: 'SUCCESS' });
  const notes = (await two.notes()).map((n) => `${String(n.kind)} ${String(n.outTradeNo)}`);
  expect(notes.sort()).toEqual(
    [
      `payment ${paid}`,
      `payment ${refunding}`,
      `payment ${pending}`,
      `refund ${paid}`,
      `refund ${refunding}`,
    ].sort(),
  );

  // reset forgets the sandbox, and a restart does not bring it back.
  await two.control('POST', '/reset');
  expect((await two.control<{ orders: unknown[] }>('GET', '/pay/orders')).orders).toEqual([]);
  await killed(second.child);
  const third = await bin.start(args, projectDir);
  const three = client(third.url);
  expect((await three.control<{ orders: unknown[] }>('GET', '/pay/orders')).orders).toEqual([]);
  const [gone] = await three.pay([query(paid)]);
  expect(gone).toMatchObject({
    resultCode: 'FAIL',
    errCodeDes: expect.stringMatching(/^此交易订单号不存在/),
  });
  await killed(third.child);
});
