import type { RunningEmulator } from '../../emulator/src';
import { openKeyFor } from '../../server/records';
import {
  control,
  documents,
  invoke,
  placeOrder,
  startProjectEmulator,
  type PlacedOrder,
} from '../support/emulator';
import { runWithSdk } from '../support/sdk';

/**
 * The branches that decide money or access, each through this project's real functions, the real
 * wx-server-sdk and the emulator's sandbox made to disagree with the app (emulator/docs/pay.md,
 * "WeChat Pay disagreeing"). Status values are WeChat Pay v2's: queryOrder `trade_state`,
 * `err_code` ORDERNOTEXIST; queryRefund `refund_status_$n` SUCCESS / REFUNDCLOSE / CHANGE
 * (pay.weixin.qq.com/wiki/doc/api/jsapi_sl.php, chapters 9_2 and 9_5). The app's errmsg texts
 * are this project's own (server/, e.g. pay-callback.ts), not the platform's.
 */

interface Order {
  _id: string;
  tradeno: string;
  status: string;
  paystatus: number;
}

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startProjectEmulator({
    functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: 'o_admin' } },
  });
});
afterAll(() => emu.stop());
beforeEach(() => emu.reset());

const order = (user: string): Promise<PlacedOrder> => placeOrder(emu, user);

const faults = (pay: Record<string, unknown>) => control(emu, 'POST', '/faults', { pay });

const confirm = (tradeno: string) => control(emu, 'POST', `/pay/orders/${tradeno}/confirm`);

async function stored(tradeno: string): Promise<Order> {
  return (
    await control<{ document: Order }>(emu, 'GET', `/collections/USERPAYLOG/documents/${tradeno}`)
  ).document;
}

const unlocks = () => documents<{ openid: string; tradeno: string }>(emu, 'USERUNLOCK');
const anomalies = () =>
  documents<{ kind: string; tradeno: string; detail: string }>(emu, 'PAYANOMALY');

/** A paid order for o_alice with her unlock, through the real callback. */
async function paid(): Promise<{ docid: string; tradeno: string }> {
  const placed = await order('o_alice');
  await confirm(placed.tradeno);
  expect(await stored(placed.tradeno)).toMatchObject({ status: 'paid' });
  return placed;
}

/** The refund settles 10 s (emulated) after the request, then payrefundnotify runs. */
async function settleRefunds(): Promise<void> {
  await emu.advanceClock(10_000);
  await emu.services.pay.idle();
}

describe('queryOrder disagreeing with the order: an anomaly, never paid', () => {
  it('the callback matches but queryOrder reports another amount', async () => {
    const { tradeno } = await order('o_alice');
    await faults({ queryOrder: [{ outTradeNo: tradeno, totalFee: 100, count: 20 }] });
    await confirm(tradeno);
    expect(await stored(tradeno)).toMatchObject({ status: 'pending', paystatus: 0 });
    expect(await unlocks()).toEqual([]);
    expect(await anomalies()).toEqual([
      expect.objectContaining({
        tradeno,
        kind: 'payment-mismatch',
        detail: expect.stringContaining("totalFee 100 does not match the order's 1 fen"),
      }),
    ]);
  });

  it('payquery (the callback lost) with another merchant in queryOrder', async () => {
    const { tradeno, docid } = await order('o_alice');
    await faults({
      callbacks: [{ action: 'lose' }],
      queryOrder: [{ outTradeNo: tradeno, subMchId: '1900000999' }],
    });
    await confirm(tradeno);
    expect(await invoke(emu, 'payquery', { docid }, { openid: 'o_alice' })).toMatchObject({
      status: 'pending',
      paystatus: 0,
    });
    expect(await unlocks()).toEqual([]);
    expect((await anomalies()).map((a) => [a.kind, a.detail])).toEqual([
      ['payment-mismatch', expect.stringContaining('subMchId 1900000999 is not our merchant')],
    ]);
  });

  it('a second tap after paying (callback lost) with no transaction id in queryOrder', async () => {
    const { tradeno } = await order('o_alice');
    await faults({
      callbacks: [{ action: 'lose' }],
      queryOrder: [{ outTradeNo: tradeno, transactionId: '' }],
    });
    await confirm(tradeno);
    // Not unlocked on WeChat Pay's word without a transaction, and not told so either.
    const again = await invoke(emu, 'userpay', { itemId: 'demo-unlock' }, { openid: 'o_alice' });
    expect(again).toEqual({
      errcode: 40901,
      errmsg: '支付待核对，请联系客服 (WeChat Pay reports a payment that does not match the order)',
    });
    expect(await stored(tradeno)).toMatchObject({ status: 'pending' });
    expect((await anomalies()).map((a) => a.detail)).toEqual(['no transactionId']);
    expect(await unlocks()).toEqual([]);
  });

  it('payexpire with another amount: the expired order is neither paid nor closed', async () => {
    const { tradeno } = await order('o_alice');
    await faults({
      callbacks: [{ action: 'lose' }],
      queryOrder: [{ outTradeNo: tradeno, totalFee: 2, count: 20 }],
    });
    await confirm(tradeno);
    // Orders live 15 minutes; payexpire runs every 5 minutes of emulated time, each run at its
    // own tick: 20 minutes take the clock through exactly one run after the expiry.
    await emu.advanceClock(20 * 60_000);
    expect(await stored(tradeno)).toMatchObject({ status: 'pending', paystatus: 0 });
    expect(await unlocks()).toEqual([]);
    expect((await anomalies()).map((a) => a.kind)).toEqual(['payment-mismatch']);
  });
});

describe('an order WeChat Pay never saw', () => {
  it('payquery: ORDERNOTEXIST marks it failed, never paid', async () => {
    const { tradeno, docid } = await order('o_alice');
    await faults({ queryOrder: [{ outTradeNo: tradeno, notExist: true }] });
    expect(await invoke(emu, 'payquery', { docid }, { openid: 'o_alice' })).toEqual({
      docid,
      tradeno,
      status: 'failed',
      paystatus: 0,
    });
    expect(await unlocks()).toEqual([]);
  });

  it('a stale order whose unifiedOrder never answered: the next tap fails it and opens a new one', async () => {
    // What userpay leaves when its instance dies between recording the order and WeChat's answer.
    const now = emu.clock.now();
    const tradeno = 'CP20261127000000STALE0000001';
    const stale = {
      _id: tradeno,
      tradeno,
      openid: 'o_alice',
      _openid: 'o_alice',
      itemId: 'demo-unlock',
      body: 'x',
      totalfee: 1,
      paystatus: 0,
      status: 'pending',
      paytime: '2026-11-27 00:00:00',
      createdAt: now,
      expiresAt: now + 15 * 60_000,
      updatedAt: now,
      openKey: openKeyFor('o_alice', 'demo-unlock'),
      uniOrder: null,
      history: [],
    };
    await runWithSdk(
      emu.url,
      `await db.collection('USERPAYLOG').add({ data: ${JSON.stringify(stale)} });`,
    );
    // Within 30 s it may still be in unifiedOrder: the tap is asked to wait.
    expect(
      await invoke(emu, 'userpay', { itemId: 'demo-unlock' }, { openid: 'o_alice' }),
    ).toMatchObject({ errmsg: expect.stringContaining('an order is being created') });
    await emu.advanceClock(31_000);
    const next = await invoke<{ tradeno?: string }>(
      emu,
      'userpay',
      { itemId: 'demo-unlock' },
      { openid: 'o_alice' },
    );
    expect(next.tradeno).toEqual(expect.any(String));
    expect(next.tradeno).not.toBe(tradeno);
    expect(await stored(tradeno)).toMatchObject({ status: 'failed', paystatus: 0 });
  });
});

describe('a second tap after the order was paid', () => {
  it('the callback still on its way: the tap asks queryOrder and answers unlocked, never a new order', async () => {
    const { tradeno } = await order('o_alice');
    await faults({ callbacks: [{ action: 'lose' }] });
    await confirm(tradeno);
    expect(await invoke(emu, 'userpay', { itemId: 'demo-unlock' }, { openid: 'o_alice' })).toEqual({
      unlocked: true,
    });
    expect(await stored(tradeno)).toMatchObject({ status: 'paid', paystatus: 1 });
    expect(await unlocks()).toEqual([expect.objectContaining({ openid: 'o_alice', tradeno })]);
    expect(await documents(emu, 'USERPAYLOG')).toHaveLength(1);
  });
});

describe('refunds that do not end SUCCESS, and refunds outside the app', () => {
  const refund = (docid: string) =>
    invoke<{ status?: string }>(emu, 'payrefund', { docid }, { openid: 'o_admin' });

  it.each(['REFUNDCLOSE', 'CHANGE'])(
    '%s: the order goes back to paid and the unlock stays',
    async (status) => {
      const { tradeno, docid } = await paid();
      await faults({ refunds: [{ status, outTradeNo: tradeno }] });
      expect(await refund(docid)).toMatchObject({ status: 'refunding' });
      await settleRefunds();
      expect(await stored(tradeno)).toMatchObject({ status: 'paid', paystatus: 1 });
      expect(await unlocks()).toEqual([expect.objectContaining({ openid: 'o_alice', tradeno })]);
      const [sandboxRefund] = emu.services.pay.getOrder(tradeno)?.refunds ?? [];
      expect(sandboxRefund?.status).toBe(status);
      expect(sandboxRefund?.callbacks?.acknowledged).toBe(true);
    },
  );

  it('a refund made on the merchant platform reaches payrefundnotify and revokes the unlock', async () => {
    const { tradeno } = await paid();
    await control(emu, 'POST', `/pay/orders/${tradeno}/refund`, {
      functionName: 'payrefundnotify',
    });
    await settleRefunds();
    expect(await stored(tradeno)).toMatchObject({ status: 'refunded', paystatus: 1 });
    expect(await unlocks()).toEqual([]);
  });

  it('several refunds on one order: payrefundnotify decides by ours, not by the first', async () => {
    const { tradeno, docid } = await paid();
    // A refund on the merchant platform that WeChat Pay closed (nothing returned) ...
    await control(emu, 'POST', `/pay/orders/${tradeno}/refund`, {
      status: 'REFUNDCLOSE',
      functionName: 'payrefundnotify',
    });
    await settleRefunds();
    expect(await stored(tradeno)).toMatchObject({ status: 'paid' });
    // ... then ours, which succeeds: queryRefund lists both, the closed one first.
    expect(await refund(docid)).toMatchObject({ status: 'refunding' });
    await settleRefunds();
    const refunds = emu.services.pay.getOrder(tradeno)?.refunds ?? [];
    expect(refunds.map((r) => [r.source, r.status])).toEqual([
      ['VENDOR_PLATFORM', 'REFUNDCLOSE'],
      ['API', 'SUCCESS'],
    ]);
    expect(await stored(tradeno)).toMatchObject({ status: 'refunded' });
    expect(await unlocks()).toEqual([]);
  });

  it('ours closed, then a refund on the merchant platform succeeds: refunded, unlock revoked', async () => {
    const { tradeno, docid } = await paid();
    await faults({ refunds: [{ status: 'REFUNDCLOSE', outTradeNo: tradeno }] });
    expect(await refund(docid)).toMatchObject({ status: 'refunding' });
    await settleRefunds();
    expect(await stored(tradeno)).toMatchObject({ status: 'paid' });
    // The shop refunds by hand instead: queryRefund lists ours (closed) first, then this one.
    await control(emu, 'POST', `/pay/orders/${tradeno}/refund`, {
      functionName: 'payrefundnotify',
    });
    await settleRefunds();
    const refunds = emu.services.pay.getOrder(tradeno)?.refunds ?? [];
    expect(refunds.map((r) => [r.source, r.status])).toEqual([
      ['API', 'REFUNDCLOSE'],
      ['VENDOR_PLATFORM', 'SUCCESS'],
    ]);
    expect(await stored(tradeno)).toMatchObject({ status: 'refunded' });
    expect(await unlocks()).toEqual([]);
  });
});
