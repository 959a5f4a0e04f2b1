import { createWx, type RunningEmulator } from '../../emulator/src';
import { control, invoke, startProjectEmulator } from '../support/emulator';
import { RawClient } from './realtime-helpers';

/**
 * The security property of paid content: a non-payer has no client path to it, a payer gets it,
 * and a refund takes it away again. Runs this project's functions, `database/PAIDCONTENT.json`
 * (read and write false), `storage.json` (ADMINONLY) and the seed under `content/`.
 *
 * Sources: database rules apply to client requests, server SDK calls bypass them (platform-facts
 * §4); storage permissions "仅对前端(小程序端)访问生效" (云存储安全规则); a temporary link is
 * "私有的文件获取的链接十分钟有效期" / "可自定义有效期" (Cloud.getTempFileURL), and getcontent
 * asks for 600 s. Error codes: DATABASE_PERMISSION_DENIED -502003, STORAGE_EXCEED_AUTHORITY
 * -503002 (wx-server-sdk TCB_ERR_CODE). getcontent's errcodes are this project's (server/errors.ts).
 */

const PAYER = 'o_content_payer';
const EVE = 'o_content_eve';
const ADMIN = 'o_content_admin';
const BUCKET = 'cloud://local-env.6c6f-local-env-1250000000';
const LEAKED_PDF = `${BUCKET}/paid/demo-guide/checklist.pdf`;
const LEAKED_IMAGE = `${BUCKET}/paid/demo-unlock/states.png`;

interface Unlocked {
  locked: false;
  title: string;
  totalFee: number;
  cover: string;
  body: ({ type: string; text: string } | { type: 'image'; url: string; alt: string })[];
  files: { name: string; size: number; fileType: string; url: string }[];
  urlsExpireAt: number;
}

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startProjectEmulator({
    functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: ADMIN } },
  });
});
afterAll(() => emu.stop());

async function buy(openid: string, itemId: string): Promise<string> {
  const placed = await invoke<{ docid: string; tradeno: string }>(
    emu,
    'userpay',
    { itemId },
    { openid },
  );
  await control(emu, 'POST', `/pay/orders/${placed.tradeno}/confirm`);
  return placed.docid;
}

const getcontent = <T = Record<string, unknown>>(data: unknown, openid: string): Promise<T> =>
  invoke<T>(emu, 'getcontent', data, { openid });

async function fetchBytes(url: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('a non-payer has no client path to the paid content', () => {
  const wx = (): ReturnType<typeof createWx> => createWx({ url: emu.url, openid: EVE });

  it('PAIDCONTENT by query, by doc(id), by aggregate and by watch: all refused', async () => {
    const db = wx().cloud.database();
    const denied = expect.objectContaining({ errCode: -502003 });
    await expect(
      db.collection('PAIDCONTENT').where({ itemId: 'demo-unlock' }).get(),
    ).rejects.toEqual(denied);
    await expect(db.collection('PAIDCONTENT').get()).rejects.toEqual(denied);
    await expect(db.collection('PAIDCONTENT').doc('demo-unlock').get()).rejects.toEqual(denied);
    await expect(db.collection('PAIDCONTENT').aggregate().match({}).end()).rejects.toEqual(denied);
    // Watch, over the realtime socket the mini-program opens (raw frames: the JS client
    // @cloudbase/database 1.4.3 leaves an unhandled rejection behind on a denied INIT_WATCH).
    const socket = await RawClient.connect(emu.url, EVE);
    for (const query of [{ itemId: 'demo-unlock' }, { _id: 'demo-guide' }, {}]) {
      expect(
        await socket.initWatch(`w-${JSON.stringify(query)}`, 'PAIDCONTENT', query),
      ).toMatchObject({
        msgType: 'ERROR',
        msgData: { code: 'COLLECTION_PERMISSION_DENIED' },
      });
    }
    socket.close();
    // Writing is refused too (a non-payer cannot plant content either).
    await expect(
      db.collection('PAIDCONTENT').add({ data: { itemId: 'demo-unlock', body: [] } }),
    ).rejects.toEqual(denied);
  });

  it('files by getTempFileURL or downloadFile with a leaked or guessed fileID: refused', async () => {
    const client = wx();
    const urls = await client.cloud.getTempFileURL({
      fileList: [LEAKED_PDF, LEAKED_IMAGE, `${BUCKET}/paid/demo-guide/guessed.pdf`],
    });
    expect(urls.fileList.map((f) => [f.status, f.tempFileURL])).toEqual([
      [-503002, ''],
      [-503002, ''],
      [-503002, ''],
    ]);
    await expect(client.cloud.downloadFile({ fileID: LEAKED_PDF })).rejects.toEqual(
      expect.objectContaining({ errCode: -503002 }),
    );
    // The object store refuses an unsigned link to the same object.
    const unsigned = await fetch(
      `${emu.url}/tcb-storage/6c6f-local-env-1250000000/paid/demo-guide/checklist.pdf`,
    );
    expect(unsigned.status).toBe(403);
  });

  it('getcontent answers the teaser only, locked, with a cover and the price', async () => {
    const locked = await getcontent<Record<string, unknown>>({ itemId: 'demo-guide' }, EVE);
    expect(locked).toEqual({
      locked: true,
      itemId: 'demo-guide',
      title: '上线清单（PDF）',
      summary: expect.any(String) as string,
      cover: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/tcb-storage\//) as string,
      totalFee: 2,
    });
    const cover = await fetchBytes(String(locked.cover));
    expect(cover.bytes.subarray(1, 4).toString()).toBe('PNG');
  });

  it('getcontent with forged input: a clear error or the teaser, never the content', async () => {
    await buy(PAYER, 'demo-unlock');
    // Identity comes from the platform only: naming the payer in the event changes nothing.
    expect(await getcontent({ itemId: 'demo-unlock', openid: PAYER }, EVE)).toEqual({
      errcode: 40001,
      errmsg: expect.stringContaining('unknown field(s) openid') as string,
    });
    const withUserInfo = await getcontent<{ locked: boolean }>(
      { itemId: 'demo-unlock', userInfo: { openId: PAYER, appId: 'wx0000000000000000' } },
      EVE,
    );
    expect(withUserInfo.locked).toBe(true);
    expect(withUserInfo).not.toHaveProperty('body');
    expect(await getcontent({ itemId: 'no-such-item' }, EVE)).toEqual({
      errcode: 40002,
      errmsg: 'getcontent: unknown itemId "no-such-item"',
    });
    expect(await getcontent({ itemId: 7 }, EVE)).toEqual(
      expect.objectContaining({ errcode: 40001 }),
    );
    expect(await getcontent({}, EVE)).toEqual({
      errcode: 40001,
      errmsg: 'getcontent 参数错误: itemId is required',
    });
    expect(await getcontent(['demo-unlock'], EVE)).toEqual(
      expect.objectContaining({ errcode: 40001 }),
    );
  });
});

describe('a payer gets the content; a refund takes it away', () => {
  it('unlocked: text, the image and the file through 10-minute links; an expired link is refused', async () => {
    const docid = await buy(PAYER, 'demo-guide');
    const content = await getcontent<Unlocked>({ itemId: 'demo-guide' }, PAYER);
    expect(content.locked).toBe(false);
    expect(content.files).toEqual([
      { name: '上线清单.pdf', size: 916, fileType: 'pdf', url: expect.any(String) as string },
    ]);
    const pdf = await fetchBytes(content.files[0].url);
    expect(pdf.status).toBe(200);
    expect(pdf.bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.bytes.length).toBe(916);

    const article = await getcontent<Unlocked>({ itemId: 'demo-unlock' }, PAYER);
    const image = article.body.find((b) => b.type === 'image') as { url: string };
    expect((await fetchBytes(image.url)).bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(article.body.filter((b) => b.type === 'paragraph').length).toBeGreaterThan(0);

    // Replaying a link after its 600 s: refused.
    await emu.advanceClock(601_000);
    expect((await fetchBytes(content.files[0].url)).status).toBe(403);
    expect((await fetchBytes(image.url)).status).toBe(403);

    // Refund: the administrator asks, the sandbox settles after 10 s and calls payrefundnotify.
    expect(await invoke(emu, 'payrefund', { docid }, { openid: ADMIN })).toEqual(
      expect.objectContaining({ status: 'refunding' }),
    );
    await emu.advanceClock(10_000);
    await emu.services.pay.idle();
    const after = await getcontent<Record<string, unknown>>({ itemId: 'demo-guide' }, PAYER);
    expect(after.locked).toBe(true);
    expect(after).not.toHaveProperty('files');
    // The other purchase is untouched.
    expect((await getcontent<Unlocked>({ itemId: 'demo-unlock' }, PAYER)).locked).toBe(false);
  });

  it('getcatalog lists every item with its price and the caller’s unlocks', async () => {
    const mine = await invoke<{ items: { itemId: string; totalFee: number; unlocked: boolean }[] }>(
      emu,
      'getcatalog',
      {},
      { openid: PAYER },
    );
    expect(mine.items.map((i) => [i.itemId, i.totalFee, i.unlocked])).toEqual([
      ['demo-unlock', 1, true],
      ['demo-guide', 2, false],
    ]);
    const eves = await invoke<{ items: { unlocked: boolean }[] }>(
      emu,
      'getcatalog',
      {},
      { openid: EVE },
    );
    expect(eves.items.map((i) => i.unlocked)).toEqual([false, false]);
    expect(await invoke(emu, 'getcatalog', { openid: PAYER }, { openid: EVE })).toEqual(
      expect.objectContaining({ errcode: 40001 }),
    );
  });
});
