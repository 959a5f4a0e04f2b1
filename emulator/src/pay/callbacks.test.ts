import type { OrderView } from './sandbox';
import {
  ENV,
  MCH,
  advance,
  harness,
  order,
  pay,
  stopHarness,
  type Harness,
} from './test-support/sandbox-harness';
import {
  RETRY_DELAYS_MS,
  judgeReply,
  parseCallbackFaults,
  type DeliveryOutcome,
} from './callbacks';

/**
 * Verdict and fault messages are the emulator's wording; the retry schedule and the ack rule
 * cite their sources in docs/pay.md.
 *
 * The callback dispatcher and order book with an injected delivery and the emulated clock: every
 * retry, fault and schedule step is driven by clock.advance, so nothing here waits in real time.
 */

let current: Harness | undefined;
afterEach(() => {
  stopHarness(current);
  current = undefined;
});

const offsets = (view: OrderView): number[] => {
  const attempts = view.callbacks?.attempts ?? [];
  const first = Date.parse(attempts[0]?.dueAt ?? '');
  return attempts.map((a) => Date.parse(a.dueAt) - first);
};

describe('payment notification delivery', () => {
  test('a {errcode: 0} reply acknowledges the first attempt and nothing is retried', async () => {
    const h = (current = harness());
    order(h, 'ORDER000001');
    const view = await pay(h, 'ORDER000001');
    expect(view.tradeState).toBe('SUCCESS');
    expect(h.delivered).toHaveLength(1);
    expect(h.delivered[0]?.event).toMatchObject({
      outTradeNo: 'ORDER000001',
      totalFee: 1,
      cashFee: 1,
      subMchId: MCH,
      resultCode: 'SUCCESS',
      returnCode: 'SUCCESS',
      subOpenid: 'o_local_user_0001',
      userInfo: { appId: 'wx0000000000000000', openId: 'o_local_user_0001' },
      tradeType: 'JSAPI',
      transactionId: view.transactionId,
      timeEnd: view.timeEnd,
    });
    // The notification's mchId is the service provider's, never the merchant's.
    expect(h.delivered[0]?.event.mchId).not.toBe(MCH);
    expect(view.callbacks).toMatchObject({ acknowledged: true, gaveUp: false });
    await advance(h, 48 * 3600e3);
    expect(h.delivered).toHaveLength(1);
    expect(h.sandbox.callbacks.stats()).toEqual({
      notifications: 1,
      delivered: 1,
      retried: 0,
      dropped: 0,
      acknowledged: 1,
      gaveUp: 0,
    });
  });

  test('a reply that never acknowledges is retried on WeChat schedule, 16 attempts, then given up', async () => {
    const h = (current = harness());
    h.reply = () => ({ result: { return_code: 'SUCCESS', return_msg: 'OK' } });
    order(h, 'ORDER000002');
    await pay(h, 'ORDER000002');
    for (const delay of RETRY_DELAYS_MS) await advance(h, delay);
    const view = h.sandbox.get('ORDER000002') as OrderView;
    expect(h.delivered).toHaveLength(16);
    let sum = 0;
    expect(offsets(view)).toEqual([0, ...RETRY_DELAYS_MS.map((d) => (sum += d))]);
    expect(view.callbacks).toMatchObject({ acknowledged: false, gaveUp: true });
    expect(view.callbacks?.attempts[0]?.verdict).toMatch(/return_code.*errcode: 0/);
    const explained = h.events.filter((e) => e.type === 'pay.callback');
    expect(explained).toHaveLength(16);
    expect(explained.every((e) => e.data.outcome === 'rejected')).toBe(true);
    await advance(h, 48 * 3600e3);
    expect(h.delivered).toHaveLength(16);
  });

  test('retries stop at the first acknowledgement', async () => {
    const h = (current = harness());
    h.reply = (_req, n) => (n < 3 ? { result: { errcode: -1 } } : { result: { errcode: 0 } });
    order(h, 'ORDER000003');
    await pay(h, 'ORDER000003');
    await advance(h, 15e3);
    await advance(h, 15e3);
    await advance(h, 24 * 3600e3);
    const view = h.sandbox.get('ORDER000003') as OrderView;
    expect(view.callbacks?.attempts.map((a) => [a.trigger, a.outcome])).toEqual([
      ['initial', 'rejected'],
      ['retry', 'rejected'],
      ['retry', 'acknowledged'],
    ]);
    expect(h.sandbox.callbacks.stats()).toMatchObject({
      delivered: 3,
      retried: 2,
      acknowledged: 1,
    });
  });

  test('a function that throws or times out (errCode outcome) is retried', async () => {
    const h = (current = harness());
    h.reply = (_req, n) =>
      n === 1 ? { errCode: -504003, errMsg: 'function timed out' } : { result: { errcode: 0 } };
    order(h, 'ORDER000004');
    await pay(h, 'ORDER000004');
    expect(h.sandbox.get('ORDER000004')?.callbacks?.attempts[0]).toMatchObject({
      outcome: 'failed',
      reply: { errCode: -504003, errMsg: 'function timed out' },
    });
    await advance(h, 15e3);
    expect(h.sandbox.get('ORDER000004')?.callbacks?.acknowledged).toBe(true);
    expect(h.delivered).toHaveLength(2);
  });

  test('drop: the attempt never reaches the function and WeChat retries 15 s later', async () => {
    const h = (current = harness());
    h.sandbox.callbacks.injectFaults(parseCallbackFaults([{ action: 'drop', count: 2 }]));
    order(h, 'ORDER000005');
    await pay(h, 'ORDER000005');
    expect(h.delivered).toHaveLength(0);
    await advance(h, 15e3);
    expect(h.delivered).toHaveLength(0);
    await advance(h, 15e3);
    expect(h.delivered).toHaveLength(1);
    const view = h.sandbox.get('ORDER000005') as OrderView;
    expect(view.callbacks?.attempts.map((a) => a.outcome)).toEqual([
      'dropped',
      'dropped',
      'acknowledged',
    ]);
    expect(h.sandbox.callbacks.stats()).toEqual({
      notifications: 1,
      delivered: 1,
      retried: 2,
      dropped: 2,
      acknowledged: 1,
      gaveUp: 0,
    });
  });

  test('lose: every attempt is dropped, WeChat gives up after 16, and a resend still gets through', async () => {
    const h = (current = harness());
    h.sandbox.callbacks.injectFaults(parseCallbackFaults([{ action: 'lose' }]));
    order(h, 'ORDER000006');
    await pay(h, 'ORDER000006');
    for (const delay of RETRY_DELAYS_MS) await advance(h, delay);
    let view = h.sandbox.get('ORDER000006') as OrderView;
    expect(view.callbacks).toMatchObject({ lost: true, gaveUp: true, acknowledged: false });
    expect(view.callbacks?.attempts).toHaveLength(16);
    expect(h.delivered).toHaveLength(0);
    view = await h.sandbox.resend('ORDER000006');
    expect(h.delivered).toHaveLength(1);
    expect(view.callbacks?.attempts.at(-1)).toMatchObject({
      trigger: 'resend',
      outcome: 'acknowledged',
    });
  });

  test('duplicate: the function is called twice with the same event', async () => {
    const h = (current = harness());
    h.sandbox.callbacks.injectFaults(parseCallbackFaults([{ action: 'duplicate' }]));
    order(h, 'ORDER000007');
    await pay(h, 'ORDER000007');
    expect(h.delivered).toHaveLength(2);
    expect(h.delivered[1]?.event).toEqual(h.delivered[0]?.event);
    const view = h.sandbox.get('ORDER000007') as OrderView;
    expect(view.callbacks?.attempts.map((a) => [a.trigger, a.fault])).toEqual([
      ['initial', 'duplicate'],
      ['duplicate', 'duplicate'],
    ]);
    expect(h.sandbox.callbacks.stats()).toMatchObject({
      delivered: 2,
      retried: 0,
      acknowledged: 1,
    });
  });

  test('delay: the attempt arrives delayMs later on the emulated clock', async () => {
    const h = (current = harness());
    h.sandbox.callbacks.injectFaults(parseCallbackFaults([{ action: 'delay', delayMs: 60e3 }]));
    order(h, 'ORDER000008');
    await pay(h, 'ORDER000008');
    expect(h.delivered).toHaveLength(0);
    await advance(h, 59e3);
    expect(h.delivered).toHaveLength(0);
    await advance(h, 1e3);
    expect(h.delivered).toHaveLength(1);
    expect(h.sandbox.get('ORDER000008')?.callbacks?.attempts[0]).toMatchObject({
      fault: 'delay',
      outcome: 'acknowledged',
    });
  });

  test('reorder: a held attempt arrives right after the next other notification', async () => {
    const h = (current = harness());
    h.sandbox.callbacks.injectFaults(parseCallbackFaults([{ action: 'reorder' }]));
    order(h, 'ORDER00000A');
    order(h, 'ORDER00000B');
    await pay(h, 'ORDER00000A');
    expect(h.delivered).toHaveLength(0);
    await pay(h, 'ORDER00000B');
    expect(h.delivered.map((d) => d.outTradeNo)).toEqual(['ORDER00000B', 'ORDER00000A']);
  });

  test('reorder with nothing else to overtake it arrives at its deadline', async () => {
    const h = (current = harness());
    h.sandbox.callbacks.injectFaults(parseCallbackFaults([{ action: 'reorder', delayMs: 5e3 }]));
    order(h, 'ORDER00000C');
    await pay(h, 'ORDER00000C');
    await advance(h, 4999);
    expect(h.delivered).toHaveLength(0);
    await advance(h, 1);
    expect(h.delivered).toHaveLength(1);
  });

  test('faults can target one order or one kind, and are consumed in order', async () => {
    const h = (current = harness());
    h.sandbox.callbacks.injectFaults(
      parseCallbackFaults([{ action: 'drop', outTradeNo: 'ORDER00000E' }]),
    );
    order(h, 'ORDER00000D');
    order(h, 'ORDER00000E');
    await pay(h, 'ORDER00000D');
    await pay(h, 'ORDER00000E');
    expect(h.delivered.map((d) => d.outTradeNo)).toEqual(['ORDER00000D']);
    expect(h.sandbox.callbacks.pendingFaults()).toEqual([]);
  });

  test('fault specs are validated with messages naming the entry and field', () => {
    expect(() => parseCallbackFaults({})).toThrow(/"callbacks" must be an array/);
    expect(() => parseCallbackFaults([{ action: 'explode' }])).toThrow(
      /callbacks\[0\]\.action must be one of drop, duplicate, delay, reorder, lose/,
    );
    expect(() => parseCallbackFaults([{ action: 'drop', count: 0 }])).toThrow(
      /callbacks\[0\]\.count must be an integer/,
    );
    expect(() => parseCallbackFaults([{ action: 'delay' }])).toThrow(/delayMs.*required for delay/);
    expect(() => parseCallbackFaults([{ action: 'drop', delayMs: 5 }])).toThrow(
      /delayMs applies only to delay and reorder/,
    );
    expect(() => parseCallbackFaults([{ action: 'drop', times: 2 }])).toThrow(
      /unknown field\(s\) times/,
    );
    expect(parseCallbackFaults([{ action: 'reorder' }])).toEqual([
      { action: 'reorder', count: 1, delayMs: 60000 },
    ]);
  });

  // The rules and their limits are the emulator's own (docs/pay.md), so are the messages.
  test.each([
    [
      [{ action: 'drop' }, null],
      'pay faults: callbacks[1] must be an object such as {"action": "drop"}',
    ],
    [['drop'], 'pay faults: callbacks[0] must be an object such as {"action": "drop"}'],
    [[[]], 'pay faults: callbacks[0] must be an object such as {"action": "drop"}'],
    [
      [{ action: 'drop', times: 2, every: 1 }],
      'pay faults: callbacks[0] has unknown field(s) times, every; known: action, count, delayMs, outTradeNo, kind',
    ],
    [
      [{ action: 'drop', count: '2' }],
      'pay faults: callbacks[0].count must be an integer from 1 to 1000, got "2"',
    ],
    [
      [{ action: 'drop', count: 1.5 }],
      'pay faults: callbacks[0].count must be an integer from 1 to 1000, got 1.5',
    ],
    [
      [{ action: 'drop', count: 1001 }],
      'pay faults: callbacks[0].count must be an integer from 1 to 1000, got 1001',
    ],
    [
      [{ action: 'delay', delayMs: '5' }],
      'pay faults: callbacks[0].delayMs must be a non-negative number of milliseconds (required for delay), got "5"',
    ],
    [
      [{ action: 'delay', delayMs: Infinity }],
      'pay faults: callbacks[0].delayMs must be a non-negative number of milliseconds (required for delay), got null',
    ],
    [
      [{ action: 'reorder', delayMs: -1 }],
      'pay faults: callbacks[0].delayMs must be a non-negative number of milliseconds, got -1',
    ],
    [
      [{ action: 'drop', outTradeNo: '' }],
      'pay faults: callbacks[0].outTradeNo must be a non-empty string',
    ],
    [
      [{ action: 'drop', outTradeNo: 7 }],
      'pay faults: callbacks[0].outTradeNo must be a non-empty string',
    ],
    [
      [{ action: 'drop', kind: 'both' }],
      'pay faults: callbacks[0].kind must be "payment" or "refund", got "both"',
    ],
  ])('refuses %j with a 400 INVALID_PARAM naming the entry', (input, message) => {
    let error: unknown;
    try {
      parseCallbackFaults(input);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_PARAM', status: 400, message });
  });

  test('accepts the limits and keeps only the fields given', () => {
    expect(
      parseCallbackFaults([
        { action: 'drop', count: 1000 },
        { action: 'delay', delayMs: 0, outTradeNo: 'ORDER1', kind: 'payment' },
        { action: 'lose', kind: 'refund' },
      ]),
    ).toStrictEqual([
      { action: 'drop', count: 1000, delayMs: 0 },
      { action: 'delay', count: 1, delayMs: 0, outTradeNo: 'ORDER1', kind: 'payment' },
      { action: 'lose', count: 1, delayMs: 0, kind: 'refund' },
    ]);
  });
});

describe('judgeReply', () => {
  test.each([
    [{ result: { errcode: 0, errmsg: 'SUCCESS' } }, 'acknowledged', /errcode: 0/],
    [{ result: { return_code: 'SUCCESS' } }, 'rejected', /XML-notify reply/],
    [{ result: { errcode: '0' } }, 'rejected', /string "0"; it must be the number 0/],
    [{ result: { errCode: 0 } }, 'rejected', /camelCase/],
    [{ result: undefined }, 'rejected', /returned nothing/],
    [{ result: 'SUCCESS' }, 'rejected', /must return the object/],
    [{ result: { errcode: -1, errmsg: 'SERVER_ERROR' } }, 'rejected', /refused the notification/],
    [{ errCode: -1, errMsg: 'boom' }, 'failed', /function call failed/],
  ] as [DeliveryOutcome, string, RegExp][])('%j -> %s', (outcome, expected, verdict) => {
    const judged = judgeReply(outcome);
    expect(judged.outcome).toBe(expected);
    expect(judged.verdict).toMatch(verdict);
  });

  // Only the number errcode 0 acknowledges (CloudPay's callback protocol: errcode Number, "0 表示
  // 正常"; developers.weixin.qq.com/miniprogram/dev/wxcloudservice/wxcloud/reference-sdk-api/open/
  // pay/paymentCallback.md). The verdict texts below are the emulator's wording.
  const NEEDS = 'a CloudPay callback must return {errcode: 0, errmsg: "..."}';
  test.each([
    [
      { result: null },
      'rejected',
      `the function returned nothing; ${NEEDS} (did main return before its work, or forget return?)`,
    ],
    [
      { result: { returnCode: 'SUCCESS' } },
      'rejected',
      'the function returned WeChat Pay\'s XML-notify reply ({return_code: "SUCCESS"}); CloudPay callbacks are acknowledged only by {errcode: 0, errmsg: "..."}, so WeChat keeps retrying',
    ],
    [
      { result: { errcode: 1, errCode: 0 } },
      'rejected',
      'the function refused the notification (errcode 1); WeChat retries',
    ],
    [
      { result: { errcode: -1, errmsg: 'SERVER_ERROR' } },
      'rejected',
      'the function refused the notification (errcode -1, errmsg "SERVER_ERROR"); WeChat retries',
    ],
    [{ result: { ok: true } }, 'rejected', `the reply {"ok":true} has no errcode; ${NEEDS}`],
    // A long reply is quoted up to its first 200 characters ({"note":" is 9 of them).
    [
      { result: { note: 'x'.repeat(300) } },
      'rejected',
      `the reply {"note":"${'x'.repeat(191)} has no errcode; ${NEEDS}`,
    ],
    [
      { errCode: -504003, errMsg: 'timed out' },
      'failed',
      'the function call failed (errCode -504003: timed out); WeChat treats it as not received and retries',
    ],
  ] as [DeliveryOutcome, string, string][])(
    '%j is not an acknowledgement: the exact verdict',
    (reply, outcome, verdict) => {
      expect(judgeReply(reply)).toEqual({ outcome, verdict });
    },
  );
});

describe('refunds', () => {
  test('a refund settles after 10 s, then calls the refund function; a retry refunds once', async () => {
    const h = (current = harness());
    order(h, 'ORDER00000R');
    await pay(h, 'ORDER00000R');
    const request = {
      sub_mch_id: MCH,
      nonce_str: 'n',
      out_trade_no: 'ORDER00000R',
      out_refund_no: 'REFUND1',
      total_fee: 1,
      refund_fee: 1,
      env_id: ENV,
      function_name: 'refundnotify',
    };
    const first = h.sandbox.call('refund', request);
    expect(first).toMatchObject({
      result_code: 'SUCCESS',
      refund_fee: 1,
      out_refund_no: 'REFUND1',
    });
    const again = h.sandbox.call('refund', request);
    expect(again.refund_id).toBe(first.refund_id);
    expect(h.sandbox.get('ORDER00000R')?.refunds).toHaveLength(1);
    const query = () =>
      h.sandbox.call('queryRefund', { sub_mch_id: MCH, nonce_str: 'n', out_refund_no: 'REFUND1' });
    expect(query().refund_status_0).toBe('PROCESSING');
    await advance(h, 10e3);
    expect(query().refund_status_0).toBe('SUCCESS');
    expect(h.delivered.map((d) => [d.kind, d.functionName])).toEqual([
      ['payment', 'paynotify'],
      ['refund', 'refundnotify'],
    ]);
    expect(h.delivered[1]?.event).toMatchObject({
      reqInfo: { outRefundNo: 'REFUND1', refundFee: 1, refundStatus: 'SUCCESS' },
    });
    expect(h.sandbox.get('ORDER00000R')).toMatchObject({ tradeState: 'REFUND', refundedFee: 1 });
  });
});
