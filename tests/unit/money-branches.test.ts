import { ErrorCodes } from '../../server/errors';
import {
  ACK,
  confirmRefund,
  createOrder,
  expireOrders,
  handlePaymentCallback,
  handleRefundCallback,
  queryForUser,
  reconcile,
  requestRefund,
} from '../../server/payments';
import { openKeyFor } from '../../server/records';
import { ADMIN, ALICE, WECHAT, paidOrder, setup } from './support/payment-world';

/**
 * The branches that decide money or access, against the fake WeChat Pay made to disagree (the same
 * powers as the emulator sandbox's, emulator/docs/pay.md "WeChat Pay disagreeing"). Values are
 * WeChat Pay v2's: queryOrder trade_state and err_code_des 此交易订单号不存在 (ORDERNOTEXIST);
 * queryRefund refund_status_$n SUCCESS / REFUNDCLOSE / PROCESSING / CHANGE
 * (pay.weixin.qq.com/wiki/doc/api/jsapi_sl.php, chapters 9_2 and 9_5). The integration twin of
 * this file is tests/integration/money-branches.test.ts (real SDK, emulator sandbox).
 */

function recorded(t: ReturnType<typeof setup>, tradeno: string) {
  const order = t.ledger.orders.get(tradeno);
  if (!order) throw new Error(`no order ${tradeno}`);
  return order;
}

async function openOrder(t: ReturnType<typeof setup>) {
  const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
  if (!('tradeno' in reply)) throw new Error(`no order: ${JSON.stringify(reply)}`);
  return reply;
}

describe('queryOrder facts that do not match the order: an anomaly, not paid', () => {
  it.each([
    ['amount', { totalFee: 2 }, "totalFee 2 does not match the order's 1 fen"],
    ['merchant', { subMchId: '1900000999' }, 'subMchId 1900000999 is not our merchant'],
    ['transaction id', { transactionId: '' }, 'no transactionId'],
  ])('payquery with another %s', async (_what, facts, detail) => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    t.pay.disagreeQueryOrder(order.tradeno, facts);
    expect(await queryForUser(t.deps, ALICE, { docid: order.docid })).toMatchObject({
      status: 'pending',
      paystatus: 0,
    });
    expect(t.ledger.unlocks.size).toBe(0);
    const [anomaly] = [...t.ledger.anomalies.values()];
    expect(anomaly).toMatchObject({ tradeno: order.tradeno, kind: 'payment-mismatch' });
    expect(anomaly?.detail).toContain(detail);
  });

  it('the callback agrees with the order, queryOrder does not: nothing is granted, the callback is acknowledged', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    t.pay.disagreeQueryOrder(order.tradeno, { totalFee: 100 });
    expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(order.tradeno))).toEqual(
      ACK,
    );
    expect(t.ledger.orders.get(order.tradeno)).toMatchObject({ status: 'pending', paystatus: 0 });
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('payexpire: a mismatched payment is neither counted paid nor closed', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    t.pay.disagreeQueryOrder(order.tradeno, { totalFee: 100 });
    t.advance(16 * 60_000);
    const report = await expireOrders(t.deps);
    expect(report).toMatchObject({ checked: 1, paid: 1, closed: 0 });
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('pending');
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('a second tap when WeChat Pay reports a mismatched payment: told to ask, not unlocked', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    t.pay.disagreeQueryOrder(order.tradeno, { subMchId: '1900000999' });
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.ORDER_NOT_PAYABLE,
      errmsg: '支付待核对，请联系客服 (WeChat Pay reports a payment that does not match the order)',
    });
    expect(t.ledger.unlocks.size).toBe(0);
  });
});

describe('an order WeChat Pay never saw', () => {
  it('payquery: ORDERNOTEXIST fails the pending order', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.disagreeQueryOrder(order.tradeno, { notExist: true });
    expect(await queryForUser(t.deps, ALICE, { docid: order.docid })).toMatchObject({
      status: 'failed',
      paystatus: 0,
    });
  });

  it('payexpire counts it failed and closes nothing at WeChat Pay', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.disagreeQueryOrder(order.tradeno, { notExist: true });
    t.advance(16 * 60_000);
    expect(await expireOrders(t.deps)).toMatchObject({ checked: 1, failed: 1, closed: 0 });
    expect(t.pay.count('closeOrder')).toBe(0);
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('failed');
  });

  it('a paid order is never failed by a later ORDERNOTEXIST: reconcile throws instead', async () => {
    const t = setup();
    const order = await paidOrder(t);
    t.pay.disagreeQueryOrder(order.tradeno, { notExist: true });
    await expect(reconcile(t.deps, recorded(t, order.tradeno), 'test')).rejects.toThrow(
      'cloudPay.queryOrder failed: 此交易订单号不存在',
    );
    expect(recorded(t, order.tradeno).status).toBe('paid');
    expect(t.ledger.unlocks.size).toBe(1);
  });
});

describe('a stale order whose unifiedOrder never answered', () => {
  /** What userpay leaves when its instance dies between the insert and WeChat Pay's answer. */
  async function stale(t: ReturnType<typeof setup>, tradeno: string) {
    const now = t.deps.now();
    await t.ledger.insertOrder({
      _id: tradeno,
      tradeno,
      openid: 'o_alice',
      _openid: 'o_alice',
      itemId: 'demo-unlock',
      body: 'x',
      totalfee: 1,
      paystatus: 0,
      status: 'pending',
      paytime: '2026-11-27 12:00:00',
      createdAt: now,
      expiresAt: now + 15 * 60_000,
      updatedAt: now,
      openKey: openKeyFor('o_alice', 'demo-unlock'),
      uniOrder: null,
      history: [],
    });
  }

  it('within 30 s the tap is asked to wait; after, WeChat never saw it: failed, and a new order opens', async () => {
    const t = setup();
    await stale(t, 'CP20261127120000STALE0000001');
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toMatchObject({
      errcode: ErrorCodes.ORDER_NOT_PAYABLE,
      errmsg: expect.stringContaining('an order is being created'),
    });
    t.advance(30_000);
    const next = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(next).toMatchObject({ tradeno: expect.any(String) });
    expect(t.ledger.orders.get('CP20261127120000STALE0000001')?.status).toBe('failed');
    expect(t.pay.count('closeOrder')).toBe(0);
  });

  it('WeChat did see it (the answer was lost) and it is unpaid: closed there after 5 minutes', async () => {
    const t = setup();
    await stale(t, 'CP20261127120000STALE0000002');
    // unifiedOrder reached WeChat Pay; only its answer was lost.
    await t.pay.unifiedOrder({
      body: 'x',
      outTradeNo: 'CP20261127120000STALE0000002',
      spbillCreateIp: '127.0.0.1',
      subMchId: t.deps.config.subMchId,
      totalFee: 1,
      envId: t.deps.config.envId,
      functionName: 'userpaynotify',
      nonceStr: 'n',
    });
    t.advance(5 * 60_000);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toMatchObject({
      tradeno: expect.any(String),
    });
    expect(t.pay.orders.get('CP20261127120000STALE0000002')?.state).toBe('CLOSED');
    expect(t.ledger.orders.get('CP20261127120000STALE0000002')?.status).toBe('closed');
  });

  it('WeChat saw it and it was paid: unlocked, no new order', async () => {
    const t = setup();
    await stale(t, 'CP20261127120000STALE0000003');
    await t.pay.unifiedOrder({
      body: 'x',
      outTradeNo: 'CP20261127120000STALE0000003',
      spbillCreateIp: '127.0.0.1',
      subMchId: t.deps.config.subMchId,
      totalFee: 1,
      envId: t.deps.config.envId,
      functionName: 'userpaynotify',
      nonceStr: 'n',
    });
    t.pay.pay('CP20261127120000STALE0000003');
    t.advance(60_000);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({ unlocked: true });
    expect(t.ledger.orders.size).toBe(1);
  });
});

describe('a second tap after the order was paid', () => {
  it('the callback still on its way: queryOrder says paid, the tap answers unlocked, no new order', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({ unlocked: true });
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('paid');
    expect(t.pay.count('unifiedOrder')).toBe(1);
  });

  it('not paid yet: the same order and payment come back', async () => {
    const t = setup();
    const order = await openOrder(t);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual(order);
  });
});

describe('refunds that do not end SUCCESS', () => {
  it.each(['REFUNDCLOSE', 'CHANGE'] as const)(
    '%s: the order goes back to paid, the unlock stays',
    async (status) => {
      const t = setup();
      const order = await paidOrder(t);
      await requestRefund(t.deps, ADMIN, { docid: order.docid });
      t.pay.settleRefund(order.tradeno, status);
      expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(
        ACK,
      );
      expect(t.ledger.orders.get(order.tradeno)).toMatchObject({ status: 'paid', paystatus: 1 });
      expect(t.ledger.unlocks.size).toBe(1);
    },
  );

  it('PROCESSING: the callback is asked again later and nothing changes', async () => {
    const t = setup();
    const order = await paidOrder(t);
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual({
      errcode: -1,
      errmsg: 'refund still processing; retry later',
    });
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('refunding');
  });
});

describe('refunds made outside the app', () => {
  it('a refund on the merchant platform revokes the unlock (the only refund on the order)', async () => {
    const t = setup();
    const order = await paidOrder(t);
    t.pay.refundOnPlatform(order.tradeno, 1, 'SUCCESS');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(ACK);
    expect(t.ledger.orders.get(order.tradeno)).toMatchObject({ status: 'refunded' });
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('several refunds: ours decides, wherever it is in the list', async () => {
    const t = setup();
    const order = await paidOrder(t);
    // A closed refund on the merchant platform first, then ours succeeds.
    t.pay.refundOnPlatform(order.tradeno, 1, 'REFUNDCLOSE');
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    t.pay.settleRefund(order.tradeno, 'SUCCESS', `RF${order.tradeno}`);
    expect(await confirmRefund(t.deps, recorded(t, order.tradeno))).toBe('SUCCESS');
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('refunded');
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('several refunds: ours closed while another is listed after it: back to paid', async () => {
    const t = setup();
    const order = await paidOrder(t);
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    t.pay.settleRefund(order.tradeno, 'REFUNDCLOSE');
    t.pay.refundOnPlatform(order.tradeno, 1, 'PROCESSING');
    expect(await confirmRefund(t.deps, recorded(t, order.tradeno))).toBe('REFUNDCLOSE');
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('paid');
    expect(t.ledger.unlocks.size).toBe(1);
  });

  // A successful refund anywhere on the order sent money back to the payer, so it revokes what
  // the order paid for, as the single refund on the merchant platform above does.
  it('several refunds: ours closed, then one on the merchant platform succeeds: refunded, unlock revoked', async () => {
    const t = setup();
    const order = await paidOrder(t);
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    t.pay.settleRefund(order.tradeno, 'REFUNDCLOSE');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(ACK);
    expect(recorded(t, order.tradeno).status).toBe('paid');
    const totalfee = recorded(t, order.tradeno).totalfee;
    const platform = t.pay.refundOnPlatform(order.tradeno, totalfee, 'SUCCESS');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(ACK);
    expect(recorded(t, order.tradeno)).toMatchObject({
      status: 'refunded',
      // The refund that returned the money, not our closed one.
      refund: { outRefundNo: platform.outRefundNo, refundFee: totalfee },
    });
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('several refunds, none of them ours, one succeeded: refunded, unlock revoked', async () => {
    const t = setup();
    const order = await paidOrder(t);
    t.pay.refundOnPlatform(order.tradeno, 1, 'REFUNDCLOSE');
    const platform = t.pay.refundOnPlatform(order.tradeno, 1, 'SUCCESS');
    expect(await confirmRefund(t.deps, recorded(t, order.tradeno))).toBe('SUCCESS');
    expect(recorded(t, order.tradeno)).toMatchObject({
      status: 'refunded',
      refund: { outRefundNo: platform.outRefundNo, refundFee: 1 },
    });
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('several refunds, none of them ours, none succeeded: nothing changes', async () => {
    const t = setup();
    const order = await paidOrder(t);
    t.pay.refundOnPlatform(order.tradeno, 1, 'REFUNDCLOSE');
    t.pay.refundOnPlatform(order.tradeno, 1, 'PROCESSING');
    expect(await confirmRefund(t.deps, recorded(t, order.tradeno))).toBe('NONE');
    expect(recorded(t, order.tradeno).status).toBe('paid');
    expect(t.ledger.unlocks.size).toBe(1);
  });
});

// Survivors of `npm run mutation` (first run), killed here.
describe('callbacks WeChat Pay did not mean as success, and closed orders', () => {
  it.each([
    ['returnCode FAIL', { returnCode: 'FAIL' }],
    ['resultCode FAIL', { resultCode: 'FAIL' }],
  ])('a payment callback with %s is recorded, acknowledged and grants nothing', async (_w, o) => {
    const t = setup();
    const order = await openOrder(t);
    t.pay.pay(order.tradeno);
    const event = t.pay.callbackEvent(order.tradeno, o);
    expect(await handlePaymentCallback(t.deps, WECHAT, event)).toEqual(ACK);
    expect(recorded(t, order.tradeno).status).toBe('pending');
    expect([...t.ledger.anomalies.values()].map((a) => a.kind)).toEqual(['callback-not-success']);
    expect(t.pay.count('queryOrder')).toBe(0);
  });

  it('payquery: queryOrder says CLOSED, so the order is closed, never paid', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.advance(5 * 60_000);
    await t.pay.closeOrder({
      subMchId: t.deps.config.subMchId,
      outTradeNo: order.tradeno,
      nonceStr: 'n',
    });
    expect(await queryForUser(t.deps, ALICE, { docid: order.docid })).toMatchObject({
      status: 'closed',
      paystatus: 0,
    });
  });

  it('refund callbacks without an order number, or for an unknown order, are recorded and acknowledged', async () => {
    const t = setup();
    expect(await handleRefundCallback(t.deps, WECHAT, { reqInfo: {} })).toEqual(ACK);
    expect(
      await handleRefundCallback(t.deps, WECHAT, { outTradeNo: 'CP20261127120000NOSUCHORDER1' }),
    ).toEqual(ACK);
    expect([...t.ledger.anomalies.values()].map((a) => [a.tradeno, a.kind])).toEqual([
      ['malformed', expect.stringMatching(/^refund-\d+$/)],
      ['CP20261127120000NOSUCHORDER1', 'unknown-refund'],
    ]);
    expect(t.pay.count('queryRefund')).toBe(0);
  });
});
