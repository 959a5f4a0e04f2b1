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

  it('the expected table above names every status and event the module has, no more', () => {
    // Checked against the module's own lists, so a new status or event cannot go untested.
    expect(Object.keys(EXPECTED).sort()).toEqual([...ORDER_STATUSES].sort());
    for (const status of ORDER_STATUSES) {
      expect([status, Object.keys(EXPECTED[status]).sort()]).toEqual([
        status,
        [...ORDER_EVENTS].sort(),
      ]);
    }
  });

  it.each(pairs)('%s + %s gives the documented verdict', (status, event) => {
    expect(notation(status, event)).toBe(EXPECTED[status][event]);
  });

  const verdicts = pairs.map(([status, event]) => ({
    status,
    event,
    t: transition(status, event),
  }));

  it('is idempotent: applying the same event twice changes nothing the second time', () => {
    const applied = verdicts.flatMap(({ event, t }) =>
      t.outcome === 'applied' ? [{ event, to: t.to }] : [],
    );
    // As many as the table above has applied (->) entries.
    expect(applied).toHaveLength(pairs.filter(([s, e]) => EXPECTED[s][e].startsWith('->')).length);
    expect(applied.map(({ event, to }) => [event, transition(to, event).outcome])).toEqual(
      applied.map(({ event }) => [event, 'duplicate']),
    );
  });

  it('grants an unlock only when a pending order is paid, and revokes only on refund', () => {
    const effect = (unlock: string) =>
      verdicts
        .filter(({ t }) => t.outcome === 'applied' && t.unlock === unlock)
        .map(({ status, event, t }) => [status, event, t.outcome === 'applied' ? t.to : '']);
    expect(effect('grant')).toEqual([['pending', 'PAYMENT_CONFIRMED', 'paid']]);
    expect(effect('revoke')).toEqual([
      ['paid', 'REFUND_SUCCEEDED', 'refunded'],
      ['refunding', 'REFUND_SUCCEEDED', 'refunded'],
    ]);
  });

  it('never returns to pending, and explains every refusal and anomaly', () => {
    const targets = verdicts.flatMap(({ t }) => (t.outcome === 'applied' ? [t.to] : []));
    expect(targets).not.toContain('pending');
    const reasons = verdicts.flatMap(({ t }) =>
      t.outcome === 'rejected' || t.outcome === 'anomaly' ? [t.reason] : [],
    );
    // As many as the table above has R and A entries.
    const refusals = pairs.filter(([s, e]) => ['R', 'A'].includes(EXPECTED[s][e]));
    expect(reasons).toHaveLength(refusals.length);
    expect(reasons.filter((r) => r.length <= 10)).toEqual([]);
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
