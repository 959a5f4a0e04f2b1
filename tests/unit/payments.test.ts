import { ErrorCodes } from '../../server/errors';
import {
  ACK,
  createOrder,
  expireOrders,
  handlePaymentCallback,
  handleRefundCallback,
  queryForUser,
  requestRefund,
} from '../../server/payments';
import { MemoryLedger } from './support/memory-ledger';
import { ADMIN, ALICE, BOB, WECHAT, paidOrder, setup } from './support/payment-world';

describe('userpay', () => {
  it('records the unpaid order before asking WeChat Pay, then returns its payment', async () => {
    const t = setup();
    let recordedFirst = false;
    t.pay.onUnifiedOrder = (request) => {
      recordedFirst = t.ledger.orders.get(request.outTradeNo)?.status === 'pending';
    };
    const reply = await createOrder(t.deps, ALICE, {
      itemId: 'demo-unlock',
      userInfo: { openId: 'o_alice' },
    });
    expect(recordedFirst).toBe(true);
    if (!('docid' in reply)) throw new Error(JSON.stringify(reply));
    expect(reply.payment.package).toBe(`prepay_id=wx_prepay_${reply.tradeno}`);
    const order = t.ledger.orders.get(reply.docid);
    expect(order).toMatchObject({
      tradeno: reply.tradeno,
      openid: 'o_alice',
      _openid: 'o_alice',
      totalfee: 1,
      paystatus: 0,
      status: 'pending',
      paytime: '2026-11-27 12:00:00',
      uniOrder: { returnCode: 'SUCCESS', resultCode: 'SUCCESS', payment: reply.payment },
    });
    const request = t.pay.calls[0].request;
    expect(request).toMatchObject({
      totalFee: 1,
      subMchId: '1900000109',
      envId: 'local-env',
      functionName: 'userpaynotify',
      spbillCreateIp: '10.1.2.3',
      nonceStr: 'nonce1',
      timeStart: '20261127120000',
      timeExpire: '20261127121500',
      // A mini-program payment (WeChat Pay v2 unifiedorder trade_type JSAPI), for this item.
      tradeType: 'JSAPI',
      outTradeNo: reply.tradeno,
      attach: 'demo-unlock',
    });
  });

  it.each([
    [{ fee: 1, paydata: { userid: 'x' } }, /fee, paydata not accepted.*send \{itemId\}/],
    [{ itemId: 'demo-unlock', openid: 'o_bob' }, /openid not accepted/],
    [{}, /itemId is required/],
    [{ itemId: 42 }, /itemId must be a string/],
    [{ itemId: 'no-such-item' }, /unknown itemId "no-such-item"/],
    [{ itemId: 'demo-unlock', extra: true }, /unknown field\(s\) extra/],
    [null, /expected an object/],
    ['demo-unlock', /expected an object/],
  ])('refuses %j with a clear error and writes nothing', async (event, message) => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, event);
    expect(reply).toMatchObject({
      errcode: expect.any(Number),
      errmsg: expect.stringMatching(message),
    });
    expect(t.ledger.writes).toBe(0);
    expect(t.pay.calls).toHaveLength(0);
  });

  it('needs the platform identity: without an openid nothing is written', async () => {
    const t = setup();
    expect(
      await createOrder(t.deps, { openid: undefined }, { itemId: 'demo-unlock' }),
    ).toMatchObject({
      errcode: ErrorCodes.FORBIDDEN,
    });
    expect(t.ledger.writes).toBe(0);
  });

  it('marks the order failed and returns no payment when WeChat Pay answers FAIL', async () => {
    const t = setup();
    t.pay.failNextUnifiedOrder = '商户号该产品权限未开通';
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(reply).toMatchObject({
      errcode: ErrorCodes.PAY_GATEWAY,
      errmsg: expect.stringMatching(/权限未开通/),
    });
    expect(reply).not.toHaveProperty('payment');
    const [order] = t.ledger.orders.values();
    expect(order).toMatchObject({
      status: 'failed',
      uniOrder: { resultCode: 'FAIL', errCodeDes: '商户号该产品权限未开通' },
    });
  });

  it('does not hand out a payment it could not store', async () => {
    const t = setup();
    t.pay.onUnifiedOrder = () => {
      t.ledger.failWrites = 1;
    };
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(reply).toMatchObject({ errcode: ErrorCodes.INTERNAL });
    expect(reply).not.toHaveProperty('payment');
  });

  it('reuses the open order on a second tap instead of charging twice', async () => {
    const t = setup();
    const first = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    t.advance(30_000);
    const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(second).toEqual(first);
    expect(t.pay.count('unifiedOrder')).toBe(1);
    expect(t.ledger.orders.size).toBe(1);
  });

  it('answers {unlocked: true} once paid, before any money moves', async () => {
    const t = setup();
    await paidOrder(t);
    const calls = t.pay.calls.length;
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({ unlocked: true });
    expect(t.pay.calls).toHaveLength(calls);
  });

  it('never charges twice when an earlier order is paid while a second tap is opening a new one', async () => {
    const t = setup();
    const first = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in first)) throw new Error('expected an order');
    t.pay.pay(first.tradeno);
    // The second tap checked for an unlock before the callback committed; the callback commits
    // (releasing the open-order key and granting the unlock) just before the tap inserts.
    const insert = t.ledger.insertOrder.bind(t.ledger);
    t.ledger.getUnlock = jest
      .fn()
      .mockResolvedValueOnce(undefined)
      .mockImplementation((openid: string, itemId: string) =>
        MemoryLedger.prototype.getUnlock.call(t.ledger, openid, itemId),
      );
    t.ledger.findOpenOrder = jest.fn().mockResolvedValue(undefined);
    t.ledger.insertOrder = async (order) => {
      expect(
        await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(first.tradeno)),
      ).toEqual(ACK);
      return insert(order);
    };
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({ unlocked: true });
    expect(t.pay.count('unifiedOrder')).toBe(1);
    const statuses = [...t.ledger.orders.values()].map((o) => o.status).sort();
    expect(statuses).toEqual(['failed', 'paid']);
    // The second order never reached WeChat Pay, and says why.
    expect([...t.ledger.orders.values()].find((o) => o.status === 'failed')).toMatchObject({
      uniOrder: { returnCode: 'NOT_SENT', errCodeDes: 'already unlocked' },
      history: [{ from: 'pending', to: 'failed', by: 'userpay' }],
    });
  });

  it('replaces an order that expired unpaid: closes it at WeChat Pay, then opens a new one', async () => {
    const t = setup();
    const first = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    t.advance(15 * 60_000);
    const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in first) || !('tradeno' in second)) throw new Error('expected orders');
    expect(second.tradeno).not.toBe(first.tradeno);
    expect(t.ledger.orders.get(first.tradeno)?.status).toBe('closed');
    expect(t.pay.orders.get(first.tradeno)?.state).toBe('CLOSED');
  });

  it('honours an expired order that was paid without a callback', async () => {
    const t = setup();
    const first = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in first)) throw new Error('expected an order');
    t.pay.pay(first.tradeno);
    t.advance(15 * 60_000);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({ unlocked: true });
    expect(t.ledger.orders.get(first.tradeno)?.status).toBe('paid');
    // Honoured before anything else: no second order written.
    expect(t.ledger.orders.size).toBe(1);
  });
});

describe('userpaynotify', () => {
  it('marks the order paid and grants the unlock in one step, then acknowledges', async () => {
    const t = setup();
    const reply = await paidOrder(t);
    expect(t.ledger.orders.get(reply.tradeno)).toMatchObject({
      status: 'paid',
      paystatus: 1,
      transactionId: `42000${reply.tradeno}`,
      openKey: reply.tradeno,
    });
    expect(await t.deps.ledger.getUnlock('o_alice', 'demo-unlock')).toMatchObject({
      tradeno: reply.tradeno,
    });
  });

  it('is idempotent: a duplicate callback changes nothing and is still acknowledged', async () => {
    const t = setup();
    const reply = await paidOrder(t);
    const before = structuredClone(t.ledger.orders.get(reply.tradeno));
    const writes = t.ledger.writes;
    expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(reply.tradeno))).toEqual(
      ACK,
    );
    expect(t.ledger.orders.get(reply.tradeno)).toEqual(before);
    expect(t.ledger.writes).toBe(writes);
    expect(t.ledger.unlocks.size).toBe(1);
  });

  it('refuses a forged callback from a mini-program user and writes nothing', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in reply)) throw new Error('expected an order');
    const writes = t.ledger.writes;
    const forged = t.pay.callbackEvent(reply.tradeno, { transactionId: '4200forged' });
    expect(await handlePaymentCallback(t.deps, ALICE, forged)).toMatchObject({
      errcode: ErrorCodes.NOT_CALLBACK,
    });
    expect(t.ledger.writes).toBe(writes);
    expect(t.ledger.orders.get(reply.tradeno)?.status).toBe('pending');
  });

  it('does not trust the event: an unpaid order stays unpaid and WeChat is asked to retry', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in reply)) throw new Error('expected an order');
    const event = { ...t.pay.callbackEvent(reply.tradeno), transactionId: '4200x' };
    const answer = await handlePaymentCallback(t.deps, WECHAT, event);
    expect(answer.errcode).not.toBe(0);
    expect(t.ledger.orders.get(reply.tradeno)?.status).toBe('pending');
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it.each([
    ['a wrong amount', { totalFee: 100 }, /totalFee 100 does not match/],
    ['another merchant', { subMchId: '1800000001' }, /subMchId 1800000001 is not our merchant/],
  ])(
    'records %s as an anomaly, grants nothing, and acknowledges',
    async (_label, overrides, detail) => {
      const t = setup();
      const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
      if (!('tradeno' in reply)) throw new Error('expected an order');
      t.pay.pay(reply.tradeno);
      expect(
        await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(reply.tradeno, overrides)),
      ).toEqual(ACK);
      expect(t.ledger.orders.get(reply.tradeno)?.status).toBe('pending');
      expect(t.ledger.unlocks.size).toBe(0);
      expect([...t.ledger.anomalies.values()]).toEqual([
        expect.objectContaining({
          tradeno: reply.tradeno,
          kind: 'callback-mismatch',
          detail: expect.stringMatching(detail),
        }),
      ]);
    },
  );

  it('records a callback for an unknown order and acknowledges it', async () => {
    const t = setup();
    const event = {
      outTradeNo: 'CP20261127120000UNKNOWN00001',
      totalFee: 1,
      subMchId: '1900000109',
      resultCode: 'SUCCESS',
      returnCode: 'SUCCESS',
    };
    expect(await handlePaymentCallback(t.deps, WECHAT, event)).toEqual(ACK);
    expect([...t.ledger.anomalies.values()][0]).toMatchObject({ kind: 'unknown-order' });
  });

  it('does not acknowledge when the paid write fails, and succeeds on the retry', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in reply)) throw new Error('expected an order');
    t.pay.pay(reply.tradeno);
    t.ledger.failWrites = 1;
    const first = await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(reply.tradeno));
    expect(first.errcode).toBe(-1);
    expect(t.ledger.orders.get(reply.tradeno)?.status).toBe('pending');
    expect(t.ledger.unlocks.size).toBe(0);
    expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(reply.tradeno))).toEqual(
      ACK,
    );
    expect(t.ledger.orders.get(reply.tradeno)?.status).toBe('paid');
  });

  it('records money received for a closed order as an anomaly, never as an unlock', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in reply)) throw new Error('expected an order');
    t.pay.pay(reply.tradeno);
    // Our side closed it (e.g. a crash between close and the callback): the event contradicts us.
    const order = t.ledger.orders.get(reply.tradeno);
    if (order) t.ledger.orders.set(reply.tradeno, { ...order, status: 'closed' });
    expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(reply.tradeno))).toEqual(
      ACK,
    );
    expect(t.ledger.unlocks.size).toBe(0);
    expect([...t.ledger.anomalies.values()][0]).toMatchObject({
      kind: 'payment_confirmed-when-closed',
    });
  });
});

describe('payquery', () => {
  it('applies a payment whose callback is late, for the owner only', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in reply)) throw new Error('expected an order');
    t.pay.pay(reply.tradeno);
    expect(await queryForUser(t.deps, BOB, { docid: reply.docid })).toMatchObject({
      errcode: ErrorCodes.ORDER_NOT_FOUND,
    });
    expect(t.pay.count('queryOrder')).toBe(0);
    expect(await queryForUser(t.deps, ALICE, { docid: reply.docid })).toEqual({
      docid: reply.docid,
      tradeno: reply.tradeno,
      status: 'paid',
      paystatus: 1,
    });
    expect(t.ledger.unlocks.size).toBe(1);
  });

  it('asks WeChat Pay about one order at most once per interval', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in reply)) throw new Error('expected an order');
    for (let i = 0; i < 5; i++) await queryForUser(t.deps, ALICE, { docid: reply.docid });
    expect(t.pay.count('queryOrder')).toBe(1);
    t.advance(2_000);
    await queryForUser(t.deps, ALICE, { docid: reply.docid });
    expect(t.pay.count('queryOrder')).toBe(2);
  });

  it.each([[{}], [{ docid: '../x' }], [{ docid: 'CP1234567', more: 1 }]])(
    'refuses bad input %j',
    async (event) => {
      const t = setup();
      expect(await queryForUser(t.deps, ALICE, event)).toMatchObject({
        errcode: ErrorCodes.INVALID_INPUT,
      });
    },
  );
});

describe('payexpire', () => {
  it('honours late payments, closes the rest after their lifetime, and leaves open orders alone', async () => {
    const t = setup();
    const paid = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    const unpaid = await createOrder(t.deps, BOB, { itemId: 'demo-unlock' });
    if (!('tradeno' in paid) || !('tradeno' in unpaid)) throw new Error('expected orders');
    t.pay.pay(paid.tradeno);
    expect(await expireOrders(t.deps)).toEqual({
      checked: 0,
      paid: 0,
      closed: 0,
      failed: 0,
      deferred: 0,
    });
    t.advance(16 * 60_000);
    expect(await expireOrders(t.deps)).toEqual({
      checked: 2,
      paid: 1,
      closed: 1,
      failed: 0,
      deferred: 0,
    });
    expect(t.ledger.orders.get(paid.tradeno)?.status).toBe('paid');
    expect(t.ledger.orders.get(unpaid.tradeno)?.status).toBe('closed');
    expect(t.pay.orders.get(unpaid.tradeno)?.state).toBe('CLOSED');
    expect(await expireOrders(t.deps)).toMatchObject({ checked: 0 });
  });

  it('defers an order WeChat Pay cannot be asked about, and retries next run', async () => {
    const t = setup();
    const order = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('tradeno' in order)) throw new Error('expected an order');
    t.advance(16 * 60_000);
    t.pay.throwNext = 1;
    expect(await expireOrders(t.deps)).toMatchObject({ checked: 1, deferred: 1 });
    expect(await expireOrders(t.deps)).toMatchObject({ checked: 1, closed: 1 });
  });
});

describe('refunds', () => {
  it('lets only administrators refund', async () => {
    const t = setup();
    const reply = await paidOrder(t);
    expect(await requestRefund(t.deps, ALICE, { docid: reply.docid })).toMatchObject({
      errcode: ErrorCodes.FORBIDDEN,
    });
    expect(t.pay.count('refund')).toBe(0);
  });

  it('refunds with a stable refund number, confirms by queryRefund, and revokes the unlock', async () => {
    const t = setup();
    const reply = await paidOrder(t);
    const first = await requestRefund(t.deps, ADMIN, { docid: reply.docid, reason: '用户申请' });
    expect(first).toMatchObject({ status: 'refunding', outRefundNo: `RF${reply.tradeno}` });
    // A retry of the same request is answered without a second refund call.
    expect(await requestRefund(t.deps, ADMIN, { docid: reply.docid })).toMatchObject({
      status: 'refunding',
    });
    expect(t.pay.count('refund')).toBe(1);
    // The callback before WeChat Pay finished: retry later, nothing revoked yet.
    expect(
      (await handleRefundCallback(t.deps, WECHAT, { outTradeNo: reply.tradeno })).errcode,
    ).toBe(-1);
    expect(t.ledger.unlocks.size).toBe(1);
    t.pay.settleRefund(reply.tradeno);
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: reply.tradeno })).toEqual(ACK);
    expect(t.ledger.orders.get(reply.tradeno)).toMatchObject({ status: 'refunded', paystatus: 1 });
    expect(t.ledger.unlocks.size).toBe(0);
    // Duplicate refund callbacks change nothing.
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: reply.tradeno })).toEqual(ACK);
    expect(t.ledger.orders.get(reply.tradeno)?.history.map((h) => h.to)).toEqual([
      'paid',
      'refunding',
      'refunded',
    ]);
  });

  it('refuses to refund an unpaid order', async () => {
    const t = setup();
    const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    if (!('docid' in reply)) throw new Error('expected an order');
    expect(await requestRefund(t.deps, ADMIN, { docid: reply.docid })).toMatchObject({
      errcode: ErrorCodes.ORDER_NOT_PAYABLE,
      errmsg: expect.stringMatching(/nothing to refund/),
    });
  });

  it('ignores a forged refund callback from a user', async () => {
    const t = setup();
    const reply = await paidOrder(t);
    expect(await handleRefundCallback(t.deps, ALICE, { outTradeNo: reply.tradeno })).toMatchObject({
      errcode: ErrorCodes.NOT_CALLBACK,
    });
    expect(t.ledger.orders.get(reply.tradeno)?.status).toBe('paid');
  });
});
