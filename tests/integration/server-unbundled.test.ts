import type { RunningEmulator } from '../../emulator/src';
import { control, documents, startProjectEmulator } from '../support/emulator';
import { platformEnv } from '../support/sdk';

/**
 * The server code as TypeScript, unbundled, in this jest process: the production wiring
 * (server/runtime.ts) and ledger (server/cloud-ledger.ts) with the real wx-server-sdk against the
 * emulator. The other integration tiers run the same code as esbuild bundles inside the emulator's
 * function workers, where jest's coverage cannot see it; this file is what makes the coverage
 * report for server/ true, and checks the ledger's transactions against the real SDK.
 */

type Runtime = typeof import('../../server/runtime');
type Payments = typeof import('../../server/payments');

let emu: RunningEmulator;
let runtime: Runtime;
let payments: Payments;
const savedEnv = { ...process.env };

beforeAll(async () => {
  emu = await startProjectEmulator({
    functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: 'o_admin' } },
  });
  // What the platform injects into a function instance; wx-server-sdk reads nothing else. The
  // dynamic env and the caller's context are read per call, so they can change between tests.
  Object.assign(process.env, platformEnv(emu.url, { openid: 'o_alice' }), {
    CLOUDPAY_ADMIN_OPENIDS: 'o_admin',
  });
  runtime = (await import('../../server/runtime')) as Runtime;
  payments = (await import('../../server/payments')) as Payments;
});
afterAll(async () => {
  for (const key of Object.keys(process.env)) {
    if (!(key in savedEnv)) Reflect.deleteProperty(process.env, key);
  }
  Object.assign(process.env, savedEnv);
  await emu.stop();
});
beforeEach(() => emu.reset());

function as(openid: string, source = 'wx_client'): void {
  process.env.WX_OPENID = openid;
  process.env.TCB_SOURCE = source;
}

const stored = async (tradeno: string) =>
  (
    await control<{ document: Record<string, unknown> }>(
      emu,
      'GET',
      `/collections/USERPAYLOG/documents/${tradeno}`,
    )
  ).document;

it('functionMain wires the caller from the platform context, never from the event', async () => {
  as('o_alice');
  expect(runtime.currentCaller()).toMatchObject({ openid: 'o_alice', source: 'wx_client' });
  const main = runtime.functionMain(payments.createOrder);
  const reply = (await main({ itemId: 'demo-unlock', openid: 'o_mallory' })) as Record<
    string,
    unknown
  >;
  // The recipe's `openid` field is refused outright (server/userpay.ts rejectRecipeFields).
  expect(reply).toMatchObject({ errcode: 40001, errmsg: expect.stringContaining('openid') });
  expect(await documents(emu, 'USERPAYLOG')).toEqual([]);
});

it('the whole loop through CloudLedger and the real SDK: order, lost callback, payquery, refund', async () => {
  as('o_alice');
  const userpay = runtime.functionMain(payments.createOrder);
  const placed = (await userpay({ itemId: 'demo-unlock' })) as { docid: string; tradeno: string };
  expect(placed.tradeno).toMatch(/^CP\d{14}[0-9A-Z]{12}$/);
  expect(await stored(placed.tradeno)).toMatchObject({ status: 'pending', _openid: 'o_alice' });
  // A second tap before paying: the same order (CloudLedger.findOpenOrder), no second charge.
  expect(await userpay({ itemId: 'demo-unlock' })).toEqual(placed);

  await control(emu, 'POST', '/faults', { pay: { callbacks: [{ action: 'lose' }] } });
  await control(emu, 'POST', `/pay/orders/${placed.tradeno}/confirm`);
  // payquery reconciles through CloudLedger.apply: paid and unlocked in one transaction.
  await emu.advanceClock(3_000);
  const payquery = runtime.functionMain(payments.queryForUser);
  expect(await payquery({ docid: placed.docid })).toEqual({
    docid: placed.docid,
    tradeno: placed.tradeno,
    status: 'paid',
    paystatus: 1,
  });
  expect(await documents(emu, 'USERUNLOCK')).toEqual([
    expect.objectContaining({ _openid: 'o_alice', itemId: 'demo-unlock', tradeno: placed.tradeno }),
  ]);
  expect(await userpay({ itemId: 'demo-unlock' })).toEqual({ unlocked: true });

  // The refund revokes the unlock when its notification lands, run here unbundled: the sandbox's
  // own notification (to the bundled payrefundnotify) is lost (emulator/docs/pay.md, faults).
  await control(emu, 'POST', '/faults', {
    pay: { callbacks: [{ action: 'lose', kind: 'refund' }] },
  });
  as('o_admin');
  const refund = runtime.functionMain(payments.requestRefund);
  expect(await refund({ docid: placed.docid })).toMatchObject({ status: 'refunding' });
  await emu.advanceClock(10_000);
  expect(await stored(placed.tradeno)).toMatchObject({ status: 'refunding' });
  as('', 'wx_paycallback');
  const refundNotify = runtime.functionMain(payments.handleRefundCallback);
  expect(await refundNotify({ reqInfo: { outTradeNo: placed.tradeno } })).toEqual(payments.ACK);
  expect(await stored(placed.tradeno)).toMatchObject({ status: 'refunded', paystatus: 1 });
  expect(await documents(emu, 'USERUNLOCK')).toEqual([]);
});

it('CloudLedger: anomalies are idempotent; expired pending orders are listed oldest first', async () => {
  const { CloudLedger } = await import('../../server/cloud-ledger');
  const cloud = (await import('wx-server-sdk')).default;
  const ledger = new CloudLedger(cloud.database());
  const anomaly = {
    _id: 'T1__x',
    tradeno: 'T1',
    kind: 'x',
    detail: 'd',
    evidence: {},
    at: 1,
    resolved: false,
  };
  await ledger.recordAnomaly(anomaly);
  await ledger.recordAnomaly({ ...anomaly, detail: 'again' });
  expect(await documents(emu, 'PAYANOMALY')).toEqual([expect.objectContaining({ _id: 'T1__x' })]);

  as('o_alice');
  await runtime.functionMain(payments.createOrder)({ itemId: 'demo-unlock' });
  as('o_bob');
  await emu.advanceClock(1_000);
  await runtime.functionMain(payments.createOrder)({ itemId: 'demo-unlock' });
  const all = await documents<{ tradeno: string; openid: string; expiresAt: number }>(
    emu,
    'USERPAYLOG',
  );
  const latest = Math.max(...all.map((o) => o.expiresAt));
  const listed = await ledger.listExpiredPending(latest + 1, 10);
  expect(listed.map((o) => o.openid)).toEqual(['o_alice', 'o_bob']);
  expect(await ledger.listExpiredPending(latest, 10)).toHaveLength(1);
  expect(await ledger.getOrder('CP20000101000000NOSUCHORDER01')).toBeUndefined();
  expect(await ledger.getUnlock('o_alice', 'demo-unlock')).toBeUndefined();
});
