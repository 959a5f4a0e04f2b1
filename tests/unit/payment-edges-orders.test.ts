// Payment edges, the order side: reconcile's trade states, a second tap, an unanswered unifiedOrder,
// payexpire, queryOrder answers missing a field, and what userpay sends and tells the user.
import type { QueryOrderResult } from '../../server/cloudpay';
import { ErrorCodes } from '../../server/errors';
import { createOrder, expireOrders, reconcile } from '../../server/payments';
import {
  ALICE,
  BOB,
  openOrder,
  paidOrder,
  queryOrderFails,
  recorded,
  setup,
  wechatState,
  type World,
} from './support/payment-world';

/**
 * The edges of userpay, payquery, payexpire and the two callbacks that `npm run mutation` found
 * unpinned: which trade states end or reuse an order, WeChat's 5-minute rule, what a callback
 * answers when it cannot record, and the error a user gets. Trade states and err_code_des are
 * WeChat Pay v2's (pay.weixin.qq.com/wiki/doc/api/jsapi_sl.php: queryOrder 9_2 trade_state
 * SUCCESS / REFUND / NOTPAY / CLOSED / REVOKED / USERPAYING / PAYERROR, SYSTEMERROR 系统超时;
 * closeOrder 9_3 ORDERCLOSED 订单已关闭). The errmsg texts are this project's own (server/).
 */

describe('reconcile: what each trade state does to a pending order', () => {
  it('REFUND (paid, then refunded at WeChat): the payment is recorded, the refund comes by its own notification', async () => {
    const t = setup();
    const order = await openOrder(t);
    wechatState(t, order.tradeno, 'REFUND');
    expect(await reconcile(t.deps, recorded(t, order.tradeno), 'query')).toBe('REFUND');
    expect(recorded(t, order.tradeno)).toMatchObject({ status: 'paid', paystatus: 1 });
  });

  it.each(['CLOSED', 'REVOKED'] as const)(
    '%s: the order is closed, when it was closed recorded',
    async (state) => {
      const t = setup();
      const order = await openOrder(t);
      t.advance(1000);
      wechatState(t, order.tradeno, state);
      expect(await reconcile(t.deps, recorded(t, order.tradeno), 'query')).toBe(state);
      expect(recorded(t, order.tradeno)).toMatchObject({
        status: 'closed',
        closedAt: t.deps.now(),
        history: [{ to: 'closed', by: 'query' }],
      });
    },
  );

  it('a queryOrder failure other than ORDERNOTEXIST is thrown, the order stays pending', async () => {
    const t = setup();
    const order = await openOrder(t);
    queryOrderFails(t, '系统超时');
    await expect(reconcile(t.deps, recorded(t, order.tradeno), 'query')).rejects.toThrow(
      'cloudPay.queryOrder failed: 系统超时',
    );
    expect(recorded(t, order.tradeno).status).toBe('pending');
  });

  it('ORDERNOTEXIST for an order no longer pending is thrown, never a failed order', async () => {
    const t = setup();
    const order = await paidOrder(t);
    queryOrderFails(t, '此交易订单号不存在');
    await expect(reconcile(t.deps, recorded(t, order.tradeno), 'query')).rejects.toThrow(
      'cloudPay.queryOrder failed: 此交易订单号不存在',
    );
    expect(recorded(t, order.tradeno).status).toBe('paid');
  });
});

describe('userpay: a second tap', () => {
  it('reuses the open order while it has at least a minute left to pay', async () => {
    const t = setup();
    const first = await openOrder(t);
    t.advance(t.deps.config.orderLifetimeMs - 60_000);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual(first);
  });

  it('ends it with less than a minute left, and opens a new one', async () => {
    const t = setup();
    const first = await openOrder(t);
    t.advance(t.deps.config.orderLifetimeMs - 60_000 + 1);
    const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(second).toMatchObject({ tradeno: expect.any(String) });
    expect(second).not.toEqual(first);
    expect(recorded(t, first.tradeno).status).toBe('closed');
    expect(t.pay.count('closeOrder')).toBe(1);
  });

  it.each(['USERPAYING', 'PAYERROR'] as const)(
    'a reusable order WeChat reports %s is reused, never charged twice',
    async (state) => {
      const t = setup();
      const first = await openOrder(t);
      wechatState(t, first.tradeno, state);
      expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual(first);
      expect(t.pay.count('unifiedOrder')).toBe(1);
    },
  );

  it.each(['USERPAYING', 'PAYERROR'] as const)(
    'a stale order WeChat reports %s is closed at WeChat before a new one is opened',
    async (state) => {
      const t = setup();
      const first = await openOrder(t);
      wechatState(t, first.tradeno, state);
      t.advance(t.deps.config.orderLifetimeMs);
      const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
      expect(second).toMatchObject({ tradeno: expect.any(String) });
      expect(second).not.toEqual(first);
      expect(t.pay.count('closeOrder')).toBe(1);
      expect(recorded(t, first.tradeno).status).toBe('closed');
    },
  );

  it.each(['CLOSED', 'REVOKED'] as const)(
    'a reusable order WeChat reports %s is never handed out again: a new order',
    async (state) => {
      const t = setup();
      const first = await openOrder(t);
      wechatState(t, first.tradeno, state);
      const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
      expect(second).toMatchObject({ tradeno: expect.any(String) });
      expect(second).not.toEqual(first);
      expect(recorded(t, first.tradeno).status).toBe('closed');
    },
  );

  it('a stale order WeChat already closed is not closed again (WeChat would answer ORDERCLOSED)', async () => {
    const t = setup();
    const first = await openOrder(t);
    wechatState(t, first.tradeno, 'CLOSED');
    t.advance(t.deps.config.orderLifetimeMs);
    const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(second).toMatchObject({ tradeno: expect.any(String) });
    expect(t.pay.count('closeOrder')).toBe(0);
    expect(recorded(t, first.tradeno).status).toBe('closed');
  });

  it('a stale order found REFUND: the payment is honoured, unlocked, no new order', async () => {
    const t = setup();
    const first = await openOrder(t);
    wechatState(t, first.tradeno, 'REFUND');
    t.advance(t.deps.config.orderLifetimeMs);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      unlocked: true,
    });
    expect(t.pay.count('unifiedOrder')).toBe(1);
    expect(t.ledger.orders.size).toBe(1);
  });

  it("closeOrder refused for a stale order: the user is told WeChat Pay's call failed", async () => {
    const t = setup();
    const first = await openOrder(t);
    t.advance(t.deps.config.orderLifetimeMs);
    jest.spyOn(t.pay, 'closeOrder').mockResolvedValueOnce({
      errCode: 0,
      errMsg: 'ok',
      returnCode: 'SUCCESS',
      resultCode: 'FAIL',
      errCodeDes: '系统错误',
    });
    // errcode and wording are this project's (server/errors.ts); '系统错误' is WeChat's errCodeDes.
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.PAY_GATEWAY,
      errmsg: '支付服务暂时不可用，请稍后重试 (cloudPay.closeOrder failed: 系统错误)',
    });
    expect(t.pay.count('unifiedOrder')).toBe(1);
    expect(recorded(t, first.tradeno).status).toBe('pending');
  });

  it('queryOrder refused on a second tap: the same gateway error, no second order, no charge', async () => {
    const t = setup();
    const first = await openOrder(t);
    queryOrderFails(t, '系统超时');
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.PAY_GATEWAY,
      errmsg: '支付服务暂时不可用，请稍后重试 (cloudPay.queryOrder failed: 系统超时)',
    });
    expect(t.pay.count('unifiedOrder')).toBe(1);
    expect([...t.ledger.orders.keys()]).toEqual([first.tradeno]);
    expect(recorded(t, first.tradeno).status).toBe('pending');
  });
});

describe('userpay: an order whose unifiedOrder never answered', () => {
  async function orderWithoutPayment(t: World) {
    const first = await openOrder(t);
    // What a function killed between the insert and savePrepay leaves behind.
    t.ledger.orders.set(first.tradeno, { ...recorded(t, first.tradeno), uniOrder: null });
    return first;
  }

  it("within WeChat's first 5 minutes it cannot be closed: the user is asked to wait", async () => {
    const t = setup();
    const first = await orderWithoutPayment(t);
    t.advance(60_000);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.ORDER_NOT_PAYABLE,
      errmsg: '上一笔订单尚未结束，请稍后再试 (previous order still open)',
    });
    expect(t.pay.count('closeOrder')).toBe(0);
    expect(recorded(t, first.tradeno).status).toBe('pending');
  });

  it('after 5 minutes it is closed at WeChat and a new order opened', async () => {
    const t = setup();
    const first = await orderWithoutPayment(t);
    t.advance(5 * 60_000);
    const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(second).toMatchObject({ tradeno: expect.any(String) });
    expect(second).not.toEqual(first);
    expect(t.pay.count('closeOrder')).toBe(1);
    expect(recorded(t, first.tradeno)).toMatchObject({ status: 'closed' });
  });

  it.each(['SUCCESS', 'REFUND'] as const)(
    'found %s at WeChat: the payment is honoured, unlocked',
    async (state) => {
      const t = setup();
      const first = await orderWithoutPayment(t);
      wechatState(t, first.tradeno, state);
      t.advance(60_000);
      expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
        unlocked: true,
      });
      expect(t.pay.count('closeOrder')).toBe(0);
      expect(t.ledger.orders.size).toBe(1);
    },
  );
});

describe('payexpire', () => {
  it('counts each outcome: paid, closed by WeChat, never seen, closed by us', async () => {
    const t = setup();
    // One expired order per outcome, each for its own user; WeChat Pay's side set per order.
    const atWeChat = ['SUCCESS', 'REFUND', 'CLOSED', 'REVOKED', 'never seen', 'NOTPAY'] as const;
    const orders = [];
    for (const [i, state] of atWeChat.entries()) {
      const reply = await createOrder(
        t.deps,
        { ...ALICE, openid: `o_${i}` },
        { itemId: 'demo-unlock' },
      );
      if (!('tradeno' in reply)) throw new Error('order not placed');
      if (state === 'never seen') t.pay.orders.delete(reply.tradeno);
      else wechatState(t, reply.tradeno, state);
      orders.push(reply.tradeno);
    }
    t.advance(t.deps.config.orderLifetimeMs + 1);
    expect(await expireOrders(t.deps)).toEqual({
      checked: 6,
      paid: 2,
      closed: 3,
      failed: 1,
      deferred: 0,
    });
    expect(orders.map((tradeno) => recorded(t, tradeno).status)).toEqual([
      'paid',
      'paid',
      'closed',
      'closed',
      'failed',
      'closed',
    ]);
    // Only the unpaid one is closed by us; WeChat Pay had already ended the other two.
    expect(t.pay.count('closeOrder')).toBe(1);
    expect(recorded(t, orders[3]).history).toMatchObject([{ to: 'closed', by: 'expire' }]);
  });

  it('WeChat Pay unreachable: deferred to the next run, nothing changed', async () => {
    const t = setup();
    const order = await openOrder(t);
    t.advance(t.deps.config.orderLifetimeMs + 1);
    t.pay.throwNext = 1;
    expect(await expireOrders(t.deps)).toEqual({
      checked: 1,
      paid: 0,
      closed: 0,
      failed: 0,
      deferred: 1,
    });
    expect(recorded(t, order.tradeno).status).toBe('pending');
  });
});

describe('queryOrder answers missing a field', () => {
  function answerWithout(t: World, tradeno: string, field: keyof QueryOrderResult) {
    const order = t.pay.orders.get(tradeno);
    if (!order) throw new Error('not at WeChat Pay');
    const answer: QueryOrderResult = {
      errCode: 0,
      errMsg: 'ok',
      returnCode: 'SUCCESS',
      resultCode: 'SUCCESS',
      subMchId: order.request.subMchId,
      outTradeNo: tradeno,
      tradeState: 'SUCCESS',
      totalFee: order.request.totalFee,
      transactionId: `42000${tradeno}`,
    };
    Reflect.deleteProperty(answer, field);
    jest.spyOn(t.pay, 'queryOrder').mockResolvedValueOnce(answer);
  }

  it('SUCCESS without a transaction id: an anomaly, never paid', async () => {
    const t = setup();
    const order = await openOrder(t);
    answerWithout(t, order.tradeno, 'transactionId');
    expect(await reconcile(t.deps, recorded(t, order.tradeno), 'query')).toBe('SUCCESS');
    expect(t.ledger.anomalies.get(`${order.tradeno}__payment-mismatch`)?.detail).toBe(
      'no transactionId',
    );
    expect(recorded(t, order.tradeno).status).toBe('pending');
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('SUCCESS without the order number: a mismatch on the order we asked about, never paid', async () => {
    const t = setup();
    const order = await openOrder(t);
    answerWithout(t, order.tradeno, 'outTradeNo');
    await reconcile(t.deps, recorded(t, order.tradeno), 'query');
    expect(t.ledger.anomalies.get(`${order.tradeno}__payment-mismatch`)?.detail).toBe(
      `outTradeNo  is not the order's ${order.tradeno}`,
    );
    expect(recorded(t, order.tradeno).status).toBe('pending');
  });

  it('SUCCESS without the merchant: queryOrder answers for the merchant it was asked about', async () => {
    const t = setup();
    const order = await openOrder(t);
    answerWithout(t, order.tradeno, 'subMchId');
    await reconcile(t.deps, recorded(t, order.tradeno), 'query');
    expect(recorded(t, order.tradeno).status).toBe('paid');
  });

  it('no trade state: UNKNOWN, the order left as it is', async () => {
    const t = setup();
    const order = await openOrder(t);
    answerWithout(t, order.tradeno, 'tradeState');
    expect(await reconcile(t.deps, recorded(t, order.tradeno), 'query')).toBe('UNKNOWN');
    expect(recorded(t, order.tradeno).status).toBe('pending');
  });
});

it('queryOrder answering about another order: a mismatch on ours, the other order untouched', async () => {
  const t = setup();
  const ours = await openOrder(t);
  const other = await createOrder(t.deps, BOB, { itemId: 'demo-unlock' });
  if (!('tradeno' in other)) throw new Error('no order');
  const answer = await t.pay.queryOrder({ subMchId: '', outTradeNo: other.tradeno, nonceStr: 'n' });
  jest
    .spyOn(t.pay, 'queryOrder')
    .mockResolvedValueOnce({ ...answer, tradeState: 'SUCCESS', transactionId: 'T' });
  await reconcile(t.deps, recorded(t, ours.tradeno), 'query');
  expect(t.ledger.anomalies.get(`${ours.tradeno}__payment-mismatch`)?.detail).toBe(
    `outTradeNo ${other.tradeno} is not the order's ${ours.tradeno}`,
  );
  expect([recorded(t, ours.tradeno).status, recorded(t, other.tradeno).status]).toEqual([
    'pending',
    'pending',
  ]);
});

describe('userpay: what reaches WeChat Pay, and what the user is told', () => {
  it.each([
    ['no client IP', { openid: 'o_alice', source: 'wx_client' }],
    ['an empty client IP', { ...ALICE, clientIp: '' }],
    ['a client IP that is not a string', { ...ALICE, clientIp: 1234 }],
  ])('%s: unifiedOrder gets 127.0.0.1', async (_what, caller) => {
    const t = setup();
    await createOrder(t.deps, caller, { itemId: 'demo-unlock' });
    expect(t.pay.calls[0].request).toMatchObject({ spbillCreateIp: '127.0.0.1' });
  });

  it('bad input names the function and the field', async () => {
    const t = setup();
    expect(await createOrder(t.deps, ALICE, {})).toEqual({
      errcode: ErrorCodes.INVALID_INPUT,
      errmsg: 'userpay 参数错误: itemId is required',
    });
    expect(await createOrder(t.deps, ALICE, null)).toEqual({
      errcode: ErrorCodes.INVALID_INPUT,
      errmsg: 'userpay 参数错误: expected an object like {itemId}',
    });
    expect(await createOrder(t.deps, { openid: '' }, { itemId: 'demo-unlock' })).toEqual({
      errcode: expect.any(Number),
      errmsg: 'userpay: no caller identity (call it from the mini-program)',
    });
    expect(t.ledger.writes).toBe(0);
  });

  it("unifiedOrder FAIL: the order is failed with WeChat's words, and the user told so", async () => {
    const t = setup();
    t.pay.failNextUnifiedOrder = '商户号该产品权限未开通';
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.PAY_GATEWAY,
      errmsg: '下单失败，请稍后重试 (cloudPay.unifiedOrder failed: 商户号该产品权限未开通)',
    });
    const [order] = t.ledger.orders.values();
    expect(order).toMatchObject({
      status: 'failed',
      uniOrder: { returnCode: 'SUCCESS', resultCode: 'FAIL', errCodeDes: '商户号该产品权限未开通' },
      history: [{ to: 'failed', by: 'userpay' }],
    });
  });

  it('unifiedOrder SUCCESS without payment parameters: failed, nothing the page could pay', async () => {
    const t = setup();
    jest.spyOn(t.pay, 'unifiedOrder').mockResolvedValueOnce({
      errCode: 0,
      errMsg: 'ok',
      returnCode: 'SUCCESS',
      resultCode: 'SUCCESS',
    });
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.PAY_GATEWAY,
      errmsg: '下单失败，请稍后重试 (cloudPay.unifiedOrder failed: no payment in the answer)',
    });
    const [order] = t.ledger.orders.values();
    expect(order).toMatchObject({
      status: 'failed',
      uniOrder: { returnCode: 'SUCCESS', resultCode: 'SUCCESS' },
    });
  });

  it('unifiedOrder unreachable: failed, the network error kept', async () => {
    const t = setup();
    t.pay.throwNext = 1;
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.PAY_GATEWAY,
      errmsg: '下单失败，请稍后重试 (cloudPay.unifiedOrder:fail network)',
    });
    const [order] = t.ledger.orders.values();
    expect(order).toMatchObject({
      status: 'failed',
      uniOrder: { returnCode: 'ERROR', errCodeDes: 'cloudPay.unifiedOrder:fail network' },
    });
  });

  it('the open-order key taken on every attempt: three tries, then the user is asked to retry', async () => {
    const t = setup();
    const insert = jest.spyOn(t.ledger, 'insertOrder').mockResolvedValue('open-order-exists');
    jest.spyOn(t.ledger, 'findOpenOrder').mockResolvedValue(undefined);
    expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.ORDER_NOT_PAYABLE,
      errmsg: '下单冲突，请重试 (concurrent orders)',
    });
    expect(insert).toHaveBeenCalledTimes(3);
    expect(t.pay.count('unifiedOrder')).toBe(0);
  });

  it.each(['SUCCESS', 'REFUND'] as const)(
    'a second tap finds the first order %s at WeChat (callback lost): recorded paid by userpay, unlocked',
    async (state) => {
      const t = setup();
      const first = await openOrder(t);
      wechatState(t, first.tradeno, state);
      expect(await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' })).toEqual({
        unlocked: true,
      });
      expect(recorded(t, first.tradeno).history).toMatchObject([{ to: 'paid', by: 'userpay' }]);
      expect(t.pay.count('unifiedOrder')).toBe(1);
      expect(t.ledger.orders.size).toBe(1);
    },
  );

  it('an order without payment parameters WeChat never saw: failed, not closed, a new order opened', async () => {
    const t = setup();
    const first = await openOrder(t);
    t.ledger.orders.set(first.tradeno, { ...recorded(t, first.tradeno), uniOrder: null });
    t.pay.orders.delete(first.tradeno);
    // Past WeChat's 5 minutes, when closing would be allowed: still nothing to close.
    t.advance(5 * 60_000);
    const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(second).toMatchObject({ tradeno: expect.any(String) });
    expect(second).not.toEqual(first);
    expect(recorded(t, first.tradeno)).toMatchObject({ status: 'failed' });
    expect(t.pay.count('closeOrder')).toBe(0);
  });
});
