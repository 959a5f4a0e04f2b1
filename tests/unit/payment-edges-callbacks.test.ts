// Payment edges, the callback and refund side: the payment and refund callbacks, what payquery and
// payrefund tell a caller, and which refund decides an order.
import { ErrorCodes } from '../../server/errors';
import {
  ACK,
  createOrder,
  handlePaymentCallback,
  handleRefundCallback,
  queryForUser,
  confirmRefund,
  reconcile,
  requestRefund,
} from '../../server/payments';
import {
  ADMIN,
  ALICE,
  WECHAT,
  openOrder,
  paidOrder,
  recorded,
  setup,
  wechatState,
} from './support/payment-world';

/**
 * The edges of userpay, payquery, payexpire and the two callbacks that `npm run mutation` found
 * unpinned: which trade states end or reuse an order, WeChat's 5-minute rule, what a callback
 * answers when it cannot record, and the error a user gets. Trade states and err_code_des are
 * WeChat Pay v2's (pay.weixin.qq.com/wiki/doc/api/jsapi_sl.php: queryOrder 9_2 trade_state
 * SUCCESS / REFUND / NOTPAY / CLOSED / REVOKED / USERPAYING / PAYERROR, SYSTEMERROR 系统超时;
 * closeOrder 9_3 ORDERCLOSED 订单已关闭). The errmsg texts are this project's own (server/).
 */

describe('the payment callback', () => {
  it('invoked by a user, not WeChat Pay: refused, naming the function', async () => {
    const t = setup();
    expect(await handlePaymentCallback(t.deps, ALICE, {})).toEqual({
      errcode: ErrorCodes.NOT_CALLBACK,
      errmsg: 'userpaynotify only accepts WeChat Pay callbacks',
    });
    expect(t.ledger.writes).toBe(0);
  });

  it('without a valid outTradeNo: recorded as malformed and acknowledged', async () => {
    const t = setup();
    const event = { returnCode: 'SUCCESS', resultCode: 'SUCCESS', outTradeNo: 'x' };
    expect(await handlePaymentCallback(t.deps, WECHAT, event)).toEqual(ACK);
    expect([...t.ledger.anomalies.values()]).toEqual([
      {
        _id: `malformed__callback-${t.deps.now()}`,
        tradeno: 'malformed',
        kind: `callback-${t.deps.now()}`,
        detail: 'a payment callback without a valid outTradeNo',
        evidence: event,
        at: t.deps.now(),
        resolved: false,
      },
    ]);
  });

  it('for an order we never recorded: an anomaly, acknowledged', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    const event = t.pay.callbackEvent(order.tradeno);
    t.ledger.orders.delete(order.tradeno);
    expect(await handlePaymentCallback(t.deps, WECHAT, event)).toEqual(ACK);
    expect(t.ledger.anomalies.get(`${order.tradeno}__unknown-order`)?.detail).toBe(
      'payment callback for an unknown order',
    );
  });

  it('without the merchant and transaction id: each mismatch named', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    const event = t.pay.callbackEvent(order.tradeno, {
      subMchId: undefined,
      transactionId: undefined,
    });
    expect(await handlePaymentCallback(t.deps, WECHAT, event)).toEqual(ACK);
    expect(t.ledger.anomalies.get(`${order.tradeno}__callback-mismatch`)?.detail).toBe(
      `subMchId  is not our merchant ${t.deps.config.subMchId}; no transactionId`,
    );
    expect(recorded(t, order.tradeno).status).toBe('pending');
  });

  it('a repeat for an order already paid: acknowledged without asking WeChat Pay again', async () => {
    const t = setup();
    const order = await paidOrder(t);
    const queries = t.pay.count('queryOrder');
    expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(order.tradeno))).toEqual(
      ACK,
    );
    expect(t.pay.count('queryOrder')).toBe(queries);
  });

  it('for an order we closed: WeChat Pay is asked, and the payment recorded as an anomaly', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    const closed = { ...recorded(t, order.tradeno), status: 'closed' as const };
    t.ledger.orders.set(order.tradeno, closed);
    expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(order.tradeno))).toEqual(
      ACK,
    );
    expect(t.pay.count('queryOrder')).toBe(1);
    expect(t.ledger.anomalies.get(`${order.tradeno}__payment_confirmed-when-closed`)).toMatchObject(
      { detail: 'WeChat Pay reports a payment for an order we had ended: refund it by hand' },
    );
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it.each(['NOTPAY', 'USERPAYING'] as const)(
    'queryOrder still says %s: WeChat Pay is asked to call again',
    async (state) => {
      const t = setup();
      const order = await openOrder(t);
      wechatState(t, order.tradeno, state);
      const event = t.pay.callbackEvent(order.tradeno, { transactionId: `42000${order.tradeno}` });
      expect(await handlePaymentCallback(t.deps, WECHAT, event)).toEqual({
        errcode: -1,
        errmsg: `queryOrder says ${state}; retry later`,
      });
      expect(recorded(t, order.tradeno).status).toBe('pending');
    },
  );

  it('the database refusing the write: not acknowledged, so WeChat Pay calls again', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    t.ledger.failWrites = 1;
    expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(order.tradeno))).toEqual(
      { errcode: -1, errmsg: 'not recorded, retry: injected database write failure' },
    );
    expect(recorded(t, order.tradeno).status).toBe('pending');
  });
});

describe('the refund callback', () => {
  it('invoked by a user, not WeChat Pay: refused, naming the function', async () => {
    const t = setup();
    expect(await handleRefundCallback(t.deps, ALICE, {})).toEqual({
      errcode: ErrorCodes.NOT_CALLBACK,
      errmsg: 'payrefundnotify only accepts WeChat Pay callbacks',
    });
    expect(t.ledger.writes).toBe(0);
  });

  it("without an order number, or for an unknown order: recorded in the staff's words", async () => {
    const t = setup();
    expect(await handleRefundCallback(t.deps, WECHAT, { reqInfo: {} })).toEqual(ACK);
    const order = await openOrder(t);
    t.ledger.orders.delete(order.tradeno);
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(ACK);
    expect([...t.ledger.anomalies.values()].map((a) => [a._id, a.detail])).toEqual([
      [`malformed__refund-${t.deps.now()}`, 'a refund callback without outTradeNo'],
      [`${order.tradeno}__unknown-refund`, 'refund callback for an unknown order'],
    ]);
  });

  it('queryRefund failing: not acknowledged, naming the call, so WeChat Pay calls again', async () => {
    const t = setup();
    const order = await paidOrder(t);
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual({
      errcode: -1,
      errmsg: 'not recorded, retry: cloudPay.queryRefund failed: 退款订单查询失败',
    });
    expect(recorded(t, order.tradeno).status).toBe('paid');
  });

  it('a closed refund leaves the order as it was, with its refund request on record', async () => {
    const t = setup();
    const order = await paidOrder(t);
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    const requested = recorded(t, order.tradeno).refund;
    t.pay.settleRefund(order.tradeno, 'REFUNDCLOSE');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(ACK);
    expect(recorded(t, order.tradeno)).toMatchObject({ status: 'paid', refund: requested });
    expect(recorded(t, order.tradeno).history.at(-1)).toMatchObject({
      from: 'refunding',
      to: 'paid',
      by: 'refundnotify',
    });
  });

  it('payquery on a settled order answers from the record without asking WeChat Pay', async () => {
    const t = setup();
    const order = await paidOrder(t);
    const queries = t.pay.count('queryOrder');
    expect(await queryForUser(t.deps, ALICE, { docid: order.docid })).toEqual({
      docid: order.docid,
      tradeno: order.tradeno,
      status: 'paid',
      paystatus: 1,
    });
    expect(t.pay.count('queryOrder')).toBe(queries);
  });
});

describe('payquery and payrefund: what a caller is told', () => {
  it('payquery: bad input and no identity name the function', async () => {
    const t = setup();
    expect(await queryForUser(t.deps, ALICE, {})).toEqual({
      errcode: ErrorCodes.INVALID_INPUT,
      errmsg: 'payquery 参数错误: docid is required',
    });
    expect(await queryForUser(t.deps, ALICE, { docid: 'x', more: 1 })).toEqual({
      errcode: ErrorCodes.INVALID_INPUT,
      errmsg: 'payquery 参数错误: unknown field(s) more; send only {docid}',
    });
    const order = await openOrder(t);
    expect(await queryForUser(t.deps, { openid: '' }, { docid: order.docid })).toEqual({
      errcode: expect.any(Number),
      errmsg: 'payquery: no caller identity (call it from the mini-program)',
    });
  });

  it('payrefund: who may refund, and what they must send', async () => {
    const t = setup();
    const order = await paidOrder(t);
    expect(await requestRefund(t.deps, ALICE, { docid: order.docid })).toEqual({
      errcode: ErrorCodes.FORBIDDEN,
      errmsg: "payrefund: only the shop's administrators may refund",
    });
    expect(await requestRefund(t.deps, { openid: '' }, { docid: order.docid })).toEqual({
      errcode: expect.any(Number),
      errmsg: 'payrefund: no caller identity (call it from the mini-program)',
    });
    expect(await requestRefund(t.deps, ADMIN, { docid: order.docid, amount: 1 })).toEqual({
      errcode: ErrorCodes.INVALID_INPUT,
      errmsg: 'payrefund 参数错误: unknown field(s) amount; send only {docid, reason}',
    });
    expect(await requestRefund(t.deps, ADMIN, {})).toEqual({
      errcode: ErrorCodes.INVALID_INPUT,
      errmsg: 'payrefund 参数错误: docid is required',
    });
    expect(await requestRefund(t.deps, ADMIN, { docid: order.docid, reason: 7 })).toMatchObject({
      errcode: ErrorCodes.INVALID_INPUT,
      errmsg: expect.stringMatching(/^payrefund 参数错误: reason must be a string/),
    });
    expect(t.pay.count('refund')).toBe(0);
  });

  it('payrefund: a reason of 1 to 80 characters reaches WeChat Pay, a longer one is refused', async () => {
    const t = setup();
    const order = await paidOrder(t);
    expect(
      await requestRefund(t.deps, ADMIN, { docid: order.docid, reason: 'x'.repeat(81) }),
    ).toMatchObject({ errcode: ErrorCodes.INVALID_INPUT });
    expect(await requestRefund(t.deps, ADMIN, { docid: order.docid, reason: '' })).toMatchObject({
      errcode: ErrorCodes.INVALID_INPUT,
    });
    expect(t.pay.count('refund')).toBe(0);
    const reason = '退'.repeat(80);
    expect(await requestRefund(t.deps, ADMIN, { docid: order.docid, reason })).toMatchObject({
      status: 'refunding',
    });
    const totalfee = recorded(t, order.tradeno).totalfee;
    expect(t.pay.calls.find((c) => c.api === 'refund')?.request).toMatchObject({
      outTradeNo: order.tradeno,
      outRefundNo: `RF${order.tradeno}`,
      totalFee: totalfee,
      refundFee: totalfee,
      refundDesc: reason,
      functionName: 'payrefundnotify',
      envId: 'local-env',
    });
    expect(recorded(t, order.tradeno).refund).toEqual({
      outRefundNo: `RF${order.tradeno}`,
      refundFee: totalfee,
      requestedAt: t.deps.now(),
    });
  });

  it("payrefund on an order never paid: refused with the state machine's reason", async () => {
    const t = setup();
    const order = await openOrder(t);
    expect(await requestRefund(t.deps, ADMIN, { docid: order.docid })).toEqual({
      errcode: ErrorCodes.ORDER_NOT_PAYABLE,
      errmsg: 'payrefund: the order is not paid: there is nothing to refund',
    });
    expect(t.pay.count('refund')).toBe(0);
  });

  it("a refund failure reported for an order already refunded: an anomaly keeping queryRefund's answer", async () => {
    const t = setup();
    const order = await paidOrder(t);
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    t.pay.settleRefund(order.tradeno, 'SUCCESS');
    await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno });
    t.pay.settleRefund(order.tradeno, 'CHANGE');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(ACK);
    expect(t.ledger.anomalies.get(`${order.tradeno}__refund_failed-when-refunded`)).toMatchObject({
      detail: 'a refund failure arrived for an order already refunded',
      evidence: { refundCount: 1, refundStatus_0: 'CHANGE', outRefundNo_0: `RF${order.tradeno}` },
    });
    expect(recorded(t, order.tradeno).status).toBe('refunded');
  });
});

describe('refunds: which refund decides, and what is recorded', () => {
  it('the only refund, made on the merchant platform and still processing: WeChat Pay is asked to call again', async () => {
    const t = setup();
    const order = await paidOrder(t);
    t.pay.refundOnPlatform(order.tradeno, 1, 'PROCESSING');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual({
      errcode: -1,
      errmsg: 'refund still processing; retry later',
    });
    expect(recorded(t, order.tradeno).status).toBe('paid');
  });

  it('a refund without a status: UNKNOWN, nothing changes', async () => {
    const t = setup();
    const order = await paidOrder(t);
    jest.spyOn(t.pay, 'queryRefund').mockResolvedValueOnce({
      errCode: 0,
      errMsg: 'ok',
      returnCode: 'SUCCESS',
      resultCode: 'SUCCESS',
      refundCount: 1,
      outRefundNo_0: `RF${order.tradeno}`,
    });
    expect(await confirmRefund(t.deps, recorded(t, order.tradeno))).toBe('UNKNOWN');
    expect(recorded(t, order.tradeno).status).toBe('paid');
    expect(t.ledger.unlocks.size).toBe(1);
  });

  it('a successful refund without its number or amount: recorded as ours, for the whole order', async () => {
    const t = setup();
    const order = await paidOrder(t);
    jest.spyOn(t.pay, 'queryRefund').mockResolvedValueOnce({
      errCode: 0,
      errMsg: 'ok',
      returnCode: 'SUCCESS',
      resultCode: 'SUCCESS',
      refundCount: 1,
      refundStatus_0: 'SUCCESS',
    });
    expect(await confirmRefund(t.deps, recorded(t, order.tradeno))).toBe('SUCCESS');
    expect(recorded(t, order.tradeno).refund).toEqual({
      outRefundNo: `RF${order.tradeno}`,
      refundFee: recorded(t, order.tradeno).totalfee,
      requestedAt: t.deps.now(),
      refundedAt: t.deps.now(),
    });
  });

  it('part of the price refunded on the merchant platform: the amount WeChat Pay reports is recorded', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-guide' });
    if (!('tradeno' in reply)) throw new Error('no order');
    t.pay.pay(reply.tradeno);
    await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(reply.tradeno));
    expect(recorded(t, reply.tradeno).totalfee).toBe(2);
    const platform = t.pay.refundOnPlatform(reply.tradeno, 1, 'SUCCESS');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: reply.tradeno })).toEqual(ACK);
    expect(recorded(t, reply.tradeno).refund).toMatchObject({
      outRefundNo: platform.outRefundNo,
      refundFee: 1,
    });
  });

  it('our refund settling later keeps when it was requested', async () => {
    const t = setup();
    const order = await paidOrder(t);
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    const requestedAt = t.deps.now();
    t.advance(10_000);
    t.pay.settleRefund(order.tradeno, 'SUCCESS');
    await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno });
    expect(recorded(t, order.tradeno).refund).toEqual({
      outRefundNo: `RF${order.tradeno}`,
      refundFee: recorded(t, order.tradeno).totalfee,
      requestedAt,
      refundedAt: requestedAt + 10_000,
    });
  });

  it("WeChat Pay refusing the refund: the administrator reads WeChat's words, the order stays paid", async () => {
    const t = setup();
    const order = await paidOrder(t);
    jest.spyOn(t.pay, 'refund').mockResolvedValueOnce({
      errCode: 0,
      errMsg: 'ok',
      returnCode: 'SUCCESS',
      resultCode: 'FAIL',
      errCodeDes: '基本账户余额不足，请充值后重新发起',
    });
    expect(await requestRefund(t.deps, ADMIN, { docid: order.docid })).toEqual({
      errcode: ErrorCodes.PAY_GATEWAY,
      errmsg: 'payrefund: cloudPay.refund failed: 基本账户余额不足，请充值后重新发起',
    });
    expect(recorded(t, order.tradeno).status).toBe('paid');
  });

  it('queryOrder reporting two mismatches: both named in the anomaly', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    t.pay.disagreeQueryOrder(order.tradeno, { totalFee: 5, transactionId: '' });
    await reconcile(t.deps, recorded(t, order.tradeno), 'query');
    expect(t.ledger.anomalies.get(`${order.tradeno}__payment-mismatch`)?.detail).toBe(
      `totalFee 5 does not match the order's 1 fen; no transactionId`,
    );
  });
});
