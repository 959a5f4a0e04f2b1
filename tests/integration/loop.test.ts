import type { RunningEmulator } from '../../emulator/src';
import {
  control,
  documents,
  invoke,
  placeOrder,
  startProjectEmulator,
  type PlacedOrder,
} from '../support/emulator';

/**
 * The server side of the closed loop with this project's real functions, the real wx-server-sdk
 * and the emulator's CloudPay sandbox: userpay → the payer confirms → userpaynotify → paid, and
 * the same under every callback fault the sandbox can inject.
 */
interface Order {
  _id: string;
  tradeno: string;
  status: string;
  paystatus: number;
  openid: string;
}
interface SandboxOrder {
  tradeState: string;
  callbacks: {
    acknowledged: boolean;
    attempts: { trigger: string; outcome: string; reply?: unknown }[];
  };
}

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startProjectEmulator();
});
afterAll(() => emu.stop());
beforeEach(() => emu.reset());

const order = (user: string): Promise<PlacedOrder> => placeOrder(emu, user);

async function confirm(tradeno: string): Promise<SandboxOrder> {
  return (await control<{ order: SandboxOrder }>(emu, 'POST', `/pay/orders/${tradeno}/confirm`))
    .order;
}

async function sandbox(tradeno: string): Promise<SandboxOrder> {
  return (await control<{ order: SandboxOrder }>(emu, 'GET', `/pay/orders/${tradeno}`)).order;
}

async function stored(tradeno: string): Promise<Order> {
  return (
    await control<{ document: Order }>(emu, 'GET', `/collections/USERPAYLOG/documents/${tradeno}`)
  ).document;
}

async function unlocks(): Promise<{ openid: string; tradeno: string }[]> {
  return documents(emu, 'USERUNLOCK');
}

it('closes the loop: userpay records the order, the callback marks it paid and unlocks once', async () => {
  const { tradeno, docid } = await order('o_alice');
  expect(docid).toBe(tradeno);
  expect(await stored(tradeno)).toMatchObject({
    status: 'pending',
    paystatus: 0,
    openid: 'o_alice',
  });
  const paid = await confirm(tradeno);
  expect(paid.tradeState).toBe('SUCCESS');
  expect(paid.callbacks.acknowledged).toBe(true);
  expect(await stored(tradeno)).toMatchObject({ status: 'paid', paystatus: 1 });
  expect(await unlocks()).toEqual([expect.objectContaining({ openid: 'o_alice', tradeno })]);
  expect(await invoke(emu, 'userpay', { itemId: 'demo-unlock' }, { openid: 'o_alice' })).toEqual({
    unlocked: true,
  });
});

it('a dropped callback is retried 15 s later and then acknowledged', async () => {
  const { tradeno } = await order('o_alice');
  await control(emu, 'POST', '/faults', { pay: { callbacks: [{ action: 'drop', count: 1 }] } });
  await confirm(tradeno);
  expect((await stored(tradeno)).status).toBe('pending');
  await emu.advanceClock(15_000);
  await emu.services.pay.idle();
  expect((await stored(tradeno)).status).toBe('paid');
  const attempts = (await sandbox(tradeno)).callbacks.attempts;
  expect(attempts.map((a) => [a.trigger, a.outcome])).toEqual([
    ['initial', 'dropped'],
    ['retry', 'acknowledged'],
  ]);
  // Once acknowledged, no more retries come however long we wait.
  await emu.advanceClock(24 * 3600_000);
  expect((await sandbox(tradeno)).callbacks.attempts).toHaveLength(2);
});

it('a duplicated callback changes nothing the second time', async () => {
  const { tradeno } = await order('o_alice');
  await control(emu, 'POST', '/faults', {
    pay: { callbacks: [{ action: 'duplicate', count: 1 }] },
  });
  await confirm(tradeno);
  await emu.services.pay.idle();
  const attempts = (await sandbox(tradeno)).callbacks.attempts;
  expect(attempts.filter((a) => a.outcome === 'acknowledged')).toHaveLength(2);
  const paid = await stored(tradeno);
  expect(paid).toMatchObject({ status: 'paid' });
  expect((paid as unknown as { history: unknown[] }).history).toHaveLength(1);
  expect(await unlocks()).toHaveLength(1);
});

it('a delayed callback: the order stays pending until it lands, then is paid', async () => {
  const { tradeno } = await order('o_alice');
  await control(emu, 'POST', '/faults', {
    pay: { callbacks: [{ action: 'delay', count: 1, delayMs: 60_000 }] },
  });
  await confirm(tradeno);
  expect((await stored(tradeno)).status).toBe('pending');
  await emu.advanceClock(60_000);
  await emu.services.pay.idle();
  expect((await stored(tradeno)).status).toBe('paid');
});

it('reordered callbacks for two users each land on their own order', async () => {
  const a = await order('o_alice');
  const b = await order('o_bob');
  await control(emu, 'POST', '/faults', {
    pay: { callbacks: [{ action: 'reorder', count: 2, delayMs: 30_000 }] },
  });
  await control(emu, 'POST', `/pay/orders/${a.tradeno}/confirm`, { wait: false });
  await control(emu, 'POST', `/pay/orders/${b.tradeno}/confirm`, { wait: false });
  await emu.advanceClock(30_000);
  await emu.services.pay.idle();
  expect((await stored(a.tradeno)).status).toBe('paid');
  expect((await stored(b.tradeno)).status).toBe('paid');
  expect((await unlocks()).map((u) => u.openid).sort()).toEqual(['o_alice', 'o_bob']);
});

it('a callback lost for good: payquery reconciles the order for its owner only', async () => {
  const { tradeno, docid } = await order('o_alice');
  await control(emu, 'POST', '/faults', { pay: { callbacks: [{ action: 'lose', count: 1 }] } });
  await confirm(tradeno);
  expect((await stored(tradeno)).status).toBe('pending');
  expect(await invoke(emu, 'payquery', { docid }, { openid: 'o_bob' })).toMatchObject({
    errcode: 40401,
  });
  expect(await invoke(emu, 'payquery', { docid }, { openid: 'o_alice' })).toEqual({
    docid,
    tradeno,
    status: 'paid',
    paystatus: 1,
  });
  expect(await unlocks()).toHaveLength(1);
});

it('a failed database write during the callback is not acknowledged, and the retry records it', async () => {
  const { tradeno } = await order('o_alice');
  await control(emu, 'POST', '/faults', {
    database: { failWrites: { collection: 'USERPAYLOG', count: 1 } },
  });
  await confirm(tradeno);
  const first = (await sandbox(tradeno)).callbacks.attempts;
  expect(first).toEqual([expect.objectContaining({ outcome: 'rejected' })]);
  expect((await stored(tradeno)).status).toBe('pending');
  expect(await unlocks()).toHaveLength(0);
  await emu.advanceClock(15_000);
  await emu.services.pay.idle();
  expect((await stored(tradeno)).status).toBe('paid');
  expect(await unlocks()).toHaveLength(1);
});

it('a callback function that times out is retried until it acknowledges', async () => {
  const { tradeno } = await order('o_alice');
  await control(emu, 'POST', '/faults', {
    functions: { name: 'userpaynotify', mode: 'timeout', count: 2 },
  });
  await confirm(tradeno);
  await emu.advanceClock(15_000);
  await emu.services.pay.idle();
  expect((await stored(tradeno)).status).toBe('pending');
  await emu.advanceClock(15_000);
  await emu.services.pay.idle();
  expect((await stored(tradeno)).status).toBe('paid');
  expect((await sandbox(tradeno)).callbacks.attempts.map((a) => a.outcome)).toEqual([
    'failed',
    'failed',
    'acknowledged',
  ]);
});

it('a forged callback from a mini-program user marks nothing paid', async () => {
  const { tradeno } = await order('o_alice');
  const forged = {
    outTradeNo: tradeno,
    totalFee: 1,
    cashFee: 1,
    subMchId: '1900000109',
    transactionId: '4200000000000000000000000001',
    resultCode: 'SUCCESS',
    returnCode: 'SUCCESS',
  };
  expect(
    await invoke(emu, 'userpaynotify', forged, { openid: 'o_alice', source: 'wx_client' }),
  ).toMatchObject({
    errcode: 40302,
  });
  // Even with the callback's source, an order WeChat Pay has not seen paid stays unpaid.
  const spoofed = await invoke<{ errcode: number }>(emu, 'userpaynotify', forged, {
    source: 'wx_paycallback',
  });
  expect(spoofed.errcode).not.toBe(0);
  expect((await stored(tradeno)).status).toBe('pending');
  expect(await unlocks()).toHaveLength(0);
});

it('a callback with the wrong amount or for an unknown order is recorded, acknowledged, and grants nothing', async () => {
  const { tradeno } = await order('o_alice');
  await control(emu, 'POST', `/pay/orders/${tradeno}/confirm`, { wait: false });
  await emu.services.pay.idle();
  await control(emu, 'POST', '/reset');
  const again = await order('o_alice');
  const event = {
    outTradeNo: again.tradeno,
    totalFee: 100,
    subMchId: '1900000109',
    transactionId: '42',
    resultCode: 'SUCCESS',
    returnCode: 'SUCCESS',
  };
  expect(await invoke(emu, 'userpaynotify', event, { source: 'wx_paycallback' })).toEqual({
    errcode: 0,
    errmsg: 'SUCCESS',
  });
  const unknown = { ...event, outTradeNo: 'CP20261127000000NOSUCHORDER1', totalFee: 1 };
  expect(await invoke(emu, 'userpaynotify', unknown, { source: 'wx_paycallback' })).toEqual({
    errcode: 0,
    errmsg: 'SUCCESS',
  });
  expect((await stored(again.tradeno)).status).toBe('pending');
  const anomalies = await documents<{ kind: string }>(emu, 'PAYANOMALY');
  expect(anomalies.map((a) => a.kind).sort()).toEqual(['callback-mismatch', 'unknown-order']);
  expect(await unlocks()).toHaveLength(0);
});

it('payexpire, on its timer, honours a paid order without callback and closes an unpaid one', async () => {
  const paid = await order('o_alice');
  const unpaid = await order('o_bob');
  await control(emu, 'POST', '/faults', { pay: { callbacks: [{ action: 'lose', count: 1 }] } });
  await confirm(paid.tradeno);
  // Orders live 15 minutes; the timer runs every 5 minutes of emulated time.
  await emu.advanceClock(21 * 60_000);
  expect((await stored(paid.tradeno)).status).toBe('paid');
  expect((await stored(unpaid.tradeno)).status).toBe('closed');
  expect((await sandbox(unpaid.tradeno)).tradeState).toBe('CLOSED');
  expect(await unlocks()).toEqual([expect.objectContaining({ openid: 'o_alice' })]);
});

describe('refunds', () => {
  let refundEmu: RunningEmulator;
  beforeAll(async () => {
    refundEmu = await startProjectEmulator({
      functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: 'o_admin' } },
    });
  });
  afterAll(() => refundEmu.stop());

  it('an administrator refunds; the refund callback confirms by queryRefund and revokes the unlock', async () => {
    const placed = await invoke<{ docid: string; tradeno: string }>(
      refundEmu,
      'userpay',
      { itemId: 'demo-unlock' },
      { openid: 'o_alice' },
    );
    await control(refundEmu, 'POST', `/pay/orders/${placed.tradeno}/confirm`);
    expect(
      await invoke(refundEmu, 'payrefund', { docid: placed.docid }, { openid: 'o_alice' }),
    ).toMatchObject({ errcode: 40301 });
    expect(
      await invoke(refundEmu, 'payrefund', { docid: placed.docid }, { openid: 'o_admin' }),
    ).toMatchObject({
      status: 'refunding',
      outRefundNo: `RF${placed.tradeno}`,
    });
    // A forged refund callback from a user changes nothing.
    expect(
      await invoke(
        refundEmu,
        'payrefundnotify',
        { reqInfo: { outTradeNo: placed.tradeno } },
        { openid: 'o_alice' },
      ),
    ).toMatchObject({ errcode: 40302 });
    // The sandbox settles the refund after 10 s of emulated time, then calls payrefundnotify.
    await refundEmu.advanceClock(10_000);
    await refundEmu.services.pay.idle();
    const order = (
      await control<{ document: Order }>(
        refundEmu,
        'GET',
        `/collections/USERPAYLOG/documents/${placed.tradeno}`,
      )
    ).document;
    expect(order).toMatchObject({ status: 'refunded', paystatus: 1 });
    expect(await documents(refundEmu, 'USERUNLOCK')).toEqual([]);
    // Paying again is possible once refunded: a new order, not the old one.
    const again = await invoke<{ tradeno: string }>(
      refundEmu,
      'userpay',
      { itemId: 'demo-unlock' },
      { openid: 'o_alice' },
    );
    expect(again.tradeno).not.toBe(placed.tradeno);
  });
});
