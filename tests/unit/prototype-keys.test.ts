import { loadConfig } from '../../server/config';
import { getCatalog, getContent, type ContentStore } from '../../server/content';
import { ErrorCodes } from '../../server/errors';
import {
  createOrder,
  handlePaymentCallback,
  handleRefundCallback,
  queryForUser,
  requestRefund,
} from '../../server/payments';
import { MemoryLedger } from './support/memory-ledger';
import { ADMIN, ALICE, WECHAT, setup } from './support/payment-world';

/**
 * Names every plain JavaScript object inherits. A lookup like `catalog[itemId]` finds them on
 * Object.prototype, so `itemId: "constructor"` used to be taken for a catalog item and wrote a
 * junk failed order. Every public input is tried with each: a clear error, nothing written.
 */
const PROTOTYPE_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

/** Events whose own field names are prototype keys (JSON.parse makes `__proto__` an own key). */
const PROTOTYPE_FIELD_EVENTS: unknown[] = [
  JSON.parse('{"__proto__": {"itemId": "demo-unlock"}}'),
  JSON.parse('{"constructor": "demo-unlock"}'),
  JSON.parse('{"toString": "x", "hasOwnProperty": "y"}'),
];

function nothingWritten(t: ReturnType<typeof setup>) {
  expect(t.ledger.writes).toBe(0);
  expect(t.ledger.orders.size).toBe(0);
  expect(t.ledger.unlocks.size).toBe(0);
  expect(t.pay.calls).toHaveLength(0);
}

describe.each(PROTOTYPE_KEYS)('the prototype key %s as a value', (key) => {
  it('userpay: unknown item, no order written, WeChat Pay not asked', async () => {
    const t = setup();
    expect(await createOrder(t.deps, ALICE, { itemId: key })).toMatchObject({
      errcode: expect.any(Number),
      errmsg: expect.stringMatching(/userpay.*itemId/),
    });
    nothingWritten(t);
  });

  it('payquery and payrefund: refused (invalid docid or no such order)', async () => {
    const t = setup();
    // Some of these names fit the docid pattern; they are then simply orders that do not exist.
    const refused = { errcode: expect.any(Number), errmsg: expect.any(String) };
    const query = await queryForUser(t.deps, ALICE, { docid: key });
    expect(query).toMatchObject(refused);
    expect(query).not.toHaveProperty('errcode', 0);
    expect(JSON.stringify(query)).toMatch(/payquery.*(docid|no order)/);
    const refund = await requestRefund(t.deps, ADMIN, { docid: key });
    expect(refund).toMatchObject(refused);
    expect(refund).not.toHaveProperty('errcode', 0);
    expect(JSON.stringify(refund)).toMatch(/payrefund.*(docid|no order)/);
    nothingWritten(t);
  });

  it('userpaynotify and payrefundnotify: no order or unlock appears', async () => {
    const t = setup();
    await handlePaymentCallback(t.deps, WECHAT, {
      outTradeNo: key,
      returnCode: 'SUCCESS',
      resultCode: 'SUCCESS',
    });
    await handleRefundCallback(t.deps, WECHAT, { outTradeNo: key, refundStatus: 'SUCCESS' });
    expect(t.ledger.orders.size).toBe(0);
    expect(t.ledger.unlocks.size).toBe(0);
    // A malformed callback is recorded as an anomaly by design, never under the key itself.
    expect([...t.ledger.anomalies.values()].map((a) => a._id)).not.toContain(key);
  });

  it('getcontent: unknown item, no content read, no URL made', async () => {
    const ledger = new MemoryLedger();
    const asked: string[] = [];
    const content: ContentStore = {
      getContent: async (id) => {
        asked.push(id);
        return undefined;
      },
      tempUrls: async (ids) => {
        asked.push(...ids);
        return new Map();
      },
    };
    const deps = { ledger, content, config: loadConfig({}, {}, false), now: () => 0 };
    expect(await getContent(deps, ALICE, { itemId: key })).toMatchObject({
      errcode: expect.any(Number),
      errmsg: expect.stringMatching(/getcontent.*itemId/),
    });
    expect(asked).toEqual([]);
  });
});

describe.each(PROTOTYPE_FIELD_EVENTS)('an event with prototype-named fields %j', (event) => {
  it('is refused by every function taking an event, nothing written', async () => {
    const t = setup();
    for (const reply of [
      await createOrder(t.deps, ALICE, event),
      await queryForUser(t.deps, ALICE, event),
      await requestRefund(t.deps, ADMIN, event),
    ]) {
      expect(reply).toMatchObject({
        errcode: ErrorCodes.INVALID_INPUT,
        errmsg: expect.stringMatching(/unknown field|required/),
      });
    }
    nothingWritten(t);
    const deps = {
      ledger: t.ledger,
      content: { getContent: async () => undefined, tempUrls: async () => new Map() },
      config: loadConfig({}, {}, false),
      now: () => 0,
    };
    for (const reply of [
      await getContent(deps, ALICE, event),
      await getCatalog(deps, ALICE, event),
    ]) {
      expect(reply).toMatchObject({ errcode: ErrorCodes.INVALID_INPUT });
    }
  });
});
