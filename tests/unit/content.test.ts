import { loadConfig } from '../../server/config';
import {
  CONTENT_URL_SECONDS,
  getCatalog,
  getContent,
  type ContentDeps,
  type ContentRecord,
  type ContentStore,
} from '../../server/content';
import { ErrorCodes } from '../../server/errors';
import { unlockIdFor } from '../../server/records';
import { MemoryLedger } from './support/memory-ledger';

const PAYER = { openid: 'o_payer', source: 'wx_client' };
const OTHER = { openid: 'o_other', source: 'wx_client' };
const NOW = Date.UTC(2026, 10, 27, 4, 0, 0);

const RECORD: ContentRecord = {
  _id: 'demo-unlock',
  itemId: 'demo-unlock',
  teaser: { title: 'T', summary: 'S', cover: 'cloud://x/cover.png' },
  body: [
    { type: 'heading', text: 'H' },
    { type: 'image', fileID: 'cloud://x/fig.png', alt: 'fig' },
  ],
  files: [{ name: 'a.pdf', fileID: 'cloud://x/a.pdf', size: 10, fileType: 'pdf' }],
};

/** Records which fileIDs were turned into URLs, for how long; `missing` ones get none. */
class FakeContent implements ContentStore {
  requested: { ids: string[]; maxAge: number }[] = [];
  missing = new Set<string>();
  async getContent(itemId: string): Promise<ContentRecord | undefined> {
    return itemId === RECORD.itemId ? structuredClone(RECORD) : undefined;
  }
  async tempUrls(ids: string[], maxAge: number): Promise<Map<string, string>> {
    this.requested.push({ ids, maxAge });
    return new Map(ids.filter((id) => !this.missing.has(id)).map((id) => [id, `https://t/${id}`]));
  }
}

function setup() {
  const ledger = new MemoryLedger();
  const content = new FakeContent();
  const deps: ContentDeps = { ledger, content, config: loadConfig({}, {}, false), now: () => NOW };
  const unlock = (openid: string) =>
    ledger.unlocks.set(unlockIdFor(openid, 'demo-unlock'), {
      _id: unlockIdFor(openid, 'demo-unlock'),
      openid,
      _openid: openid,
      itemId: 'demo-unlock',
      tradeno: 'CP1',
      unlockedAt: NOW - 1000,
    });
  return { deps, content, unlock };
}

describe('getcontent', () => {
  it('without the unlock: the teaser, and no URL is even made for a paid file', async () => {
    const t = setup();
    expect(await getContent(t.deps, OTHER, { itemId: 'demo-unlock' })).toEqual({
      locked: true,
      itemId: 'demo-unlock',
      title: 'T',
      summary: 'S',
      cover: 'https://t/cloud://x/cover.png',
      totalFee: 1,
    });
    expect(t.content.requested).toEqual([{ ids: ['cloud://x/cover.png'], maxAge: 600 }]);
  });

  it('with the unlock: text, image and file URLs valid ten minutes', async () => {
    const t = setup();
    t.unlock('o_payer');
    expect(await getContent(t.deps, PAYER, { itemId: 'demo-unlock' })).toEqual({
      locked: false,
      itemId: 'demo-unlock',
      title: 'T',
      summary: 'S',
      cover: 'https://t/cloud://x/cover.png',
      totalFee: 1,
      body: [
        { type: 'heading', text: 'H' },
        { type: 'image', url: 'https://t/cloud://x/fig.png', alt: 'fig' },
      ],
      files: [{ name: 'a.pdf', size: 10, fileType: 'pdf', url: 'https://t/cloud://x/a.pdf' }],
      urlsExpireAt: NOW + CONTENT_URL_SECONDS * 1000,
    });
    expect(t.content.requested[0].maxAge).toBe(600);
    // Someone else's unlock opens nothing for this caller.
    expect(await getContent(t.deps, OTHER, { itemId: 'demo-unlock' })).toMatchObject({
      locked: true,
    });
  });

  it('a file missing from storage is a clear error, not a broken page', async () => {
    const t = setup();
    t.unlock('o_payer');
    t.content.missing.add('cloud://x/a.pdf');
    expect(await getContent(t.deps, PAYER, { itemId: 'demo-unlock' })).toEqual({
      errcode: ErrorCodes.CONTENT_UNAVAILABLE,
      errmsg: 'getcontent: a file of item "demo-unlock" is missing from storage; try again later',
    });
  });

  it('refuses bad input and callers without an identity', async () => {
    const t = setup();
    for (const event of [null, 'demo-unlock', { itemId: '' }, { itemId: 'A B' }, { item: 'x' }]) {
      expect(await getContent(t.deps, PAYER, event)).toMatchObject({
        errcode: ErrorCodes.INVALID_INPUT,
      });
    }
    // A catalog item without content and content without a catalog item are both unknown.
    expect(await getContent(t.deps, PAYER, { itemId: 'demo-guide' })).toMatchObject({
      errcode: ErrorCodes.UNKNOWN_ITEM,
    });
    expect(await getContent(t.deps, { openid: '' }, { itemId: 'demo-unlock' })).toMatchObject({
      errcode: ErrorCodes.FORBIDDEN,
    });
    expect(t.content.requested).toEqual([]);
  });
});

describe('getcatalog', () => {
  it('every catalog item with its price; unlocked ones carry unlockedAt', async () => {
    const t = setup();
    t.unlock('o_payer');
    expect(await getCatalog(t.deps, PAYER, {})).toEqual({
      items: [
        {
          itemId: 'demo-unlock',
          title: 'T',
          summary: 'S',
          totalFee: 1,
          unlocked: true,
          unlockedAt: NOW - 1000,
        },
        { itemId: 'demo-guide', title: '下载清单', summary: '', totalFee: 2, unlocked: false },
      ],
    });
  });
});
