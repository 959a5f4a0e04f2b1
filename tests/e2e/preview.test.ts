// `npm start`'s preview and console in a real browser (Debian's Chromium): the project's own page,
// rendered from its WXML, WXSS and TypeScript, paying through the local cloud. One emulator (in
// memory, free port) and one browser for the whole file; each scenario uses its own simulated user
// so the scenarios do not depend on one another's orders.

import type { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import type { RunningEmulator } from '../../emulator/src';
import { control, startProjectEmulator } from '../support/emulator';
import { startAll } from '../support/lifecycle';
import { collectErrors, launchBrowser, screenshotPath } from './support/browser';

/** Every wait is bounded; a scenario that needs longer is broken, not slow. */
const WAIT = { timeout: 10000 };

let emulator: RunningEmulator;
let browser: Browser;
let context: BrowserContext;
let consolePage: Page;
let errors: string[];

beforeAll(async () => {
  await startAll([
    // A second env (emulator/docs/envs.md) for the console's env switch; the page uses the first.
    startProjectEmulator({ preview: true, envId: 'local-env,staging-env' }).then(
      (started) => (emulator = started),
    ),
    launchBrowser().then((launched) => (browser = launched)),
  ]);
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  consolePage = await context.newPage();
  errors = collectErrors(consolePage);
  await consolePage.goto(`${emulator.url}/`);
  await phone().locator('body[data-ready="true"]').waitFor(WAIT);
}, 30000);

afterAll(async () => {
  // Both, whatever happens to the other (closing the browser closes its contexts).
  await Promise.allSettled([browser?.close(), emulator?.stop()]);
});

/** The phone preview inside the console page. */
function phone(): FrameLocator {
  return consolePage.frameLocator('iframe.phone-frame');
}

function status(frame: FrameLocator, value: string) {
  return frame.locator(`[data-role="unlock-page"][data-status="${value}"]`);
}

async function pickUser(frame: FrameLocator, name: string): Promise<void> {
  await frame.getByRole('radio', { name: new RegExp(name) }).check();
  // The page reloads as that user and loads its state from the cloud.
  await frame.locator('[data-role="unlock-page"]:not([data-status="loading"])').waitFor(WAIT);
}

async function order(openid: string): Promise<{ outTradeNo: string; tradeState: string }> {
  const { orders } = await control<{
    orders: { outTradeNo: string; tradeState: string; openid: string }[];
  }>(emulator, 'GET', '/pay/orders');
  const mine = orders.filter((o) => o.openid === openid);
  if (mine.length !== 1) throw new Error(`expected one order for ${openid}, found ${mine.length}`);
  return mine[0];
}

test('pays with the pay sheet: the page unlocks and the console shows the order paid and its callback acknowledged', async () => {
  const frame = phone();
  await pickUser(frame, '小明');
  await status(frame, 'locked').waitFor(WAIT);
  expect(await frame.locator('[data-role="pay"]').innerText()).toContain('¥0.01');

  await frame.locator('[data-role="pay"]').click();
  const sheet = frame.locator('[data-role="pay-sheet"]');
  await sheet.waitFor({ state: 'visible', ...WAIT });
  expect(await frame.locator('[data-role="sheet-amount"]').innerText()).toBe('¥0.01');
  expect(await frame.locator('[data-role="sheet-body"]').innerText()).toContain('解锁全文');
  await frame.locator('[data-role="sheet-merchant"]', { hasText: '商户号 ' }).waitFor(WAIT);
  await consolePage.screenshot({ path: screenshotPath('console-pay-sheet-desktop') });
  await frame.locator('[data-role="sheet-pay"]').click();

  await status(frame, 'unlocked').waitFor(WAIT);
  expect(await frame.locator('[data-role="content"]').innerText()).toContain('已解锁');
  // The paid content itself, from getcontent: its text and its image through a temporary link.
  await frame.locator('[data-role="block-image"]').waitFor(WAIT);
  expect(await frame.locator('[data-role="block-heading"]').innerText()).toBe(
    '订单只有一个地方能改状态',
  );
  const imageUrl = await frame
    .locator('[data-role="block-image"]')
    .evaluate((el) => getComputedStyle(el).backgroundImage);
  expect(imageUrl).toMatch(/tcb-storage\/.+states\.png\?sign=/);
  expect(await sheet.isHidden()).toBe(true);

  const paid = await order('o_local_user_0001');
  expect(paid.tradeState).toBe('SUCCESS');
  const card = consolePage.locator(
    `[data-role="order"][data-out-trade-no="${paid.outTradeNo}"][data-trade-state="SUCCESS"]`,
  );
  await card.waitFor(WAIT);
  await card
    .locator('[data-role="attempt"][data-outcome="acknowledged"]')
    .waitFor({ state: 'attached', ...WAIT });
  expect(await card.innerText()).toContain('callback acknowledged');
  // The database panel shows the paid record live.
  await consolePage.getByRole('button', { name: /^USERPAYLOG/ }).click();
  await consolePage
    .locator('table.docs[data-collection="USERPAYLOG"] [data-role="document"]')
    .first()
    .waitFor(WAIT);
  // The invocations panel shows the functions the payment ran, with cold/warm start.
  await consolePage
    .locator('[data-role="invocation"][data-name="userpaynotify"]')
    .first()
    .waitFor(WAIT);
  await consolePage.screenshot({ path: screenshotPath('console-desktop'), fullPage: true });
});

test('cancel from the keyboard: Enter on the pay button, Escape on the sheet, and the page says so', async () => {
  const frame = phone();
  await pickUser(frame, '小红');
  await status(frame, 'locked').waitFor(WAIT);
  await frame.locator('[data-role="pay"]').focus();
  await consolePage.keyboard.press('Enter');
  await frame.locator('[data-role="pay-sheet"]').waitFor({ state: 'visible', ...WAIT });
  // The sheet takes the focus, so the keyboard can answer it.
  expect(
    await frame.locator('[data-role="sheet-pay"]').evaluate((b) => b === document.activeElement),
  ).toBe(true);
  await consolePage.keyboard.press('Escape');

  await frame.locator('[data-role="message"]', { hasText: '支付已取消' }).waitFor(WAIT);
  await status(frame, 'locked').waitFor(WAIT);
  expect((await order('o_local_user_0002')).tradeState).toBe('NOTPAY');
});

test("switching user shows that user's own state", async () => {
  const frame = phone();
  await pickUser(frame, '小红');
  await status(frame, 'locked').waitFor(WAIT);
  await pickUser(frame, '小明');
  await status(frame, 'unlocked').waitFor(WAIT);
  expect(await frame.locator('[data-role="page-host"]').getAttribute('data-openid')).toBe(
    'o_local_user_0001',
  );
  // The picker shows each user's orders, in the console's language (this browser's: English).
  await frame
    .locator('[data-user-state="o_local_user_0001"]', { hasText: '1 order · 1 paid' })
    .waitFor(WAIT);
  await frame
    .locator('[data-user-state="o_local_user_0002"]', { hasText: '1 order · 0 paid' })
    .waitFor(WAIT);
});

test("two users in two tabs do not see each other's orders", async () => {
  const second = await context.newPage();
  const secondErrors = collectErrors(second);
  try {
    await second.goto(`${emulator.url}/preview/?user=o_local_user_0003`);
    await second.locator('body[data-ready="true"]').waitFor(WAIT);
    await second.locator('[data-role="unlock-page"][data-status="locked"]').waitFor(WAIT);
    // 小明 (the console's tab) has paid; 小刚 in this tab is still locked, and vice versa.
    await status(phone(), 'unlocked').waitFor(WAIT);
    expect(secondErrors).toEqual([]);
  } finally {
    await second.close();
  }
});

test('the catalog lists each item with its state and price; tapping one opens its page', async () => {
  const tab = await context.newPage();
  const tabErrors = collectErrors(tab);
  try {
    // 小明 bought demo-unlock in the first test; demo-guide is still locked for him.
    await tab.goto(`${emulator.url}/preview/?user=o_local_user_0001&page=pages/catalog/catalog`);
    await tab.locator('[data-role="catalog-page"][data-status="ready"]').waitFor(WAIT);
    const items = tab.locator('[data-role="item"]');
    expect(await items.count()).toBe(2);
    expect(await items.nth(0).getAttribute('data-state')).toBe('unlocked');
    expect(await items.nth(1).getAttribute('data-state')).toBe('locked');
    expect(await items.nth(1).locator('[data-role="item-price"]').innerText()).toBe('¥0.02');
    await tab.locator('[data-role="tab-mine"]').click();
    await tab.locator('[data-role="catalog-page"][data-tab="mine"]').waitFor(WAIT);
    expect(await tab.locator('[data-role="item"]').count()).toBe(1);
    // wx.navigateTo loads the unlock page for that item, with its teaser.
    await tab.locator('[data-role="item"]').first().click();
    await tab.locator('[data-role="unlock-page"][data-status="unlocked"]').waitFor(WAIT);
    expect(new URL(tab.url()).searchParams.get('itemId')).toBe('demo-unlock');
    await tab.locator('[data-role="block-image"]').waitFor(WAIT);
    expect(tabErrors).toEqual([]);
  } finally {
    await tab.close();
  }
});

test('the console browses cloud storage (sizes, owners, image previews) and shows PAIDCONTENT', async () => {
  const rows = consolePage.locator('[data-role="storage-file"]');
  await rows.first().waitFor(WAIT);
  // content/storage/ holds four files, all written by the seed (no owner).
  expect(await rows.count()).toBe(4);
  const cover = consolePage.locator(
    '[data-role="storage-file"][data-path="paid/demo-unlock/cover.png"]',
  );
  expect(await cover.innerText()).toContain('(admin)');
  // The preview thumbnail is the real image, read from the control API (the panel re-renders on
  // events, so look it up afresh each time).
  await consolePage.waitForFunction(
    () => {
      const img = document.querySelector<HTMLImageElement>(
        '[data-path="paid/demo-unlock/cover.png"] [data-role="storage-thumb"]',
      );
      return !!img && img.complete && img.naturalWidth === 320;
    },
    undefined,
    WAIT,
  );
  // The paid-content collection is listed with the others.
  await consolePage.getByRole('button', { name: /^PAIDCONTENT/ }).waitFor(WAIT);
});

test('the console switches env: each env shows its own files', async () => {
  // A file only the second env holds (the control API's ?env=, emulator/docs/envs.md).
  const put = await fetch(
    `${emulator.url}/emulator/v1/storage/files/staging-only.txt?env=staging-env`,
    {
      method: 'PUT',
      body: 'only in staging',
    },
  );
  expect(put.status).toBe(200);
  const stagingRow = consolePage.locator(
    '[data-role="storage-file"][data-path="staging-only.txt"]',
  );
  const select = consolePage.locator('[data-role="env-select"]');
  await select.selectOption({ label: 'staging-env' });
  await stagingRow.waitFor(WAIT);
  await select.selectOption({ label: 'local-env' });
  await stagingRow.waitFor({ state: 'detached', ...WAIT });
  await consolePage
    .locator('[data-role="storage-file"][data-path="paid/demo-unlock/cover.png"]')
    .waitFor(WAIT);
});

test("a dropped callback is recovered by the page's fallback query", async () => {
  const frame = phone();
  await pickUser(frame, '小刚');
  await status(frame, 'locked').waitFor(WAIT);
  // The console's fault control: WeChat Pay's next notification is never delivered.
  await consolePage.getByRole('button', { name: 'Drop it' }).click();
  await consolePage.locator('[data-role="faults"]', { hasText: 'drop ×1' }).waitFor(WAIT);

  await frame.locator('[data-role="pay"]').click();
  await frame.locator('[data-role="sheet-pay"]').click();
  await status(frame, 'confirming').waitFor(WAIT);
  // After confirmFallbackMs (3 s) the page asks payquery, which asks CloudPay and records the pay.
  await status(frame, 'unlocked').waitFor(WAIT);
  const recovered = await order('o_local_user_0003');
  expect(recovered.tradeState).toBe('SUCCESS');
  await consolePage
    .locator(
      `[data-role="order"][data-out-trade-no="${recovered.outTradeNo}"] [data-role="attempt"][data-outcome="dropped"]`,
    )
    .waitFor({ state: 'attached', ...WAIT });
});

test('the console collapses repeated timer runs, filters invocations and ticks its clock', async () => {
  // A day of payexpire's timer ("0 */5 * * * * *" in its config.json): 288 runs.
  await control(emulator, 'POST', '/clock/advance', { ms: 24 * 3600 * 1000 });
  const group = consolePage.locator('[data-role="invocation-group"][data-name="payexpire"]');
  await group.first().waitFor(WAIT);
  // The panel re-reads as the runs' events arrive: wait for the last of them to be counted.
  let summary = '';
  for (let i = 0; i < 50; i++) {
    summary = await group.first().locator('summary').first().innerText();
    if (Number(/×(\d+)/.exec(summary)?.[1]) >= 288) break;
    await consolePage.waitForTimeout(200);
  }
  expect(summary).toMatch(/^payexpire ×(\d+)/);
  expect(Number(/×(\d+)/.exec(summary)?.[1])).toBeGreaterThanOrEqual(288);
  expect(summary).toContain('all ok');
  // The other functions stay in view, above the fold, not buried under 288 rows.
  expect(await consolePage.locator('[data-role="invocations"] > ul > li').count()).toBeLessThan(60);
  await consolePage.screenshot({
    path: screenshotPath('console-invocations-grouped'),
    fullPage: true,
  });
  // The same console at phone width, for a look.
  const narrow = await context.newPage();
  try {
    await narrow.setViewportSize({ width: 390, height: 844 });
    await narrow.goto(`${emulator.url}/`);
    await narrow
      .locator('[data-role="invocation-group"][data-name="payexpire"]')
      .first()
      .waitFor(WAIT);
    await narrow.screenshot({
      path: screenshotPath('console-invocations-grouped-390'),
      fullPage: true,
    });
  } finally {
    await narrow.close();
  }

  await consolePage.locator('[data-role="invocation-filter-name"]').selectOption('userpay');
  // Only userpay rows (single runs or a collapsed run of them) remain at the top level.
  const top = '[data-role="invocations"] > ul > li';
  await consolePage.locator(`${top}[data-name="userpay"]`).first().waitFor(WAIT);
  await consolePage
    .locator(`${top}:not([data-name="userpay"])`)
    .first()
    .waitFor({ state: 'detached', ...WAIT });
  await consolePage.locator('[data-role="invocation-filter-name"]').selectOption('');

  // The emulated clock label moves with real time between reads.
  const clock = consolePage.locator('[data-role="clock"]');
  const before = await clock.innerText();
  let after = before;
  for (let i = 0; i < 25 && after === before; i++) {
    await consolePage.waitForTimeout(200);
    after = await clock.innerText();
  }
  expect(after).not.toBe(before);
});

test('Chinese text renders with real glyphs, not boxes (a CJK font is installed)', async () => {
  // Without a CJK font Chromium draws every Chinese character as the same missing-glyph box.
  // So: two different characters must draw differently, differently from a code point no font
  // has (U+10FFFD, private use), and a full em wide (CJK ideographs are East Asian Wide, UAX #11;
  // CJK fonts such as Noto Sans CJK give them a 1 em advance). Drawn in the page's own font.
  const glyphs = await phone()
    .locator('[data-role="unlock-page"]')
    .evaluate((page) => {
      const family = getComputedStyle(page).fontFamily;
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 64;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      if (!ctx) throw new Error('no 2d canvas');
      const draw = (text: string) => {
        ctx.clearRect(0, 0, 64, 64);
        ctx.font = `40px ${family}`;
        ctx.textBaseline = 'top';
        ctx.fillText(text, 4, 4);
        const alpha = ctx.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 3);
        return {
          bits: Array.from(alpha, (a) => (a > 127 ? 1 : 0)).join(''),
          ink: alpha.filter((a) => a > 127).length,
          width: ctx.measureText(text).width,
        };
      };
      return {
        jie: draw('解'),
        suo: draw('锁'),
        missing: draw('\u{10FFFD}'),
        text: page.textContent ?? '',
      };
    });
  expect(glyphs.text).toMatch(/[\u4e00-\u9fff]/);
  expect(glyphs.jie.ink).toBeGreaterThan(0);
  expect(glyphs.jie.bits).not.toBe(glyphs.suo.bits);
  expect(glyphs.jie.bits).not.toBe(glyphs.missing.bits);
  expect(glyphs.jie.width).toBeCloseTo(40, 0);
  expect(glyphs.suo.width).toBeCloseTo(40, 0);
});

test('looks right at phone width, and nothing logged an error', async () => {
  const small = await context.newPage();
  const smallErrors = collectErrors(small);
  try {
    await small.setViewportSize({ width: 390, height: 844 });
    await small.goto(`${emulator.url}/preview/?user=o_local_user_0001`);
    await small.locator('[data-role="unlock-page"][data-status="unlocked"]').waitFor(WAIT);
    await small.screenshot({ path: screenshotPath('preview-phone') });
    await small.goto(`${emulator.url}/`);
    await small.locator('[data-role="order"]').first().waitFor(WAIT);
    await small.screenshot({ path: screenshotPath('console-phone'), fullPage: true });
    // Nothing wider than the screen: the layout reflows instead of scrolling sideways.
    const overflow = await small.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    expect(smallErrors).toEqual([]);
  } finally {
    await small.close();
  }
  expect(errors).toEqual([]);
});
