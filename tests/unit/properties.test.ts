import fc from 'fast-check';
import { loadConfig } from '../../server/config';
import {
  createOrder,
  expireOrders,
  handlePaymentCallback,
  handleRefundCallback,
  queryForUser,
  requestRefund,
  type Caller,
  type PaymentDeps,
} from '../../server/payments';
import { isOrderStatus, paystatusOf } from '../../server/order-state';
import type { OrderRecord } from '../../server/records';
import { newTradeNo, TRADE_NO_PATTERN } from '../../server/trade-no';
import { FakeCloudPay } from './support/fake-pay';
import { MemoryLedger } from './support/memory-ledger';

/** Every stored order must be one the rest of the system can read. */
function malformations(order: OrderRecord): string[] {
  const problems: string[] = [];
  if (order._id !== order.tradeno || !TRADE_NO_PATTERN.test(order.tradeno))
    problems.push('tradeno');
  if (typeof order.openid !== 'string' || !order.openid || order._openid !== order.openid)
    problems.push('openid');
  if (!Number.isInteger(order.totalfee) || order.totalfee < 1) problems.push('totalfee');
  if (!isOrderStatus(order.status) || order.paystatus !== paystatusOf(order.status))
    problems.push('status');
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(order.paytime)) problems.push('paytime');
  if (order.itemId !== 'demo-unlock') problems.push('itemId');
  return problems;
}

/** A reply is either the function's success shape or a clear error. */
function isClearError(reply: unknown): boolean {
  const r = reply as { errcode?: unknown; errmsg?: unknown };
  return (
    typeof r.errcode === 'number' &&
    r.errcode !== 0 &&
    typeof r.errmsg === 'string' &&
    r.errmsg.length > 5
  );
}

const anyEvent = fc.oneof(
  fc.anything(),
  fc.constant({ itemId: 'demo-unlock' }),
  fc.record(
    { itemId: fc.oneof(fc.string(), fc.constant('demo-unlock'), fc.integer()) },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      docid: fc.oneof(fc.string(), fc.constant('CP20261127120000ABCDEFGHJKMN')),
      outTradeNo: fc.oneof(fc.string(), fc.constant('CP20261127120000ABCDEFGHJKMN')),
      totalFee: fc.oneof(fc.integer(), fc.double(), fc.string()),
      subMchId: fc.oneof(fc.string(), fc.constant('1900000109')),
      resultCode: fc.constantFrom('SUCCESS', 'FAIL'),
      returnCode: fc.constantFrom('SUCCESS', 'FAIL'),
      fee: fc.integer(),
    },
    { requiredKeys: [] },
  ),
);

const anyCaller: fc.Arbitrary<Caller> = fc.record({
  openid: fc.oneof(
    { arbitrary: fc.constantFrom('o_alice', 'o_admin'), weight: 3 },
    { arbitrary: fc.oneof(fc.constant(''), fc.integer(), fc.anything()), weight: 1 },
  ),
  clientIp: fc.oneof(fc.ipV4(), fc.anything()),
  source: fc.constantFrom('wx_client', 'wx_paycallback', 'wx_trigger', undefined),
});

function deps(): { deps: PaymentDeps; ledger: MemoryLedger } {
  const ledger = new MemoryLedger();
  const now = () => Date.UTC(2026, 10, 27, 4, 0, 0);
  return {
    ledger,
    deps: {
      ledger,
      pay: new FakeCloudPay(now),
      config: { ...loadConfig({}, {}, false), adminOpenids: ['o_admin'] },
      now,
      nonceStr: () => 'nonce',
      newTradeNo,
    },
  };
}

describe('every function, given arbitrary input', () => {
  it('never throws, answers its own shape or a clear error, and stores only well-formed orders', async () => {
    let ordersSeen = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(4), anyCaller, anyEvent), { maxLength: 8 }),
        async (calls) => {
          const { deps: d, ledger } = deps();
          for (const [which, caller, event] of calls) {
            const reply = await [
              createOrder,
              queryForUser,
              requestRefund,
              handlePaymentCallback,
              handleRefundCallback,
            ][which](d, caller, event);
            const ok =
              isClearError(reply) ||
              (reply as { errcode?: unknown }).errcode === 0 ||
              'docid' in (reply as object) ||
              'unlocked' in (reply as object);
            expect([ok, reply]).toEqual([true, reply]);
          }
          const report = await expireOrders(d);
          // Every order checked ends in exactly one of the four counts.
          expect(report.paid + report.closed + report.failed + report.deferred).toBe(
            report.checked,
          );
          for (const order of ledger.orders.values()) expect(malformations(order)).toEqual([]);
          ordersSeen += ledger.orders.size;
          // Nothing is unlocked without a payment WeChat Pay confirmed.
          expect(ledger.unlocks.size).toBe(0);
        },
      ),
      { numRuns: 300, seed: 20261127 },
    );
    // The generators must reach the paths that write: otherwise this property proves nothing.
    expect(ordersSeen).toBeGreaterThan(20);
  });
});
