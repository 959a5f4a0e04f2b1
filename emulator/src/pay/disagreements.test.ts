import { parseQueryOrderRules, parseRefundRules } from './disagreements';
import { REFUND_SETTLE_MS } from './model';
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

/**
 * The sandbox disagreeing with the merchant, as WeChat Pay sometimes does. Field values and codes
 * are WeChat Pay v2's (pay.weixin.qq.com/wiki/doc/api/jsapi_sl.php): queryOrder's err_code
 * ORDERNOTEXIST (chapter 9_2); queryRefund's refund_status_$n SUCCESS / REFUNDCLOSE / PROCESSING /
 * CHANGE (chapter 9_5); the refund notification's refund_status and refund_request_source
 * API / VENDOR_PLATFORM (chapter 9_16). English messages are the emulator's wording.
 */

let current: Harness | undefined;
afterEach(() => {
  stopHarness(current);
  current = undefined;
});

const query = (h: Harness, outTradeNo: string) =>
  h.sandbox.call('queryOrder', { sub_mch_id: MCH, nonce_str: 'n', out_trade_no: outTradeNo });

const queryRefunds = (h: Harness, outTradeNo: string) =>
  h.sandbox.call('queryRefund', { sub_mch_id: MCH, nonce_str: 'n', out_trade_no: outTradeNo });

function refund(h: Harness, outTradeNo: string, outRefundNo: string, refundFee = 100) {
  return h.sandbox.call('refund', {
    sub_mch_id: MCH,
    nonce_str: 'n',
    out_trade_no: outTradeNo,
    out_refund_no: outRefundNo,
    total_fee: 100,
    refund_fee: refundFee,
    env_id: ENV,
    function_name: 'refundnotify',
  });
}

async function paidOrder(h: Harness, outTradeNo: string): Promise<string> {
  order(h, outTradeNo, { total_fee: 100 });
  return (await pay(h, outTradeNo)).transactionId as string;
}

describe('queryOrder disagreeing with the order', () => {
  test('reports the rule facts for as many queries as its count, then the truth again', async () => {
    const h = (current = harness());
    const transactionId = await paidOrder(h, 'ORDER000001');
    h.sandbox.disagree({
      queryOrder: parseQueryOrderRules([
        {
          outTradeNo: 'ORDER000001',
          totalFee: 1,
          subMchId: '1900000999',
          transactionId: '',
          count: 2,
        },
      ]),
    });
    for (let i = 0; i < 2; i++) {
      const answer = query(h, 'ORDER000001');
      expect(answer).toMatchObject({
        result_code: 'SUCCESS',
        trade_state: 'SUCCESS',
        total_fee: 1,
        cash_fee: 1,
        sub_mch_id: '1900000999',
      });
      expect(answer).not.toHaveProperty('transaction_id');
    }
    expect(query(h, 'ORDER000001')).toMatchObject({
      total_fee: 100,
      cash_fee: 100,
      sub_mch_id: MCH,
      transaction_id: transactionId,
    });
    expect(h.sandbox.pendingDisagreements().queryOrder).toEqual([]);
  });

  test('a rule for another order leaves this one alone; a transaction id can be replaced', async () => {
    const h = (current = harness());
    await paidOrder(h, 'ORDER000001');
    await paidOrder(h, 'ORDER000002');
    h.sandbox.disagree({
      queryOrder: parseQueryOrderRules([{ outTradeNo: 'ORDER000002', transactionId: '4200X' }]),
    });
    expect(query(h, 'ORDER000001').transaction_id).not.toBe('4200X');
    expect(query(h, 'ORDER000002').transaction_id).toBe('4200X');
  });

  test('notExist: an order WeChat Pay never saw answers ORDERNOTEXIST', async () => {
    const h = (current = harness());
    order(h, 'ORDER000001');
    h.sandbox.disagree({ queryOrder: parseQueryOrderRules([{ notExist: true }]) });
    expect(query(h, 'ORDER000001')).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'FAIL',
      err_code: 'ORDERNOTEXIST',
    });
    expect(query(h, 'ORDER000001')).toMatchObject({
      result_code: 'SUCCESS',
      trade_state: 'NOTPAY',
    });
    expect(h.events.some((e) => e.data.event === 'disagreed')).toBe(true);
  });

  test('bad rules are refused naming the entry and the field', () => {
    expect(() => parseQueryOrderRules({})).toThrow('"queryOrder" must be an array');
    expect(() => parseQueryOrderRules([{}])).toThrow('queryOrder[0] changes nothing');
    expect(() => parseQueryOrderRules([{ totalFee: 0.5 }])).toThrow(
      'queryOrder[0].totalFee must be a positive integer number of fen, got 0.5',
    );
    expect(() => parseQueryOrderRules([{ notExist: true, totalFee: 1 }])).toThrow(
      'notExist reports no order',
    );
    expect(() => parseQueryOrderRules([{ notExist: false }])).toThrow('notExist must be true');
    expect(() => parseQueryOrderRules([{ totalFee: 1, amount: 2 }])).toThrow(
      'unknown field(s) amount',
    );
    expect(() => parseQueryOrderRules([{ subMchId: 5 }])).toThrow(
      'queryOrder[0].subMchId must be a string, got 5',
    );
    expect(() => parseQueryOrderRules([{ totalFee: 1, count: 0 }])).toThrow(
      'count must be an integer from 1 to 1000, got 0',
    );
    expect(() => parseQueryOrderRules([{ totalFee: 1, outTradeNo: '' }])).toThrow(
      'outTradeNo must be a non-empty string',
    );
    expect(() => parseRefundRules([{ status: 'FAILED' }])).toThrow(
      'refunds[0].status must be one of SUCCESS, REFUNDCLOSE, CHANGE, PROCESSING, got "FAILED"',
    );
    expect(() => parseRefundRules('REFUNDCLOSE')).toThrow('"refunds" must be an array');
  });
});

describe('refunds that do not succeed', () => {
  test('REFUNDCLOSE: PROCESSING, then closed and notified without a success time; refundable again', async () => {
    const h = (current = harness());
    await paidOrder(h, 'ORDER000001');
    h.sandbox.disagree({ refunds: parseRefundRules([{ status: 'REFUNDCLOSE' }]) });
    expect(refund(h, 'ORDER000001', 'RF1').result_code).toBe('SUCCESS');
    expect(queryRefunds(h, 'ORDER000001').refund_status_0).toBe('PROCESSING');
    await advance(h, REFUND_SETTLE_MS);
    const answer = queryRefunds(h, 'ORDER000001');
    expect(answer).toMatchObject({ refund_count: 1, refund_status_0: 'REFUNDCLOSE' });
    expect(answer).not.toHaveProperty('refund_success_time_0');
    const notice = h.delivered.find((d) => d.functionName === 'refundnotify');
    expect(notice?.event.reqInfo).toMatchObject({
      outRefundNo: 'RF1',
      refundStatus: 'REFUNDCLOSE',
      refundRequestSource: 'API',
    });
    expect(notice?.event.reqInfo).not.toHaveProperty('successTime');
    // Nothing left the shop, so the whole amount can be refunded again under a new number.
    expect(refund(h, 'ORDER000001', 'RF2').result_code).toBe('SUCCESS');
    await advance(h, REFUND_SETTLE_MS);
    expect(queryRefunds(h, 'ORDER000001')).toMatchObject({
      refund_count: 2,
      refund_status_0: 'REFUNDCLOSE',
      refund_status_1: 'SUCCESS',
    });
  });

  test('CHANGE: notified as CHANGE; the money left, so nothing more can be refunded', async () => {
    const h = (current = harness());
    await paidOrder(h, 'ORDER000001');
    h.sandbox.disagree({
      refunds: parseRefundRules([{ status: 'CHANGE', outTradeNo: 'ORDER000001' }]),
    });
    refund(h, 'ORDER000001', 'RF1');
    await advance(h, REFUND_SETTLE_MS);
    expect(queryRefunds(h, 'ORDER000001').refund_status_0).toBe('CHANGE');
    const notice = h.delivered.find((d) => d.functionName === 'refundnotify');
    expect(notice?.event.reqInfo).toMatchObject({ refundStatus: 'CHANGE' });
    expect(refund(h, 'ORDER000001', 'RF2', 1)).toMatchObject({
      result_code: 'FAIL',
      err_code: 'INVALID_REQUEST',
    });
  });

  test('PROCESSING: the refund never settles and no notification goes out', async () => {
    const h = (current = harness());
    await paidOrder(h, 'ORDER000001');
    h.sandbox.disagree({ refunds: parseRefundRules([{ status: 'PROCESSING' }]) });
    refund(h, 'ORDER000001', 'RF1');
    await advance(h, 3600e3);
    expect(queryRefunds(h, 'ORDER000001').refund_status_0).toBe('PROCESSING');
    expect(h.delivered.filter((d) => d.functionName === 'refundnotify')).toEqual([]);
  });
});

describe('a refund made on the merchant platform', () => {
  test('reaches the named function as VENDOR_PLATFORM; several refunds share the order', async () => {
    const h = (current = harness());
    await paidOrder(h, 'ORDER000001');
    const view = h.sandbox.refundOnPlatform('ORDER000001', {
      refundFee: 30,
      functionName: 'refundnotify',
    });
    expect(view).toMatchObject({ tradeState: 'REFUND', refundedFee: 30 });
    expect(view.refunds[0]).toMatchObject({ source: 'VENDOR_PLATFORM', status: 'PROCESSING' });
    refund(h, 'ORDER000001', 'RF-APP', 70);
    await advance(h, REFUND_SETTLE_MS);
    const notices = h.delivered.filter((d) => d.functionName === 'refundnotify');
    expect(
      notices.map((n) => (n.event.reqInfo as Record<string, unknown>).refundRequestSource),
    ).toEqual(['VENDOR_PLATFORM', 'API']);
    expect(queryRefunds(h, 'ORDER000001')).toMatchObject({
      refund_count: 2,
      refund_fee: 100,
      refund_fee_0: 30,
      refund_status_0: 'SUCCESS',
      out_refund_no_1: 'RF-APP',
      refund_fee_1: 70,
      refund_status_1: 'SUCCESS',
    });
  });

  test('defaults to the whole amount left; its status can be chosen; bad requests are refused', async () => {
    const h = (current = harness());
    order(h, 'ORDER000002');
    expect(() => h.sandbox.refundOnPlatform('ORDER000002')).toThrow(
      'order "ORDER000002" is NOTPAY; only a paid order can be refunded',
    );
    await paidOrder(h, 'ORDER000001');
    expect(() => h.sandbox.refundOnPlatform('ORDER000001', { refundFee: 101 })).toThrow(
      'refundFee must be an integer number of fen from 1 to the 100 fen left',
    );
    expect(() =>
      h.sandbox.refundOnPlatform('ORDER000001', { functionName: 'nosuchfunction' }),
    ).toThrow('functionName "nosuchfunction" is not a function of this environment');
    const view = h.sandbox.refundOnPlatform('ORDER000001', { status: 'REFUNDCLOSE' });
    expect(view.refunds[0]).toMatchObject({ refundFee: 100 });
    await advance(h, REFUND_SETTLE_MS);
    expect(h.sandbox.get('ORDER000001')).toMatchObject({ refundedFee: 0 });
    expect(h.sandbox.get('ORDER000001')?.refunds[0]).toMatchObject({ status: 'REFUNDCLOSE' });
    // No function named: nobody is told; only queryRefund knows.
    expect(h.delivered.filter((d) => d.functionName === 'refundnotify')).toEqual([]);
  });
});
