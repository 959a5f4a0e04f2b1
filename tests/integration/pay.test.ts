import path from 'node:path';
import type { RunningEmulator } from '../../emulator/src/emulator';
import { startProjectEmulator } from '../support/emulator';
import type { OrderView } from '../../emulator/src/pay';
import { runWithSdk } from '../support/sdk';

/**
 * Wording: WeChat Pay's Chinese err_code_des / return_msg phrases are the platform's (WeChat Pay v2
 * docs); everything after them, and every English message, is the emulator's wording.
 *
 * The CloudPay sandbox driven by the real wx-server-sdk: WeChat's validation answers, the order
 * lifecycle through the control routes, and notifications delivered to fixture functions.
 */

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/functions');
const NONCE = '5K8264ILTKCH16CQ2502SI8ZNMTM67VS';

type Answer = Record<string, unknown>;

let emulator: RunningEmulator;
let seq = 0;
/** A fresh, valid out_trade_no per call. */
const tradeNo = (): string => `PAYT${Date.now().toString(36)}${String(++seq).padStart(4, '0')}`;

const baseOrder = (outTradeNo: string, extra: Answer = {}): Answer => ({
  body: '解锁全文',
  outTradeNo,
  spbillCreateIp: '127.0.0.1',
  subMchId: '1900000109',
  totalFee: 1,
  envId: 'local-env',
  functionName: 'paycallback-ok',
  nonceStr: NONCE,
  ...extra,
});

/** Runs one cloudPay call with the real SDK. */
const cloudPay = (api: string, fields: Answer): Promise<Answer> =>
  runWithSdk<Answer>(
    emulator.url,
    `return await cloud.cloudPay.${api}(${JSON.stringify(fields)});`,
  );

async function control<T = Answer>(
  method: 'GET' | 'POST' | 'PUT',
  route: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const res = await fetch(`${emulator.url}/emulator/v1${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

const getOrder = async (outTradeNo: string): Promise<OrderView> =>
  (await control<{ order: OrderView }>('GET', `/pay/orders/${outTradeNo}`)).json.order;

const notifications = async (outTradeNo: string): Promise<Answer[]> => {
  const { json } = await control<{ documents: Answer[] }>(
    'GET',
    '/collections/PAYNOTIFY/documents',
  );
  return json.documents.filter((d) => d.outTradeNo === outTradeNo);
};

beforeAll(async () => {
  emulator = await startProjectEmulator({
    functionsDir: FIXTURES,
  });
  await control('PUT', '/collections/PAYNOTIFY');
  await control('PUT', '/collections/USERPAYLOG');
});
afterAll(() => emulator.stop());

describe('unifiedOrder validation through the real SDK', () => {
  test('a missing nonceStr fails with return_code FAIL naming the field (the recipe omits it)', async () => {
    const fields = baseOrder(tradeNo());
    delete fields.nonceStr;
    expect(await cloudPay('unifiedOrder', fields)).toEqual({
      returnCode: 'FAIL',
      returnMsg:
        '缺少参数nonce_str: nonce_str (nonceStr) is required, a random string of at most 32 characters (the SDK does not add one)',
      errCode: 0,
      errMsg: 'cloudPay.unifiedOrder:ok',
    });
  });

  test('every malformed or refused order gets the answer that names what is wrong', async () => {
    const no = tradeNo();
    const without = (field: string): Answer =>
      Object.fromEntries(Object.entries(baseOrder(tradeNo())).filter(([k]) => k !== field));
    const cases: [string, Answer, Answer][] = [
      [
        'no body',
        without('body'),
        { returnCode: 'FAIL', returnMsg: /^缺少参数body: body \(body\) is required/ },
      ],
      [
        'no outTradeNo',
        without('outTradeNo'),
        { returnCode: 'FAIL', returnMsg: /^缺少参数out_trade_no: out_trade_no \(outTradeNo\)/ },
      ],
      [
        'no totalFee',
        without('totalFee'),
        {
          returnCode: 'FAIL',
          returnMsg:
            /^缺少参数total_fee: total_fee \(totalFee\) is required, an integer number of fen/,
        },
      ],
      [
        'no spbillCreateIp',
        without('spbillCreateIp'),
        { returnCode: 'FAIL', returnMsg: /^缺少参数spbill_create_ip/ },
      ],
      [
        'no subMchId',
        without('subMchId'),
        { returnCode: 'FAIL', returnMsg: /^缺少参数sub_mch_id: sub_mch_id \(subMchId\)/ },
      ],
      ['no envId', without('envId'), { returnCode: 'FAIL', returnMsg: /^缺少参数env_id/ }],
      [
        'no functionName',
        without('functionName'),
        { returnCode: 'FAIL', returnMsg: /^缺少参数function_name/ },
      ],
      [
        'empty nonceStr',
        baseOrder(tradeNo(), { nonceStr: '' }),
        { returnCode: 'FAIL', returnMsg: /^缺少参数nonce_str/ },
      ],
      [
        'nonceStr too long',
        baseOrder(tradeNo(), { nonceStr: 'x'.repeat(33) }),
        {
          returnCode: 'FAIL',
          returnMsg: /nonce_str \(nonceStr\) is at most 32 characters, got 33/,
        },
      ],
      [
        'body too long',
        baseOrder(tradeNo(), { body: '商'.repeat(129) }),
        {
          returnCode: 'FAIL',
          returnMsg: /body参数长度有误: body \(body\) is at most 128 characters, got 129/,
        },
      ],
      [
        'outTradeNo too short',
        baseOrder('AB123'),
        {
          returnCode: 'FAIL',
          returnMsg: /out_trade_no \(outTradeNo\) must be 6 to 32 characters, got 5 \("AB123"\)/,
        },
      ],
      [
        'outTradeNo too long',
        baseOrder('A'.repeat(33)),
        {
          returnCode: 'FAIL',
          returnMsg: /out_trade_no \(outTradeNo\) is at most 32 characters, got 33/,
        },
      ],
      [
        'outTradeNo charset',
        baseOrder('ORDER#00001'),
        {
          returnCode: 'FAIL',
          returnMsg: /may hold only letters, digits and _ - \| \*, found "#" in "ORDER#00001"/,
        },
      ],
      [
        'totalFee in yuan',
        baseOrder(tradeNo(), { totalFee: 0.01 }),
        {
          returnCode: 'FAIL',
          returnMsg:
            /must be an integer number of fen, got number 0.01 \(amounts are in fen: 1 yuan = 100 fen, so 0.01 yuan is 1\)/,
        },
      ],
      [
        'totalFee as string',
        baseOrder(tradeNo(), { totalFee: '1' }),
        { returnCode: 'FAIL', returnMsg: /got string "1"/ },
      ],
      [
        'totalFee zero',
        baseOrder(tradeNo(), { totalFee: 0 }),
        { returnCode: 'FAIL', returnMsg: /must be at least 1 fen, got 0/ },
      ],
      // CloudPay.unifiedOrder's table types totalFee as Int (signed 32-bit): at most 2^31 - 1 fen.
      // WeChat documents no other maximum; the English wording is the emulator's.
      [
        'totalFee 1e20',
        baseOrder('PAYTBIG00001', { totalFee: 1e20 }),
        {
          returnCode: 'FAIL',
          returnMsg: /^total_fee参数错误: total_fee \(totalFee\) must be at most 2147483647 fen/,
        },
      ],
      [
        'totalFee past 2^53',
        baseOrder('PAYTBIG00002', { totalFee: 2 ** 53 + 2 }),
        { returnCode: 'FAIL', returnMsg: /must be at most 2147483647 fen.*got 9007199254740994/ },
      ],
      [
        'totalFee one past Int',
        baseOrder('PAYTBIG00003', { totalFee: 2 ** 31 }),
        { returnCode: 'FAIL', returnMsg: /must be at most 2147483647 fen.*got 2147483648/ },
      ],
      [
        'timeExpire too soon',
        baseOrder(tradeNo(), { timeExpire: '20000101000000' }),
        { returnCode: 'FAIL', returnMsg: /^time_expire时间过短/ },
      ],
      [
        'timeExpire malformed',
        baseOrder(tradeNo(), { timeExpire: '2024-01-01' }),
        { returnCode: 'FAIL', returnMsg: /time_expire must be yyyyMMddHHmmss/ },
      ],
      [
        'unknown merchant',
        baseOrder(tradeNo(), { subMchId: '1234567890' }),
        {
          returnCode: 'SUCCESS',
          resultCode: 'FAIL',
          errCodeDes:
            /^商户未授权: sub_mch_id \(subMchId\) "1234567890" is not bound to this environment; the sandbox merchant is "1900000109"/,
        },
      ],
      [
        'env alias',
        baseOrder(tradeNo(), { envId: 'local' }),
        {
          returnCode: 'SUCCESS',
          resultCode: 'FAIL',
          errCodeDes: /^env_id \(envId\) "local" is not this environment \("local-env"\)/,
        },
      ],
      [
        'unknown function',
        baseOrder(tradeNo(), { functionName: 'nope' }),
        {
          returnCode: 'SUCCESS',
          resultCode: 'FAIL',
          errCodeDes:
            /^function_name \(functionName\) "nope" is not a function of this environment/,
        },
      ],
      [
        'first order',
        baseOrder(no),
        { returnCode: 'SUCCESS', resultCode: 'SUCCESS', prepayId: /^wx\d{14}[0-9a-f]{20}$/ },
      ],
      [
        'duplicate outTradeNo',
        baseOrder(no),
        {
          returnCode: 'SUCCESS',
          resultCode: 'FAIL',
          errCodeDes: /^商户订单号重复: out_trade_no "PAYT/,
        },
      ],
    ];
    // One worker runs every call in order (a worker per call would cost seconds).
    const answers = await runWithSdk<Answer[]>(
      emulator.url,
      `const out = []; for (const f of ${JSON.stringify(cases.map((c) => c[1]))}) out.push(await cloud.cloudPay.unifiedOrder(f)); return out;`,
    );
    cases.forEach(([name, , expected], i) => {
      const answer = answers[i] as Answer;
      const wanted = Object.entries(expected).map(([key, want]) => [
        key,
        want instanceof RegExp ? expect.stringMatching(want) : want,
      ]);
      const got = Object.keys(expected).map((key) => [key, answer[key]]);
      expect({ name, ...Object.fromEntries(got) }).toEqual({ name, ...Object.fromEntries(wanted) });
    });
    // Refused amounts left no order behind.
    for (const refused of ['PAYTBIG00001', 'PAYTBIG00002', 'PAYTBIG00003']) {
      const { status } = await control('GET', `/pay/orders/${refused}`);
      expect(status).toBe(404);
    }
    // The SDK overwrites WeChat's err_code with its own errCode: 0; only errCodeDes survives.
    expect(answers.at(-1)).toMatchObject({ errCode: 0, errMsg: 'cloudPay.unifiedOrder:ok' });
  });
});

describe('the order lifecycle', () => {
  test('order -> cancel -> fail -> confirm -> callback -> query -> refunds, with WeChat rules at each step', async () => {
    const no = tradeNo();
    // Placed from a function the buyer invoked: the order belongs to that user.
    const placed = await control<{ result: Answer }>('POST', '/functions/paycreate/invoke', {
      data: baseOrder(no, { attach: 'item=demo-unlock' }),
      openid: 'o_buyer_0001',
    });
    const payment = placed.json.result.payment as Record<string, string>;
    expect(payment).toMatchObject({ appId: 'wx0000000000000000', signType: 'MD5' });
    expect(payment.package).toBe(`prepay_id=${String(placed.json.result.prepayId)}`);

    let order = await getOrder(no);
    expect(order).toMatchObject({ tradeState: 'NOTPAY', openid: 'o_buyer_0001', totalFee: 1 });
    expect(emulator.services.pay.findByPrepayId(payment.package)?.outTradeNo).toBe(no);
    expect(emulator.services.pay.verifyPayment(payment)).toMatchObject({ ok: true });
    expect(emulator.services.pay.verifyPayment({ ...payment, timeStamp: '1' })).toEqual({
      ok: false,
      reason:
        'requestPayment: paySign does not match the payment fields (was the payment object changed?)',
    });

    await control('POST', `/pay/orders/${no}/cancel`);
    order = (await control<{ order: OrderView }>('POST', `/pay/orders/${no}/fail`)).json.order;
    expect(order.tradeState).toBe('NOTPAY');
    expect(order.decisions.map((d) => d.result)).toEqual(['CANCELLED', 'PAYERROR']);

    const early = await cloudPay('closeOrder', {
      subMchId: '1900000109',
      nonceStr: NONCE,
      outTradeNo: no,
    });
    expect(early).toMatchObject({
      resultCode: 'FAIL',
      errCodeDes: expect.stringMatching(/^订单生成后5分钟内不能关单/),
    });

    order = (await control<{ order: OrderView }>('POST', `/pay/orders/${no}/confirm`)).json.order;
    expect(order.tradeState).toBe('SUCCESS');
    expect(order.callbacks).toMatchObject({ acknowledged: true, functionName: 'paycallback-ok' });
    expect(order.callbacks?.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        trigger: 'initial',
        outcome: 'acknowledged',
        reply: { errcode: 0, errmsg: 'OK' },
      }),
    ]);
    const [notice] = await notifications(no);
    expect(notice).toMatchObject({ source: 'wx_paycallback', openid: 'o_buyer_0001' });
    expect(notice?.event).toMatchObject({
      outTradeNo: no,
      totalFee: 1,
      subMchId: '1900000109',
      subOpenid: 'o_buyer_0001',
      attach: 'item=demo-unlock',
      transactionId: order.transactionId,
      timeEnd: order.timeEnd,
    });

    const query = await cloudPay('queryOrder', {
      subMchId: '1900000109',
      nonceStr: NONCE,
      outTradeNo: no,
    });
    expect(query).toMatchObject({
      returnCode: 'SUCCESS',
      resultCode: 'SUCCESS',
      tradeState: 'SUCCESS',
      totalFee: 1,
      cashFee: 1,
      attach: 'item=demo-unlock',
      transactionId: order.transactionId,
      timeEnd: expect.stringMatching(/^\d{14}$/),
    });

    expect(await cloudPay('unifiedOrder', baseOrder(no))).toMatchObject({
      resultCode: 'FAIL',
      errCodeDes: `该订单已支付: out_trade_no "${no}" is already paid`,
    });
    expect((await control('POST', `/pay/orders/${no}/confirm`)).status).toBe(409);

    const refund = (fields: Answer): Answer => ({
      subMchId: '1900000109',
      nonceStr: NONCE,
      outTradeNo: no,
      outRefundNo: `R${no}`,
      totalFee: 1,
      refundFee: 1,
      envId: 'local-env',
      functionName: 'paycallback-ok',
      ...fields,
    });
    const answers = await runWithSdk<Answer[]>(
      emulator.url,
      `const out = []; for (const f of ${JSON.stringify([
        refund({ refundFee: 2 }),
        refund({}),
        refund({}),
        refund({ outRefundNo: `S${no}` }),
      ])}) out.push(await cloud.cloudPay.refund(f)); return out;`,
    );
    expect(answers[0]?.errCodeDes).toMatch(
      /^累计退款金额大于支付金额: refund_fee \(refundFee\) 2 fen is more than the 1 fen left/,
    );
    expect(answers[1]).toMatchObject({
      resultCode: 'SUCCESS',
      refundFee: 1,
      outRefundNo: `R${no}`,
    });
    expect(answers[2]?.refundId).toBe(answers[1]?.refundId);
    expect(answers[3]?.errCodeDes).toMatch(/more than the 0 fen left/);
    order = await getOrder(no);
    expect(order).toMatchObject({ tradeState: 'REFUND', refundedFee: 1 });
    expect(order.refunds).toHaveLength(1);
  });

  test('an unpaid order closes after 5 minutes; an expired one can no longer be paid', async () => {
    const closing = tradeNo();
    const expiring = tradeNo();
    await runWithSdk(
      emulator.url,
      `for (const f of ${JSON.stringify([baseOrder(closing), baseOrder(expiring)])}) await cloud.cloudPay.unifiedOrder(f);`,
    );
    await emulator.advanceClock(5 * 60e3);
    expect(
      await cloudPay('closeOrder', {
        subMchId: '1900000109',
        nonceStr: NONCE,
        outTradeNo: closing,
      }),
    ).toMatchObject({
      returnCode: 'SUCCESS',
      resultCode: 'SUCCESS',
    });
    expect((await getOrder(closing)).tradeState).toBe('CLOSED');
    const refused = await control<{ error: { code: string } }>(
      'POST',
      `/pay/orders/${closing}/confirm`,
    );
    expect(refused).toMatchObject({ status: 409, json: { error: { code: 'ORDER_NOT_PAYABLE' } } });

    await emulator.advanceClock(2 * 3600e3);
    expect(await getOrder(expiring)).toMatchObject({ tradeState: 'NOTPAY', expired: true });
    const late = await control<{ error: { code: string } }>(
      'POST',
      `/pay/orders/${expiring}/confirm`,
    );
    expect(late).toMatchObject({ status: 409, json: { error: { code: 'ORDER_EXPIRED' } } });
    expect(emulator.events.since(0, 'pay.order')).toContainEqual(
      expect.objectContaining({
        data: expect.objectContaining({ event: 'expired', outTradeNo: expiring }),
      }),
    );
  });
});

describe('what the sandbox refuses, as WeChat Pay does', () => {
  // err_code_des phrases from WeChat Pay v2's closeOrder (9_3) and refund (9_4) error tables;
  // the text after the colon is the emulator's wording.
  test('closing a paid order, refunding an unpaid one, and a refund with the wrong total', async () => {
    const paid = tradeNo();
    const unpaid = tradeNo();
    await runWithSdk(
      emulator.url,
      `for (const f of ${JSON.stringify([baseOrder(paid, { totalFee: 5 }), baseOrder(unpaid)])}) await cloud.cloudPay.unifiedOrder(f);`,
    );
    await control('POST', `/pay/orders/${paid}/confirm`);
    await emulator.advanceClock(5 * 60e3);
    const ask = { subMchId: '1900000109', nonceStr: NONCE };
    expect(await cloudPay('closeOrder', { ...ask, outTradeNo: paid })).toMatchObject({
      returnCode: 'SUCCESS',
      resultCode: 'FAIL',
      errCodeDes: expect.stringMatching(/^订单已支付，不能发起关单: /),
    });
    const refund = (outTradeNo: string, totalFee: number): Answer => ({
      ...ask,
      outTradeNo,
      outRefundNo: `R${outTradeNo}`,
      totalFee,
      refundFee: 1,
    });
    expect(await cloudPay('refund', refund(unpaid, 1))).toMatchObject({
      resultCode: 'FAIL',
      errCodeDes: expect.stringMatching(/^订单状态错误: /),
    });
    expect(await cloudPay('refund', refund(paid, 4))).toMatchObject({
      resultCode: 'FAIL',
      errCodeDes: expect.stringMatching(/^订单金额与之前请求不一致: /),
    });
    // Nothing was written by the refusals: the paid order is still paid, with no refund.
    expect(await getOrder(paid)).toMatchObject({
      tradeState: 'SUCCESS',
      refundedFee: 0,
      refunds: [],
    });
    expect(await getOrder(unpaid)).toMatchObject({ tradeState: 'NOTPAY', refunds: [] });
  });
});

describe('notifications to real callback functions', () => {
  const place = async (functionName: string): Promise<string> => {
    const no = tradeNo();
    expect(await cloudPay('unifiedOrder', baseOrder(no, { functionName }))).toMatchObject({
      resultCode: 'SUCCESS',
    });
    return no;
  };

  test('{return_code: "SUCCESS"} is not an acknowledgement: retried on schedule and explained', async () => {
    const no = await place('paycallback-xml');
    await control('POST', `/pay/orders/${no}/confirm`);
    await emulator.advanceClock(15e3);
    await emulator.advanceClock(15e3);
    const order = await getOrder(no);
    expect(order.callbacks?.attempts.map((a) => [a.trigger, a.outcome])).toEqual([
      ['initial', 'rejected'],
      ['retry', 'rejected'],
      ['retry', 'rejected'],
    ]);
    expect(order.callbacks?.nextAttemptAt).toBeDefined();
    const explained = emulator.events
      .since(0, 'pay.callback')
      .filter((e) => e.data.outTradeNo === no);
    expect(explained).toHaveLength(3);
    expect(String(explained[0]?.data.verdict)).toContain(
      'XML-notify reply ({return_code: "SUCCESS"})',
    );
  });

  test('faults route: drop then duplicate; the record is written twice, acknowledged, then retries stop', async () => {
    const statsBefore = emulator.services.pay.callbackStats();
    const no = await place('paycallback-ok');
    const faults = await control('POST', '/faults', {
      pay: {
        callbacks: [
          { action: 'drop', outTradeNo: no },
          { action: 'duplicate', outTradeNo: no },
        ],
      },
    });
    expect(faults.status).toBe(200);
    await control('POST', `/pay/orders/${no}/confirm`);
    expect(await notifications(no)).toHaveLength(0);
    await emulator.advanceClock(15e3);
    expect(await notifications(no)).toHaveLength(2);
    await emulator.advanceClock(24 * 3600e3);
    const order = await getOrder(no);
    expect(order.callbacks?.attempts.map((a) => [a.trigger, a.fault, a.outcome])).toEqual([
      ['initial', 'drop', 'dropped'],
      ['retry', 'duplicate', 'acknowledged'],
      ['duplicate', 'duplicate', 'acknowledged'],
    ]);
    // Figures for this order alone (other tests' notifications keep retrying meanwhile).
    const attempts = order.callbacks?.attempts ?? [];
    expect({
      delivered: attempts.filter((a) => a.outcome !== 'dropped').length,
      retried: attempts.filter((a) => a.trigger === 'retry').length,
      dropped: attempts.filter((a) => a.outcome === 'dropped').length,
      acknowledged: order.callbacks?.acknowledged,
    }).toEqual({ delivered: 2, retried: 1, dropped: 1, acknowledged: true });
    // The stats route counts this test's one notification (a shared emulator: counted as a delta).
    const statsAfter = emulator.services.pay.callbackStats();
    expect(statsAfter.notifications - statsBefore.notifications).toBe(1);
  });

  test('resend re-delivers now; a bad faults body is refused with a message naming the field', async () => {
    const no = await place('paycallback-ok');
    await control('POST', `/pay/orders/${no}/confirm`);
    const resent = await control<{ order: OrderView }>('POST', `/pay/orders/${no}/resend`);
    expect(resent.json.order.callbacks?.attempts.map((a) => a.trigger)).toEqual([
      'initial',
      'resend',
    ]);
    expect(await notifications(no)).toHaveLength(2);
    const bad = await control('POST', '/faults', { pay: { callbacks: [{ action: 'delay' }] } });
    expect(bad).toEqual({
      status: 400,
      json: {
        error: {
          code: 'INVALID_PARAM',
          message:
            'pay faults: callbacks[0].delayMs must be a non-negative number of milliseconds (required for delay), got undefined',
        },
      },
    });
  });
});
