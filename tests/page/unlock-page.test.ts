// The unlock page end to end: rendered with miniprogram-simulate, its global `wx` from createWx,
// against a real emulator running this project's functions (real wx-server-sdk) and CloudPay
// sandbox. No test double: a tap runs userpay, the sandbox pay sheet is decided by `decide`,
// WeChat Pay's callback runs userpaynotify, and the page learns the outcome from the database
// (the watch, or payquery when the watch is silent or unavailable).
//
// Real timers: the page waits on network answers, so tests wait (bounded) for what the page
// shows. The fallback delays are shortened through the shared config (see support/page.ts).

import { config } from '../../miniprogram/config';
import { messages } from '../../miniprogram/services/messages';
import type { PayDecision } from '../../emulator/src/client';
import { startEmulatorProcess, until, type EmulatorProcess } from './support/emulator';
import { openUnlockPage, type UnlockPage } from './support/page';

let emu: EmulatorProcess;
let page: UnlockPage | null = null;
let userSeq = 0;
const saved = { ...config };

beforeAll(async () => {
  emu = await startEmulatorProcess();
  // Short fallbacks keep the suite fast; the flow is the same.
  config.confirmFallbackMs = 300;
  config.payqueryBackoffMs = [0, 200, 400, 800];
});
afterAll(async () => {
  Object.assign(config, saved);
  await emu?.stop();
});
afterEach(async () => {
  page?.unload();
  page = null;
  await emu.control('POST', '/reset');
});

/** A fresh user per test: payquery is rate limited per user, and orders stay apart. */
function nextUser(): string {
  userSeq += 1;
  return `o-page-user-${userSeq}`;
}

async function open(
  decide: PayDecision | (() => PayDecision) | undefined,
  options: { platform?: 'devtools' | 'ios' | 'android'; openid?: string } = {},
): Promise<{ page: UnlockPage; openid: string }> {
  const openid = options.openid ?? nextUser();
  const wx = emu.wx(openid, {
    ...(decide === undefined
      ? {}
      : { decide: typeof decide === 'function' ? decide : () => decide }),
    ...(options.platform ? { platform: options.platform } : {}),
  });
  page = openUnlockPage(wx);
  const p = page;
  await until(() => p.status() !== 'loading', 'the page to load');
  return { page: p, openid };
}

interface StoredOrder {
  _openid: string;
  paystatus: number;
  status: string;
  tradeno: string;
}
async function orders(openid: string): Promise<StoredOrder[]> {
  const { documents } = await emu.control<{ documents: StoredOrder[] }>(
    'GET',
    '/collections/USERPAYLOG/documents',
  );
  return documents.filter((d) => d._openid === openid);
}
async function unlocks(openid: string): Promise<unknown[]> {
  const { documents } = await emu.control<{ documents: { _openid: string }[] }>(
    'GET',
    '/collections/USERUNLOCK/documents',
  );
  return documents.filter((d) => d._openid === openid);
}

test('tap pay → the sandbox confirms → the callback lands → the page shows unlocked', async () => {
  const { page: p, openid } = await open('confirm');
  expect(p.status()).toBe('locked');
  expect(p.payButtonText()).toBe('付费解锁 ¥0.01');
  expect(p.hasContent()).toBe(false);

  p.tapPay();
  await until(() => p.status() === 'unlocked', 'the page to unlock');
  expect(p.hasContent()).toBe(true);
  expect(p.hasPayButton()).toBe(false);
  expect(p.message()).toBe(messages.unlocked);

  // The server, not the page, decided: the order is paid and the unlock recorded, once.
  const [order] = await orders(openid);
  expect(order).toMatchObject({ paystatus: 1, status: 'paid' });
  expect(await unlocks(openid)).toHaveLength(1);
  const { order: sandbox } = await emu.control<{ order: { tradeState: string } }>(
    'GET',
    `/pay/orders/${order.tradeno}`,
  );
  expect(sandbox.tradeState).toBe('SUCCESS');
});

test('a reopened page shows the unlock bought earlier, with no pay button', async () => {
  const { page: first, openid } = await open('confirm');
  first.tapPay();
  await until(() => first.status() === 'unlocked', 'the first page to unlock');
  first.unload();
  page = null;

  const { page: again } = await open(undefined, { openid });
  expect(again.status()).toBe('unlocked');
  expect(again.hasPayButton()).toBe(false);
  expect(await orders(openid)).toHaveLength(1);
});

test('a cancelled pay sheet says so and leaves the order unpaid', async () => {
  const { page: p, openid } = await open('cancel');
  p.tapPay();
  await until(() => p.message() === messages.cancelled, 'the cancel message');
  expect(p.status()).toBe('locked');
  expect(p.hasPayButton()).toBe(true);
  expect(await orders(openid)).toEqual([
    expect.objectContaining({ paystatus: 0, status: 'pending' }),
  ]);
  expect(await unlocks(openid)).toHaveLength(0);
});

test('a failed payment says so, distinct from a cancel, and a retry can succeed', async () => {
  let decision: PayDecision = 'fail';
  const { page: p, openid } = await open(() => decision);
  p.tapPay();
  await until(() => p.message() === '支付失败，请重试', 'the failure message');
  expect(p.status()).toBe('locked');
  expect(await unlocks(openid)).toHaveLength(0);

  decision = 'confirm';
  p.tapPay();
  await until(() => p.status() === 'unlocked', 'the retry to unlock');
  // The retry paid the same pending order rather than charging a second one.
  expect(await orders(openid)).toEqual([expect.objectContaining({ paystatus: 1 })]);
});

test('a reopened page with a pending order paid meanwhile (callback lost): payquery unlocks it on load', async () => {
  const openid = nextUser();
  // The user paid on an earlier visit and left before anything confirmed; WeChat Pay's
  // notification is lost for good, so only the page's own payquery on load can find out.
  await emu.control('POST', '/faults', { pay: { callbacks: [{ action: 'lose' }] } });
  const { result } = await emu.control<{ result: { tradeno: string } }>(
    'POST',
    '/functions/userpay/invoke',
    { data: { itemId: 'demo-unlock' }, openid },
  );
  await emu.control('POST', `/pay/orders/${result.tradeno}/confirm`);
  expect(await orders(openid)).toEqual([expect.objectContaining({ status: 'pending' })]);

  const { page: p } = await open(undefined, { openid });
  await until(() => p.status() === 'unlocked', 'payquery on load to unlock');
  expect(p.hasPayButton()).toBe(false);
  expect(await orders(openid)).toEqual([
    expect.objectContaining({ status: 'paid', paystatus: 1, tradeno: result.tradeno }),
  ]);
  expect(await unlocks(openid)).toHaveLength(1);
});

test('a late callback: the page confirms through payquery, and the late delivery changes nothing', async () => {
  // WeChat Pay holds the notification for a minute of emulated time.
  await emu.control('POST', '/faults', {
    pay: { callbacks: [{ action: 'delay', delayMs: 60_000 }] },
  });
  const { page: p, openid } = await open('confirm');
  p.tapPay();
  await until(() => p.status() === 'unlocked', 'payquery to confirm the payment');
  const [order] = await orders(openid);
  expect(order).toMatchObject({ paystatus: 1, status: 'paid' });
  let sandbox = (
    await emu.control<{ order: { callbacks: { attempts: unknown[] } } }>(
      'GET',
      `/pay/orders/${order.tradeno}`,
    )
  ).order;
  expect(sandbox.callbacks.attempts).toHaveLength(0);

  // The callback finally arrives: acknowledged, idempotent.
  await emu.control('POST', '/clock/advance', { ms: 61_000 });
  sandbox = (
    await emu.control<{ order: { callbacks: { attempts: unknown[]; acknowledged: boolean } } }>(
      'GET',
      `/pay/orders/${order.tradeno}`,
    )
  ).order;
  expect(sandbox.callbacks).toMatchObject({ acknowledged: true });
  expect(await unlocks(openid)).toHaveLength(1);
  expect(p.status()).toBe('unlocked');
});

test('iOS shows the virtual goods notice instead of the pay button', async () => {
  const { page: p } = await open('confirm', { platform: 'ios' });
  expect(p.status()).toBe('unsupported');
  expect(p.hasPayButton()).toBe(false);
  expect(p.message()).toBe(messages.unsupported);
});
