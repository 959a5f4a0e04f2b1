import {
  ACK,
  applyEvent,
  confirmPayment,
  createOrder,
  expireOrders,
  handlePaymentCallback,
  handleRefundCallback,
  queryForUser,
  requestRefund,
} from '../../server/payments';
import { unlockIdFor } from '../../server/records';
import { newTradeNo } from '../../server/trade-no';
import { ADMIN, ALICE, WECHAT, paidOrder, setup } from './support/payment-world';

/**
 * The one path every order event takes (server/order-events.ts applyEvent): the order, its history,
 * the unlock and any anomaly are written together, and what it answers tells each flow what
 * happened. The anomaly kinds, the `by` names and the reasons are this project's own words
 * (records.ts, order-state.ts), read by the shop's staff in PAYANOMALY and the order history.
 */

async function pendingOrder(t: ReturnType<typeof setup>) {
  const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
  if (!('tradeno' in reply)) throw new Error(`no order: ${JSON.stringify(reply)}`);
  const order = t.ledger.orders.get(reply.tradeno);
  if (!order) throw new Error('not recorded');
  return order;
}

function facts(order: { tradeno: string; totalfee: number }, t: ReturnType<typeof setup>) {
  return {
    outTradeNo: order.tradeno,
    totalFee: order.totalfee,
    subMchId: t.deps.config.subMchId,
    transactionId: `42000${order.tradeno}`,
  };
}

describe('applyEvent', () => {
  it('an event for an order we never recorded: an unknown-order anomaly and nothing else', async () => {
    const t = setup();
    const tradeno = newTradeNo(t.deps.now());
    const evidence = { transactionId: 'T1' };
    expect(
      await confirmPayment(
        t.deps,
        tradeno,
        { outTradeNo: tradeno, totalFee: 1, subMchId: 'x', transactionId: 'T1' },
        'callback',
        evidence,
      ),
    ).toBe('anomaly');
    expect([...t.ledger.anomalies.values()]).toEqual([
      {
        _id: `${tradeno}__unknown-order`,
        tradeno,
        kind: 'unknown-order',
        detail: 'PAYMENT_CONFIRMED for an unknown order',
        evidence,
        at: t.deps.now(),
        resolved: false,
      },
    ]);
    expect(t.ledger.orders.size).toBe(0);
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('facts that do not match the order: a payment-mismatch anomaly naming them, the order untouched', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    const reported = { ...facts(order, t), totalFee: order.totalfee + 1 };
    const result = await applyEvent(
      t.deps,
      order.tradeno,
      'PAYMENT_CONFIRMED',
      'callback',
      () => ({ transactionId: reported.transactionId }),
      reported,
      () => ['totalFee differs'],
    );
    expect(result).toEqual({
      outcome: 'anomaly',
      order: expect.objectContaining({ tradeno: order.tradeno, status: 'pending' }),
      reason: 'totalFee differs',
    });
    expect(t.ledger.anomalies.get(`${order.tradeno}__payment-mismatch`)).toMatchObject({
      kind: 'payment-mismatch',
      detail: 'totalFee differs',
      evidence: reported,
    });
    expect(t.ledger.orders.get(order.tradeno)).toEqual(order);
    expect(t.ledger.unlocks.size).toBe(0);
  });

  it('confirmPayment checks the facts: another amount is an anomaly, never paid', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    expect(
      await confirmPayment(t.deps, order.tradeno, { ...facts(order, t), totalFee: 2 }, 'query', {}),
    ).toBe('anomaly');
    expect(t.ledger.anomalies.get(`${order.tradeno}__payment-mismatch`)?.detail).toBe(
      `totalFee 2 does not match the order's ${order.totalfee} fen`,
    );
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('pending');
  });

  it('applied: the order, its history, the released key and the unlock in one write', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    t.advance(1000);
    const now = t.deps.now();
    expect(await confirmPayment(t.deps, order.tradeno, facts(order, t), 'query', {})).toBe(
      'applied',
    );
    expect(t.ledger.orders.get(order.tradeno)).toMatchObject({
      status: 'paid',
      paystatus: 1,
      openKey: order.tradeno,
      updatedAt: now,
      paidAt: now,
      transactionId: `42000${order.tradeno}`,
      history: [{ at: now, from: 'pending', to: 'paid', by: 'query' }],
    });
    expect([...t.ledger.unlocks.values()]).toEqual([
      {
        _id: unlockIdFor(ALICE.openid, 'demo-unlock'),
        openid: ALICE.openid,
        _openid: ALICE.openid,
        itemId: 'demo-unlock',
        tradeno: order.tradeno,
        unlockedAt: now,
      },
    ]);
  });

  it('the same payment confirmed again: duplicate, nothing written', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    expect(await confirmPayment(t.deps, order.tradeno, facts(order, t), 'callback', {})).toBe(
      'applied',
    );
    const writes = t.ledger.writes;
    expect(await confirmPayment(t.deps, order.tradeno, facts(order, t), 'callback', {})).toBe(
      'duplicate',
    );
    expect(t.ledger.writes).toBe(writes);
    expect(t.ledger.orders.get(order.tradeno)?.history).toHaveLength(1);
  });

  it('an event the state machine refuses: rejected with its reason, nothing written', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    const writes = t.ledger.writes;
    const result = await applyEvent(t.deps, order.tradeno, 'REFUND_REQUESTED', 'refund');
    expect(result).toEqual({
      outcome: 'rejected',
      order: expect.objectContaining({ tradeno: order.tradeno, status: 'pending' }),
      reason: 'the order is not paid: there is nothing to refund',
    });
    expect(t.ledger.writes).toBe(writes);
    expect(t.ledger.anomalies.size).toBe(0);
  });

  it('an event that contradicts the order: an anomaly named after the event and the status', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    const evidence = { refundStatus_0: 'SUCCESS' };
    const result = await applyEvent(
      t.deps,
      order.tradeno,
      'REFUND_SUCCEEDED',
      'refundnotify',
      () => ({}),
      evidence,
    );
    const reason = 'a refund succeeded for an order never recorded as paid';
    expect(result).toEqual({
      outcome: 'anomaly',
      order: expect.objectContaining({ status: 'pending' }),
      reason,
    });
    expect([...t.ledger.anomalies.values()]).toEqual([
      {
        _id: `${order.tradeno}__refund_succeeded-when-pending`,
        tradeno: order.tradeno,
        kind: 'refund_succeeded-when-pending',
        detail: reason,
        evidence,
        at: t.deps.now(),
        resolved: false,
      },
    ]);
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('pending');
  });
});

describe('who changed the order: each flow names itself in the history', () => {
  it('callback, refund, refundnotify', async () => {
    const t = setup();
    const order = await paidOrder(t);
    await requestRefund(t.deps, ADMIN, { docid: order.docid });
    t.pay.settleRefund(order.tradeno, 'SUCCESS');
    expect(await handleRefundCallback(t.deps, WECHAT, { outTradeNo: order.tradeno })).toEqual(ACK);
    expect(t.ledger.orders.get(order.tradeno)?.history.map((h) => [h.to, h.by])).toEqual([
      ['paid', 'callback'],
      ['refunding', 'refund'],
      ['refunded', 'refundnotify'],
    ]);
  });

  it('query', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    t.pay.pay(order.tradeno);
    await queryForUser(t.deps, ALICE, { docid: order.tradeno });
    expect(t.ledger.orders.get(order.tradeno)?.history.map((h) => h.by)).toEqual(['query']);
  });

  it('expire', async () => {
    const t = setup();
    const unpaid = await pendingOrder(t);
    t.advance(t.deps.config.orderLifetimeMs + 1);
    expect(await expireOrders(t.deps)).toMatchObject({ closed: 1 });
    expect(t.ledger.orders.get(unpaid.tradeno)?.history).toEqual([
      { at: t.deps.now(), from: 'pending', to: 'closed', by: 'expire' },
    ]);
    expect(t.ledger.orders.get(unpaid.tradeno)?.closedAt).toBe(t.deps.now());
  });

  it('userpay, when a tap finds the previous order stale', async () => {
    const t = setup();
    const first = await pendingOrder(t);
    t.advance(t.deps.config.orderLifetimeMs);
    const second = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
    expect(second).toMatchObject({ tradeno: expect.not.stringMatching(first.tradeno) });
    expect(t.ledger.orders.get(first.tradeno)?.history.map((h) => [h.to, h.by])).toEqual([
      ['closed', 'userpay'],
    ]);
  });

  it('the callback: facts sent with the event must match before anything is asked', async () => {
    const t = setup();
    const order = await pendingOrder(t);
    t.pay.pay(order.tradeno);
    const event = t.pay.callbackEvent(order.tradeno, { subMchId: 'someone-else' });
    expect(await handlePaymentCallback(t.deps, WECHAT, event)).toEqual(ACK);
    expect(t.ledger.anomalies.get(`${order.tradeno}__callback-mismatch`)?.detail).toBe(
      `subMchId someone-else is not our merchant ${t.deps.config.subMchId}`,
    );
    expect(t.pay.count('queryOrder')).toBe(0);
    expect(t.ledger.orders.get(order.tradeno)?.status).toBe('pending');
  });
});
