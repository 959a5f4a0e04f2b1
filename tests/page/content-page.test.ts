// What the payment unlocks, on the pages: the unlock page shows the teaser before payment and the
// real content after (text, image, a file opened through wx.downloadFile + wx.openDocument),
// loaded through getcontent once the unlock is seen; the catalog lists every item's state and
// price, and "my purchases" the unlocked ones. Rendered with miniprogram-simulate, `wx` from
// createWx, against a real emulator running this project's functions, rules and content/.

import { config } from '../../miniprogram/config';
import { startEmulatorProcess, until, type EmulatorProcess } from './support/emulator';
import { openPage, type RenderedPage } from './support/page';

let emu: EmulatorProcess;
const opened: RenderedPage[] = [];
let userSeq = 0;
const saved = { ...config };

beforeAll(async () => {
  emu = await startEmulatorProcess();
  config.confirmFallbackMs = 300;
  config.payqueryBackoffMs = [0, 200, 400, 800];
});
afterAll(async () => {
  Object.assign(config, saved);
  await emu?.stop();
});
afterEach(() => {
  for (const page of opened.splice(0)) page.unload();
});

const nextUser = (): string => `o-content-page-${++userSeq}`;

function open(pagePath: string, wx: unknown, query: Record<string, string> = {}): RenderedPage {
  const page = openPage(pagePath, wx, query);
  opened.push(page);
  return page;
}

test('teaser before payment, the article with its image after', async () => {
  const wx = emu.wx(nextUser(), { decide: () => 'confirm' });
  const page = open('pages/unlock/unlock', wx, { itemId: 'demo-unlock' });
  await until(() => page.data().status === 'locked' && page.data().summary !== '', 'the teaser');
  // The teaser comes from getcontent: title, summary, a cover link; nothing paid yet.
  expect(page.text('title')).toBe('云开发支付闭环：六种订单状态');
  expect(page.text('summary')).toContain('解锁全文');
  expect(String(page.data().cover)).toMatch(
    /^http:\/\/127\.0\.0\.1:\d+\/tcb-storage\/.+cover\.png\?sign=/,
  );
  expect(page.all('content')).toHaveLength(0);
  expect(page.data().blocks).toEqual([]);

  page.tap('pay-button');
  await until(() => page.all('block-paragraph').length > 0, 'the paid text after paying');
  expect(page.data().status).toBe('unlocked');
  expect(page.text('block-heading')).toBe('订单只有一个地方能改状态');
  const image = (page.data().blocks as { type: string; url?: string }[]).find(
    (b) => b.type === 'image',
  );
  expect(image?.url).toMatch(/states\.png\?sign=[0-9a-f]+&t=\d+$/);
  expect(page.all('block-image')).toHaveLength(1);
  // The image link works (it is what the <image> loads).
  const res = await wx.downloadFile({ url: String(image?.url) });
  expect(res.statusCode).toBe(200);
});

test('the downloadable file: pay, then download and open it', async () => {
  const documents: { type: string; head: string }[] = [];
  const wx = emu.wx(nextUser(), {
    decide: () => 'confirm',
    onOpenDocument: (file) =>
      documents.push({
        type: file.contentType,
        head: Buffer.from(file.bytes.subarray(0, 5)).toString('latin1'),
      }),
  });
  const page = open('pages/unlock/unlock', wx, { itemId: 'demo-guide' });
  await until(() => page.data().status === 'locked' && page.data().summary !== '', 'the teaser');
  expect(page.all('file')).toHaveLength(0);
  expect(page.text('price')).toBe('¥0.02');

  page.tap('pay-button');
  await until(() => page.all('file').length === 1, 'the file after paying');
  expect(page.text('file')).toContain('上线清单.pdf · 916 B');
  page.tap('file__open');
  await until(() => documents.length === 1, 'wx.openDocument');
  expect(documents).toEqual([{ type: 'application/pdf', head: '%PDF-' }]);
  expect(wx.uiCalls.filter((c) => c.api === 'openDocument')).toEqual([
    {
      api: 'openDocument',
      options: expect.objectContaining({
        fileType: 'pdf',
        filePath: expect.stringMatching(/^wxfile:\/\/tmp_/),
      }),
    },
  ]);
});

test('the catalog shows each item with its state and price; my purchases lists what was bought', async () => {
  const openid = nextUser();
  const wx = emu.wx(openid, { decide: () => 'confirm' });
  const before = open('pages/catalog/catalog', wx);
  await until(() => before.data().status === 'ready', 'the catalog');
  const states = (page: RenderedPage) =>
    page
      .all('item')
      .map((el) => [
        el.getAttribute('data-item-id') ??
          el.querySelector('[data-role="item-title"]')?.textContent,
        el.querySelector('[data-role="item-state"]')?.textContent?.trim(),
        el.querySelector('[data-role="item-price"]')?.textContent?.trim(),
      ]);
  expect(states(before).map(([, state, price]) => [state, price])).toEqual([
    ['未解锁', '¥0.01'],
    ['未解锁', '¥0.02'],
  ]);
  before.tap('tab', 1);
  await until(() => before.data().tab === 'mine', 'the my-purchases tab');
  expect(before.all('item')).toHaveLength(0);
  expect(before.text('empty')).toBe('还没有购买任何内容');

  // Buy the guide on its page, then come back to the catalog.
  const unlock = open('pages/unlock/unlock', wx, { itemId: 'demo-guide' });
  await until(() => unlock.data().status === 'locked', 'the unlock page');
  unlock.tap('pay-button');
  await until(() => unlock.data().status === 'unlocked', 'the purchase');

  const after = open('pages/catalog/catalog', wx, { tab: 'mine' });
  await until(() => after.data().status === 'ready', 'the catalog again');
  expect(
    (after.data().rows as { itemId: string; stateText: string }[]).map((r) => [
      r.itemId,
      r.stateText,
    ]),
  ).toEqual([['demo-guide', '已解锁']]);
  // Tapping an item opens its page.
  after.tap('item');
  await until(() => wx.uiCalls.some((c) => c.api === 'navigateTo'), 'wx.navigateTo');
  expect(wx.uiCalls.filter((c) => c.api === 'navigateTo')).toEqual([
    { api: 'navigateTo', options: { url: '/pages/unlock/unlock?itemId=demo-guide' } },
  ]);
});
