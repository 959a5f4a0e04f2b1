import {
  ORDER_EVENTS,
  ORDER_STATUSES,
  paymentMismatches,
  paystatusOf,
  transition,
  type OrderEventType,
  type OrderStatus,
} from '../../server/order-state';

// The expected verdict for every (status, event) pair, written out independently of the table:
// `->x` applied to x (with +grant / -revoke), `=` duplicate, `R` rejected, `A` anomaly.
const EXPECTED: Record<OrderStatus, Record<OrderEventType, string>> = {
  pending: {
    PREPAY_FAILED: '->failed',
    PAYMENT_CONFIRMED: '->paid+grant',
    CLOSED: '->closed',
    REFUND_REQUESTED: 'R',
    REFUND_SUCCEEDED: 'A',
    REFUND_FAILED: 'A',
  },
  paid: {
    PREPAY_FAILED: 'R',
    PAYMENT_CONFIRMED: '=',
    CLOSED: 'A',
    REFUND_REQUESTED: '->refunding',
    REFUND_SUCCEEDED: '->refunded-revoke',
    REFUND_FAILED: '=',
  },
  refunding: {
    PREPAY_FAILED: 'R',
    PAYMENT_CONFIRMED: '=',
    CLOSED: 'A',
    REFUND_REQUESTED: '=',
    REFUND_SUCCEEDED: '->refunded-revoke',
    REFUND_FAILED: '->paid',
  },
  refunded: {
    PREPAY_FAILED: 'R',
    PAYMENT_CONFIRMED: '=',
    CLOSED: 'A',
    REFUND_REQUESTED: '=',
    REFUND_SUCCEEDED: '=',
    REFUND_FAILED: 'A',
  },
  closed: {
    PREPAY_FAILED: '=',
    PAYMENT_CONFIRMED: 'A',
    CLOSED: '=',
    REFUND_REQUESTED: 'R',
    REFUND_SUCCEEDED: 'A',
    REFUND_FAILED: 'A',
  },
  failed: {
    PREPAY_FAILED: '=',
    PAYMENT_CONFIRMED: 'A',
    CLOSED: '=',
    REFUND_REQUESTED: 'R',
    REFUND_SUCCEEDED: 'A',
    REFUND_FAILED: 'A',
  },
};

function notation(status: OrderStatus, event: OrderEventType): string {
  const t = transition(status, event);
  switch (t.outcome) {
    case 'applied':
      return `->${t.to}${t.unlock === 'grant' ? '+grant' : t.unlock === 'revoke' ? '-revoke' : ''}`;
    case 'duplicate':
      return '=';
    case 'rejected':
      return 'R';
    case 'anomaly':
      return 'A';
  }
}

describe('order state machine', () => {
  const pairs = ORDER_STATUSES.flatMap((s) => ORDER_EVENTS.map((e) => [s, e] as const));

  it('covers all 36 status/event pairs', () => {
    expect(pairs).toHaveLength(36);
  });

  it.each(pairs)('%s + %s gives the documented verdict', (status, event) => {
    expect(notation(status, event)).toBe(EXPECTED[status][event]);
  });

  it('is idempotent: applying the same event twice changes nothing the second time', () => {
    for (const [status, event] of pairs) {
      const first = transition(status, event);
      if (first.outcome !== 'applied') continue;
      const second = transition(first.to, event);
      expect([second.outcome, event]).toEqual(['duplicate', event]);
    }
  });

  it('grants an unlock only when a pending order is paid, and revokes only on refund', () => {
    const grants = pairs.filter(([s, e]) => {
      const t = transition(s, e);
      return t.outcome === 'applied' && t.unlock === 'grant';
    });
    expect(grants).toEqual([['pending', 'PAYMENT_CONFIRMED']]);
    for (const [s, e] of pairs) {
      const t = transition(s, e);
      if (t.outcome === 'applied' && t.unlock === 'revoke') expect(t.to).toBe('refunded');
    }
  });

  it('never returns to pending, and explains every refusal and anomaly', () => {
    for (const [s, e] of pairs) {
      const t = transition(s, e);
      if (t.outcome === 'applied') expect(t.to).not.toBe('pending');
      if (t.outcome === 'rejected' || t.outcome === 'anomaly')
        expect(t.reason.length).toBeGreaterThan(10);
    }
  });

  it('keeps the recipe paystatus: 1 once money was received', () => {
    expect(ORDER_STATUSES.map((s) => [s, paystatusOf(s)])).toEqual([
      ['pending', 0],
      ['paid', 1],
      ['closed', 0],
      ['failed', 0],
      ['refunding', 1],
      ['refunded', 1],
    ]);
  });
});

describe('paymentMismatches', () => {
  const order = { tradeno: 'CP20261127120000ABCDEFGHJKMN', totalfee: 100 };
  const facts = {
    outTradeNo: order.tradeno,
    totalFee: 100,
    subMchId: '1900000109',
    transactionId: '4200001',
  };

  it('accepts facts that fit the order and our merchant', () => {
    expect(paymentMismatches(order, facts, '1900000109')).toEqual([]);
  });

  it('names each mismatch: amount, merchant, trade number, missing transaction', () => {
    expect(
      paymentMismatches(
        order,
        { outTradeNo: 'CPother', totalFee: 1, subMchId: '1800000001', transactionId: '' },
        '1900000109',
      ),
    ).toEqual([
      "outTradeNo CPother is not the order's CP20261127120000ABCDEFGHJKMN",
      "totalFee 1 does not match the order's 100 fen",
      'subMchId 1800000001 is not our merchant 1900000109',
      'no transactionId',
    ]);
  });
});
