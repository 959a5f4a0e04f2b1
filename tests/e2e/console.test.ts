// The console in a real browser (Debian's Chromium): its language (中文/English, the browser's by
// default, remembered), its layout at phone and desktop widths, and its database panel (open,
// edit, add, delete, export, import), whose changes reach the page preview's watch. One emulator
// (in memory, free port) and one browser for the file; each test opens its own context, so the
// locale and localStorage of one never leak into another. Every console word checked here is the
// emulator's own wording (emulator/src/web/i18n.ts): no platform defines it.

import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import type { RunningEmulator } from '../../emulator/src';
import { control, documents, invoke, startProjectEmulator } from '../support/emulator';
import { startAll } from '../support/lifecycle';
import { collectErrors, launchBrowser, screenshotPath } from './support/browser';

const WAIT = { timeout: 10000 };

/**
 * The console screenshots the docs show (emulator/docs/screens/), rewritten by
 * `WXCLOUD_UPDATE_SCREENS=1 npx jest tests/e2e/console.test.ts`; every run writes them to
 * test-results/e2e/ as well.
 */
const DOC_SCREENS = path.resolve(__dirname, '../../emulator/docs/screens');
const DOC_SCREEN_NAMES = new Set([
  'console-zh-1280',
  'console-en-1280',
  'console-zh-390',
  'console-en-390',
]);

let emulator: RunningEmulator;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  await startAll([
    startProjectEmulator({ preview: true }).then((started) => (emulator = started)),
    launchBrowser().then((launched) => (browser = launched)),
  ]);
}, 30000);

afterAll(async () => {
  await Promise.allSettled([browser?.close(), emulator?.stop()]);
});

// Each test starts from the seeded data, with no faults.
beforeEach(() => emulator.reset());

afterEach(async () => {
  await Promise.allSettled(contexts.splice(0).map((context) => context.close()));
});

/** A fresh browser profile with this locale (navigator.language and Accept-Language). */
async function openConsole(
  locale: string,
  viewport = { width: 1280, height: 900 },
): Promise<{ page: Page; phone: FrameLocator; errors: string[] }> {
  const context = await browser.newContext({ locale, viewport });
  contexts.push(context);
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${emulator.url}/`);
  await page.locator('body[data-ready="true"]').waitFor(WAIT);
  const phone = page.frameLocator('iframe.phone-frame');
  await phone.locator('body[data-ready="true"]').waitFor(WAIT);
  // The picker's per-user state is read once the frame is up.
  await phone.locator('[data-user-state="o_local_user_0001"]:not(:empty)').waitFor(WAIT);
  return { page, phone, errors };
}

async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  const file = screenshotPath(name);
  await page.screenshot({ path: file, fullPage });
  if (process.env.WXCLOUD_UPDATE_SCREENS === '1' && DOC_SCREEN_NAMES.has(name)) {
    fs.mkdirSync(DOC_SCREENS, { recursive: true });
    fs.copyFileSync(file, path.join(DOC_SCREENS, `${name}.png`));
  }
}

const CJK = /[\u4e00-\u9fff]/;
const LATIN_WORD = /[A-Za-z]{2,}/;

/** The picker's words, without the simulated users' names and openids (data, not UI). */
async function pickerWords(phone: FrameLocator): Promise<string[]> {
  return phone.locator('fieldset.users').evaluate((fieldset) => {
    const words: string[] = [];
    const skip = (node: Element | null) =>
      !!node?.closest('.user__name') || !!node?.closest('.user__openid');
    const walker = document.createTreeWalker(fieldset, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent?.trim();
      if (text && !skip(node.parentElement)) words.push(text);
    }
    return words;
  });
}

test('Chinese by default for a zh-CN browser, English otherwise, one language per widget', async () => {
  // 小红 has paid once (through the control API, as the pay sheet would), so every panel has a
  // record to show: the order, its callback, the invocations, the picker's "1 单 · 1 已付".
  const placed = await invoke<{ tradeno: string }>(
    emulator,
    'userpay',
    { itemId: 'demo-unlock' },
    { openid: 'o_local_user_0002' },
  );
  await control(emulator, 'POST', `/pay/orders/${placed.tradeno}/confirm`);

  const zh = await openConsole('zh-CN');
  expect(await zh.page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
  expect(await zh.page.locator('#h-controls').innerText()).toBe('控制');
  expect(await zh.page.locator('#h-collections').innerText()).toBe('数据库');
  expect(await zh.page.locator('[data-lang="zh"]').getAttribute('aria-pressed')).toBe('true');
  expect(await zh.page.locator('[data-role="advance"]').first().innerText()).toBe('快进 15 秒');
  // The payments and invocations panels word their badges in Chinese too.
  const card = zh.page.locator(`[data-role="order"][data-out-trade-no="${placed.tradeno}"]`);
  await card.locator('.badge', { hasText: '回调已确认' }).waitFor(WAIT);
  expect(await card.locator('.order__meta').first().innerText()).toContain(
    '付款人 o_local_user_0002',
  );
  await card.locator('summary').click();
  expect(await card.locator('[data-role="attempt"] .badge').first().innerText()).toBe('已确认');
  await zh.page
    .locator('[data-role="invocation"][data-name="userpay"] .badge', { hasText: '成功' })
    .first()
    .waitFor(WAIT);
  // The user picker speaks the console's language: no English label beside "1 单 · 1 已付".
  await zh.phone
    .locator('[data-user-state="o_local_user_0002"]', { hasText: '1 单 · 1 已付' })
    .waitFor(WAIT);
  const zhWords = await pickerWords(zh.phone);
  expect(zhWords).toEqual(expect.arrayContaining(['微信用户', '无订单', '1 单 · 1 已付']));
  for (const word of zhWords)
    expect([word, LATIN_WORD.test(word.replace(/openid/g, ''))]).toEqual([word, false]);
  // The page preview stays as the app is: Chinese, whatever the console's language.
  expect(await zh.phone.locator('.phone').getAttribute('lang')).toBe('zh-CN');
  await screenshot(zh.page, 'console-zh-1280');

  const en = await openConsole('en-US');
  expect(await en.page.evaluate(() => document.documentElement.lang)).toBe('en');
  expect(await en.page.locator('#h-controls').innerText()).toBe('Controls');
  expect(await en.page.locator('[data-lang="en"]').getAttribute('aria-pressed')).toBe('true');
  const enWords = await pickerWords(en.phone);
  expect(enWords).toEqual(expect.arrayContaining(['WeChat user', 'no orders', '1 order · 1 paid']));
  for (const word of enWords) expect([word, CJK.test(word)]).toEqual([word, false]);
  expect(await en.phone.locator('[data-role="unlock-page"]').innerText()).toMatch(CJK);
  await screenshot(en.page, 'console-en-1280');
  expect([...zh.errors, ...en.errors]).toEqual([]);
});

test('the switch changes every panel and the preview frame at once, and is remembered', async () => {
  const { page, phone, errors } = await openConsole('en-US');
  await page.locator('[data-lang="zh"]').click();
  await page.locator('#h-controls', { hasText: '控制' }).waitFor(WAIT);
  expect(await page.evaluate(() => localStorage.getItem('wxcloud-emulator.lang'))).toBe('zh');
  expect(await page.locator('[data-lang="zh"]').getAttribute('aria-pressed')).toBe('true');
  expect(await page.locator('[data-role="live"]').innerText()).toBe('实时');
  expect(await page.locator('[data-role="doc-add"]').innerText()).toBe('添加记录');
  // The frame follows through the storage event, without a reload.
  await phone.locator('fieldset.users legend', { hasText: '微信用户' }).waitFor(WAIT);
  await phone.locator('[data-user-state="o_local_user_0001"]', { hasText: '无订单' }).waitFor(WAIT);
  await screenshot(page, 'console-switched-zh');

  // Remembered: a reload of this en-US browser stays Chinese, until switched back.
  await page.reload();
  await page.locator('body[data-ready="true"]').waitFor(WAIT);
  expect(await page.locator('#h-controls').innerText()).toBe('控制');
  await page.locator('[data-lang="en"]').click();
  await page.locator('#h-controls', { hasText: 'Controls' }).waitFor(WAIT);
  await page
    .frameLocator('iframe.phone-frame')
    .locator('fieldset.users legend', { hasText: 'WeChat user' })
    .waitFor(WAIT);
  expect(errors).toEqual([]);
});

/** Every box that must be whole on screen: none cut by the frame or the viewport. */
async function expectInside(page: Page, phone: FrameLocator, width: number): Promise<void> {
  const frame = await page.locator('iframe.phone-frame').boundingBox();
  if (!frame) throw new Error('no preview frame');
  expect(frame.x).toBeGreaterThanOrEqual(0);
  expect(frame.x + frame.width).toBeLessThanOrEqual(width);
  const pieces = phone.locator('fieldset.users legend, .user, .user__state, .users__help, .phone');
  const count = await pieces.count();
  expect(count).toBe(1 + 3 + 3 + 1 + 1);
  for (let i = 0; i < count; i++) {
    const box = await pieces.nth(i).boundingBox();
    if (!box) throw new Error(`piece ${i} has no box`);
    const where = await pieces.nth(i).evaluate((node) => node.className || node.tagName);
    // Within the frame (which clips what overflows it), to the half pixel.
    expect([where, box.x >= frame.x - 0.5]).toEqual([where, true]);
    expect([where, box.x + box.width <= frame.x + frame.width + 0.5]).toEqual([where, true]);
  }
  // No text cut short inside a user's card but the openid, which is ellipsized on purpose.
  const cut = await phone
    .locator('.user__name, .user__state')
    .evaluateAll((nodes) =>
      nodes.filter((n) => n.scrollWidth > n.clientWidth + 1).map((n) => n.textContent),
    );
  expect(cut).toEqual([]);
  // Neither document scrolls sideways.
  expect(
    await page.evaluate(() => document.documentElement.scrollWidth - innerWidth),
  ).toBeLessThanOrEqual(0);
  expect(
    await phone.locator('html').evaluate(() => document.documentElement.scrollWidth - innerWidth),
  ).toBeLessThanOrEqual(0);
  // The top bar's controls are on screen.
  for (const role of ['lang-switch', 'env', 'live']) {
    const box = await page.locator(`[data-role="${role}"]`).boundingBox();
    if (!box) throw new Error(`no box for ${role}`);
    expect([role, box.x >= 0 && box.x + box.width <= width]).toEqual([role, true]);
  }
}

test('at 390 px and at 1280 px the user picker and the console fit, in both languages', async () => {
  for (const locale of ['zh-CN', 'en-US']) {
    const phoneWidth = await openConsole(locale, { width: 390, height: 844 });
    await expectInside(phoneWidth.page, phoneWidth.phone, 390);
    await screenshot(phoneWidth.page, `console-${locale.slice(0, 2)}-390`);
    // The document editor fits a phone too: its text box and buttons inside the viewport.
    await phoneWidth.page.locator('[data-role="doc-add"]').click();
    for (const role of ['doc-text', 'doc-save', 'doc-close']) {
      const box = await phoneWidth.page.locator(`[data-role="${role}"]`).boundingBox();
      if (!box) throw new Error(`no box for ${role}`);
      expect([role, box.x >= 0 && box.x + box.width <= 390]).toEqual([role, true]);
    }
    expect(
      await phoneWidth.page.evaluate(() => document.documentElement.scrollWidth - innerWidth),
    ).toBeLessThanOrEqual(0);
    await screenshot(phoneWidth.page, `console-editor-${locale.slice(0, 2)}-390`);
    const desktop = await openConsole(locale);
    await expectInside(desktop.page, desktop.phone, 1280);
    // Desktop: the preview beside the panels, not above them.
    const frame = await desktop.page.locator('iframe.phone-frame').boundingBox();
    const panels = await desktop.page.locator('.col-panels').boundingBox();
    expect(frame && panels && frame.x + frame.width <= panels.x).toBe(true);
    expect([...phoneWidth.errors, ...desktop.errors]).toEqual([]);
  }
});

// ---- the database panel ------------------------------------------------------------------------

async function pickCollection(page: Page, name: string): Promise<void> {
  await page.locator(`[data-role="collections"] [data-collection="${name}"]`).click();
  await page
    .locator(`[data-role="collections"] [data-collection="${name}"][aria-pressed="true"]`)
    .waitFor(WAIT);
}

async function stored(collection: string, id: string): Promise<unknown> {
  const response = await fetch(
    `${emulator.url}/emulator/v1/collections/${collection}/documents/${id}`,
  );
  return response.status === 404
    ? null
    : ((await response.json()) as { document: unknown }).document;
}

test('the data panel adds, opens, edits and deletes a document; invalid JSON is refused, nothing written', async () => {
  await control(emulator, 'PUT', '/collections/NOTES');
  const { page, errors } = await openConsole('en-US');
  await pickCollection(page, 'NOTES');
  await page.locator('[data-role="documents"]', { hasText: 'NOTES is empty.' }).waitFor(WAIT);

  // Add: relaxed EJSON, a date as {"$date": ...}, stored as a date.
  await page.locator('[data-role="doc-add"]').click();
  const text = page.locator('[data-role="doc-text"]');
  await text.fill('{"_id": "n1", "title": "first", "at": {"$date": "2024-01-02T03:04:05Z"}}');
  await page.locator('[data-role="doc-save"]').click();
  await page.locator('[data-role="data-result"]', { hasText: 'Added NOTES / n1.' }).waitFor(WAIT);
  expect(await stored('NOTES', 'n1')).toEqual({
    _id: 'n1',
    title: 'first',
    at: { $date: '2024-01-02T03:04:05Z' },
  });
  await page.locator('[data-role="document"][data-id="n1"]').waitFor(WAIT);
  // The editor now holds the stored document.
  expect(JSON.parse(await text.inputValue())).toEqual(await stored('NOTES', 'n1'));

  // Invalid JSON: said in the editor, the text kept, nothing sent.
  await text.fill('{"_id": "n1", "title": "second",}');
  await page.locator('[data-role="doc-save"]').click();
  await page
    .locator('[data-role="doc-error"]', { hasText: 'Not valid JSON, nothing was saved' })
    .waitFor(WAIT);
  expect(await text.getAttribute('aria-invalid')).toBe('true');
  expect(await text.inputValue()).toBe('{"_id": "n1", "title": "second",}');
  expect((await stored('NOTES', 'n1')) as { title: string }).toMatchObject({ title: 'first' });
  await screenshot(page, 'console-data-invalid-json');

  // A document the database refuses ($-field, MongoDB manual "Field Names"): the emulator's reason.
  await text.fill('{"$title": "x"}');
  await page.locator('[data-role="doc-save"]').click();
  await page.locator('[data-role="doc-error"]', { hasText: 'Not saved:' }).waitFor(WAIT);
  expect(await page.locator('[data-role="doc-error"]').innerText()).toContain('$title');
  expect((await stored('NOTES', 'n1')) as { title: string }).toMatchObject({ title: 'first' });

  // Edit and save.
  await text.fill('{"_id": "n1", "title": "second"}');
  await page.locator('[data-role="doc-save"]').click();
  await page.locator('[data-role="data-result"]', { hasText: 'Saved NOTES / n1.' }).waitFor(WAIT);
  expect(await stored('NOTES', 'n1')).toEqual({ _id: 'n1', title: 'second' });
  await page.locator('[data-role="document"][data-id="n1"]', { hasText: 'second' }).waitFor(WAIT);

  // Open another one from the table: the editor shows exactly what is stored.
  await control(emulator, 'POST', '/collections/NOTES/documents', { _id: 'n2', n: 2 });
  await page.locator('[data-role="document"][data-id="n2"] [data-role="doc-open"]').click();
  await page.locator('[data-role="doc-form"][data-id="n2"]').waitFor(WAIT);
  expect(JSON.parse(await text.inputValue())).toEqual({ _id: 'n2', n: 2 });

  // Delete asks first; "Keep it" keeps it.
  await page.locator('[data-role="doc-delete"]').click();
  await page
    .locator('[data-role="doc-confirm"]', { hasText: 'Delete n2 from NOTES?' })
    .waitFor(WAIT);
  await screenshot(page, 'console-data-confirm-delete');
  await page.locator('[data-role="doc-delete-keep"]').click();
  await page.locator('[data-role="doc-confirm"]').waitFor({ state: 'detached', ...WAIT });
  expect(await stored('NOTES', 'n2')).toEqual({ _id: 'n2', n: 2 });
  await page.locator('[data-role="doc-delete"]').click();
  await page.locator('[data-role="doc-delete-confirm"]').click();
  await page.locator('[data-role="data-result"]', { hasText: 'Deleted NOTES / n2.' }).waitFor(WAIT);
  await page
    .locator('[data-role="document"][data-id="n2"]')
    .waitFor({ state: 'detached', ...WAIT });
  expect(await stored('NOTES', 'n2')).toBeNull();
  expect(await page.locator('[data-role="doc-form"]').count()).toBe(0);
  // The one refused save (the $-field) is the only failed request the browser saw.
  expect(errors).toEqual([
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ]);
});

test('export downloads the database; import replaces the collections it names after a confirmation', async () => {
  await control(emulator, 'PUT', '/collections/NOTES');
  await control(emulator, 'POST', '/collections/NOTES/documents', { _id: 'before', n: 0 });
  const { page, errors } = await openConsole('en-US');

  const [download] = await Promise.all([
    page.waitForEvent('download', WAIT),
    page.locator('[data-role="db-export"]').click(),
  ]);
  expect(download.suggestedFilename()).toBe('wxcloud-emulator-database.json');
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8')) as {
    format: string;
    collections: Record<string, unknown[]>;
  };
  expect(exported.format).toBe('wxcloud-emulator-database');
  expect(exported.collections.NOTES).toEqual([{ _id: 'before', n: 0 }]);
  // The seeded paid content is in it too.
  expect(exported.collections.PAIDCONTENT?.length).toBeGreaterThan(0);

  // Not JSON: said, nothing imported.
  const input = page.locator('[data-role="db-import-file"]');
  await input.setInputFiles({
    name: 'broken.json',
    mimeType: 'application/json',
    buffer: Buffer.from('{"format": '),
  });
  await page
    .locator('[data-role="data-result"]', { hasText: 'broken.json is not valid JSON' })
    .waitFor(WAIT);
  expect(await documents(emulator, 'NOTES')).toEqual([{ _id: 'before', n: 0 }]);

  const file = {
    ...exported,
    collections: { NOTES: [{ _id: 'imported', at: { $date: '2024-03-04T05:06:07Z' } }] },
  };
  await input.setInputFiles({
    name: 'notes.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(file)),
  });
  await page
    .locator('[data-role="import-confirm"]', { hasText: 'NOTES (1 documents)' })
    .waitFor(WAIT);
  // Nothing happens before the confirmation.
  expect(await documents(emulator, 'NOTES')).toEqual([{ _id: 'before', n: 0 }]);
  await page.locator('[data-role="import-confirm-run"]').click();
  await page
    .locator('[data-role="data-result"]', { hasText: 'Imported 1 documents into 1 collections.' })
    .waitFor(WAIT);
  expect(await documents(emulator, 'NOTES')).toEqual([
    { _id: 'imported', at: { $date: '2024-03-04T05:06:07Z' } },
  ]);
  // Other collections stay.
  expect((await documents(emulator, 'PAIDCONTENT')).length).toBe(
    exported.collections.PAIDCONTENT.length,
  );
  // And the table shows it live.
  await pickCollection(page, 'NOTES');
  await page.locator('[data-role="document"][data-id="imported"]').waitFor(WAIT);
  expect(errors).toEqual([]);
});

test("an order's paystatus edited in the console reaches the preview page's watch", async () => {
  // Only the watch may tell the page: WeChat Pay's callback is lost for good and payquery (the
  // page's fallback) fails, so nothing but the edited record can unlock it.
  await control(emulator, 'POST', '/faults', {
    pay: { callbacks: [{ action: 'lose', count: 1 }] },
    functions: { name: 'payquery', mode: 'throw', count: 50 },
  });
  const { page, phone } = await openConsole('en-US');
  await phone.locator('[data-role="unlock-page"][data-status="locked"]').waitFor(WAIT);
  await phone.locator('[data-role="pay"]').click();
  await phone.locator('[data-role="sheet-pay"]').click();
  await phone.locator('[data-role="unlock-page"][data-status="confirming"]').waitFor(WAIT);

  const orders = await documents<{ _id: string; _openid: string; paystatus: number }>(
    emulator,
    'USERPAYLOG',
  );
  const order = orders.find((o) => o._openid === 'o_local_user_0001');
  if (!order)
    throw new Error(`no USERPAYLOG order of o_local_user_0001 in ${JSON.stringify(orders)}`);
  expect(order.paystatus).toBe(0);

  await pickCollection(page, 'USERPAYLOG');
  await page
    .locator(`[data-role="document"][data-id="${order._id}"] [data-role="doc-open"]`)
    .click();
  const text = page.locator('[data-role="doc-text"]');
  await page.locator(`[data-role="doc-form"][data-id="${order._id}"]`).waitFor(WAIT);
  const edited = {
    ...(JSON.parse(await text.inputValue()) as Record<string, unknown>),
    paystatus: 1,
  };
  await text.fill(JSON.stringify(edited, null, 2));
  await page.locator('[data-role="doc-save"]').click();

  await phone.locator('[data-role="unlock-page"][data-status="unlocked"]').waitFor(WAIT);
  await screenshot(page, 'console-data-live-watch');
  // The callback never got through and no payquery succeeded: the watch carried the change.
  const { invocations } = await control<{ invocations: { outcome: string }[] }>(
    emulator,
    'GET',
    '/functions/invocations?name=payquery',
  );
  expect(invocations.every((inv) => inv.outcome === 'fault')).toBe(true);
  const notify = await control<{ invocations: unknown[] }>(
    emulator,
    'GET',
    '/functions/invocations?name=userpaynotify',
  );
  expect(notify.invocations).toEqual([]);
});
