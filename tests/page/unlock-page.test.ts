// The unlock page, rendered with miniprogram-simulate against a test double of its backend.
// Timers are jest's fake ones: the fallback delays are crossed by advancing the fake clock, never
// by waiting, and `jest.getTimerCount()` proves that nothing is left running.

import { config } from '../../miniprogram/config';
import { messages } from '../../miniprogram/services/messages';
import { createFakeCloud, PageBackend } from './support/fake-cloud';
import { openUnlockPage, UnlockPage } from './support/page';

/** Lets pending promises (cloud answers, watch events) run, without moving the clock. */
const settle = () => jest.advanceTimersByTimeAsync(0);

let backend: PageBackend;
let page: UnlockPage | null;

beforeEach(() => {
  jest.useFakeTimers();
  backend = createFakeCloud();
  page = null;
});

afterEach(() => {
  page?.unload();
  jest.useRealTimers();
});

async function open(query: Record<string, string> = {}): Promise<UnlockPage> {
  page = openUnlockPage(backend, query);
  await settle();
  return page;
}

describe('paying', () => {
  test('locked → paying → confirming → unlocked when the watch sees paystatus 1', async () => {
    backend.setPaySheet('open');
    const p = await open();
    expect(p.status()).toBe('locked');
    expect(p.payButtonText()).toBe('付费解锁 ¥0.01');
    expect(p.hasContent()).toBe(false);

    p.tapPay();
    await settle();
    expect(p.status()).toBe('paying');
    expect(p.hasPayButton()).toBe(true);
    expect(p.payButtonText()).toBe('支付中… ¥0.01');

    await backend.endPaySheet('confirm');
    await settle();
    // requestPayment said ok, but that is not proof: the callback has not landed yet.
    expect(p.status()).toBe('confirming');
    expect(p.message()).toBe(messages.confirming);
    expect(backend.openWatchCount()).toBe(1);

    backend.deliverCallbacks();
    await settle();
    expect(p.status()).toBe('unlocked');
    expect(p.hasContent()).toBe(true);
    expect(p.hasPayButton()).toBe(false);
    expect(p.message()).toBe(messages.unlocked);
    // Closed once paid (the recipe leaked it), and no fallback timer left behind.
    expect(backend.openWatchCount()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    expect(backend.callCount('payquery')).toBe(0);
  });

  test('watches its own order before opening the pay sheet', async () => {
    const p = await open();
    p.tapPay();
    await settle();
    const log = backend.interactions();
    expect(log).toContain('call userpay {"itemId":"demo-unlock"}');
    expect(log.indexOf('watch USERPAYLOG')).toBeGreaterThan(
      log.indexOf('call userpay {"itemId":"demo-unlock"}'),
    );
    expect(log.indexOf('watch USERPAYLOG')).toBeLessThan(log.indexOf('requestPayment'));
  });

  test('a callback that lands before requestPayment resolves unlocks directly', async () => {
    backend.setCallbackDelivery('immediate');
    const p = await open();
    p.tapPay();
    await settle();
    expect(p.status()).toBe('unlocked');
    expect(backend.openWatchCount()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('the item comes from the page query when given', async () => {
    const p = await open({ itemId: 'chapter-2' });
    p.tapPay();
    await settle();
    expect(backend.interactions()).toContain('call userpay {"itemId":"chapter-2"}');
  });

  test('a second tap while paying is ignored', async () => {
    backend.setPaySheet('open');
    const p = await open();
    p.tapPay();
    p.tapPay(); // before the first tap's userpay answered
    await settle();
    p.tapPay(); // while the pay sheet is open
    await settle();
    await backend.endPaySheet('confirm');
    await settle();
    expect(p.status()).toBe('confirming');
    p.tapPay(); // while confirming
    await settle();
    expect(backend.callCount('userpay')).toBe(1);
    expect(backend.watchesOpened()).toBe(1);
    expect(backend.interactions().filter((l) => l === 'requestPayment')).toHaveLength(1);
  });
});

describe('when paying does not go through', () => {
  test('a cancelled pay sheet says so, goes back to locked and closes the watch', async () => {
    backend.setPaySheet('cancel');
    const p = await open();
    p.tapPay();
    await settle();
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe('支付已取消');
    expect(p.hasPayButton()).toBe(true);
    expect(backend.openWatchCount()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a failed payment says so, distinct from a cancel, and can be retried', async () => {
    backend.setPaySheet('fail');
    const p = await open();
    p.tapPay();
    await settle();
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe('支付失败，请重试');
    expect(p.message()).not.toBe(messages.cancelled);
    expect(backend.openWatchCount()).toBe(0);

    backend.setPaySheet('confirm');
    backend.setCallbackDelivery('immediate');
    p.tapPay();
    await settle();
    expect(p.status()).toBe('unlocked');
  });

  test('a platform failure of userpay (network, crash) shows the server message', async () => {
    const p = await open();
    backend.setNetworkDown(true);
    p.tapPay();
    await settle();
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe('服务器繁忙，请稍后重试');
    expect(backend.watchesOpened()).toBe(0);
  });

  test('a server error from userpay shows the server message with its code; no payment starts', async () => {
    backend.failUserpay(50001, 'cloudPay.unifiedOrder failed');
    const p = await open();
    p.tapPay();
    await settle();
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe('服务器繁忙，请稍后重试（错误码 50001）');
    expect(backend.interactions()).not.toContain('requestPayment');
    expect(backend.watchesOpened()).toBe(0);
  });

  test('userpay answering {unlocked:true} unlocks without paying', async () => {
    const p = await open();
    backend.grantUnlock('demo-unlock'); // bought elsewhere after the page loaded
    p.tapPay();
    await settle();
    expect(p.status()).toBe('unlocked');
    expect(backend.interactions()).not.toContain('requestPayment');
  });
});

describe('on load', () => {
  test('an existing unlock record shows the content at once, with no pay button', async () => {
    backend.grantUnlock('demo-unlock');
    const p = await open();
    expect(p.status()).toBe('unlocked');
    expect(p.hasContent()).toBe(true);
    expect(p.hasPayButton()).toBe(false);
    expect(backend.callCount('userpay')).toBe(0);
  });

  test('a pending order paid during an earlier visit is reconciled with payquery', async () => {
    const docid = backend.addPendingOrder('demo-unlock', { paidAtWeChat: true });
    const p = await open();
    expect(backend.interactions()).toContain(`call payquery {"docid":"${docid}"}`);
    expect(p.status()).toBe('unlocked');
    expect(backend.order(docid)?.paystatus).toBe(1);
  });

  test('a pending order that was never paid leaves the page locked', async () => {
    backend.addPendingOrder('demo-unlock', { paidAtWeChat: false });
    const p = await open();
    expect(backend.callCount('payquery')).toBe(1);
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe('');
  });

  test('a failed load says so and still offers pay (userpay refuses to charge twice)', async () => {
    backend.setNetworkDown(true);
    const p = await open();
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe('加载失败，请检查网络后重试');
    expect(p.hasPayButton()).toBe(true);
  });
});

describe('fallbacks', () => {
  test('asks payquery when the watch stays silent past the configured delay', async () => {
    backend.setCallbackDelivery('dropped');
    const p = await open();
    p.tapPay();
    await settle();
    expect(p.status()).toBe('confirming');

    await jest.advanceTimersByTimeAsync(config.confirmFallbackMs - 1);
    expect(backend.callCount('payquery')).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(backend.callCount('payquery')).toBe(1);
    expect(p.status()).toBe('unlocked');
    expect(backend.openWatchCount()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('payquery is retried with backoff a bounded number of times, then the page says so', async () => {
    backend.setPaySheet('processing');
    const p = await open();
    p.tapPay();
    await settle();
    await jest.advanceTimersByTimeAsync(60 * 1000);
    expect(backend.callCount('payquery')).toBe(config.payqueryBackoffMs.length);
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe(messages.unconfirmed);
    expect(jest.getTimerCount()).toBe(0);

    // Nothing more is asked however long the user stays.
    await jest.advanceTimersByTimeAsync(10 * 60 * 1000);
    expect(backend.callCount('payquery')).toBe(config.payqueryBackoffMs.length);
  });

  test('a late callback after giving up still unlocks: the watch stays open until then', async () => {
    backend.setPaySheet('processing');
    const p = await open();
    p.tapPay();
    await settle();
    await jest.advanceTimersByTimeAsync(60 * 1000);
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe(messages.unconfirmed);
    expect(backend.openWatchCount()).toBe(1);

    backend.completeProcessingPayments();
    await settle();
    expect(p.status()).toBe('unlocked');
    expect(backend.openWatchCount()).toBe(0);
  });

  test('after giving up, unload closes the still-open watch', async () => {
    backend.setPaySheet('processing');
    const p = await open();
    p.tapPay();
    await settle();
    await jest.advanceTimersByTimeAsync(60 * 1000);
    expect(backend.openWatchCount()).toBe(1);
    p.unload();
    page = null;
    expect(backend.openWatchCount()).toBe(0);
  });

  test('a watch error falls back to payquery at once and re-opens the watch once', async () => {
    backend.setCallbackDelivery('dropped');
    backend.setPaySheet('processing'); // WeChat Pay has not recorded it yet: payquery sees pending
    const p = await open();
    p.tapPay();
    await settle();
    expect(p.status()).toBe('confirming');

    backend.breakWatches(new Error('socket closed'));
    await settle();
    expect(backend.callCount('payquery')).toBe(1); // without waiting for the 3 s fallback
    expect(backend.watchesOpened()).toBe(2);
    expect(backend.openWatchCount()).toBe(1);

    // The re-opened watch fails too: no third watch; polling alone carries on, bounded.
    backend.breakWatches(new Error('socket closed again'));
    await jest.advanceTimersByTimeAsync(60 * 1000);
    expect(backend.watchesOpened()).toBe(2);
    expect(backend.callCount('payquery')).toBe(config.payqueryBackoffMs.length);
    expect(p.message()).toBe(messages.unconfirmed);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a watch error while confirming still reaches unlocked through payquery', async () => {
    backend.setCallbackDelivery('dropped');
    const p = await open();
    p.tapPay();
    await settle();
    backend.breakWatches(new Error('socket closed'));
    await settle();
    expect(p.status()).toBe('unlocked');
    expect(backend.openWatchCount()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('an order closed while confirming says so and stops asking', async () => {
    backend.setPaySheet('processing');
    const p = await open();
    p.tapPay();
    await settle();
    backend.expireOrders();
    await settle();
    expect(p.status()).toBe('locked');
    expect(p.message()).toBe('订单已关闭，请重新支付');
    expect(backend.openWatchCount()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(60 * 1000);
    expect(backend.callCount('payquery')).toBe(0);
  });
});

describe('leaving the page', () => {
  test('unload while confirming closes the watch and stops every timer', async () => {
    backend.setCallbackDelivery('held');
    const p = await open();
    p.tapPay();
    await settle();
    expect(p.status()).toBe('confirming');
    expect(jest.getTimerCount()).toBe(1); // the payquery fallback
    expect(backend.openWatchCount()).toBe(1);

    p.unload();
    page = null;
    expect(backend.openWatchCount()).toBe(0);
    expect(jest.getTimerCount()).toBe(0);

    // Nothing the backend does afterwards reaches the page.
    backend.deliverCallbacks();
    await jest.advanceTimersByTimeAsync(60 * 1000);
    expect(backend.callCount('payquery')).toBe(0);
  });
});

describe('iOS', () => {
  test('shows the virtual goods notice instead of the pay button by default', async () => {
    backend.setPlatform('ios');
    const p = await open();
    expect(p.status()).toBe('unsupported');
    expect(p.hasPayButton()).toBe(false);
    expect(p.message()).toBe(messages.unsupported);
    expect(p.message()).toContain('iOS');
  });

  test('still shows an unlock bought elsewhere', async () => {
    backend.setPlatform('ios');
    backend.grantUnlock('demo-unlock');
    const p = await open();
    expect(p.status()).toBe('unlocked');
  });

  test("offers payment when config.iosPolicy is 'allow'", async () => {
    backend.setPlatform('ios');
    // The page and this test share one instance of config.ts (see support/page.ts).
    const saved = config.iosPolicy;
    config.iosPolicy = 'allow';
    try {
      const p = await open();
      expect(p.status()).toBe('locked');
      expect(p.hasPayButton()).toBe(true);
    } finally {
      config.iosPolicy = saved;
    }
  });
});
