// createWx against a real emulator running this project's functions and database files: the
// mini-program side of the loop (wx.cloud.callFunction, wx.cloud.database, wx.requestPayment)
// through the real @cloudbase/database client, the real functions and the real wx-server-sdk.
import path from 'node:path';
import { createWx, type EmulatedWx, type RunningEmulator } from '../../emulator/src';
import { control, documents, startProjectEmulator } from '../support/emulator';

const ALICE = 'o-alice-client-test';
const BOB = 'o-bob-client-test';

interface Order {
  docid: string;
  tradeno: string;
  payment: {
    timeStamp: string;
    nonceStr: string;
    package: string;
    signType: string;
    paySign: string;
  };
}

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startProjectEmulator();
});
afterAll(() => emu.stop());
beforeEach(() => emu.reset());

async function userpay(wx: EmulatedWx): Promise<Order> {
  const res = await wx.cloud.callFunction({ name: 'userpay', data: { itemId: 'demo-unlock' } });
  const result = res.result as Partial<Order>;
  if (!result.docid || !result.tradeno || !result.payment) {
    throw new Error(`userpay answered ${JSON.stringify(res.result)}`);
  }
  return result as Order;
}

describe('cloud.callFunction', () => {
  test('runs the function as the user (SOURCE wx_client) and answers like the platform', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE });
    const res = await wx.cloud.callFunction({ name: 'userpay', data: { itemId: 'demo-unlock' } });
    expect(res.errMsg).toBe('cloud.callFunction:ok');
    expect(res.requestID).toMatch(/\S/);
    const order = res.result as Order;
    expect(order.payment.package).toMatch(/^prepay_id=/);
    const [stored] = await documents<{ _id: string; _openid: string; paystatus: number }>(
      emu,
      'USERPAYLOG',
    );
    expect(stored).toMatchObject({ _id: order.docid, _openid: ALICE, paystatus: 0 });
    const [invocation] = emu.services.functions.invocations({ name: 'userpay' });
    expect(invocation).toMatchObject({ openid: ALICE, source: 'wx_client' });
  });

  test('a platform failure rejects with errCode and a cloud.callFunction:fail errMsg', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE });
    await expect(
      wx.cloud.callFunction({ name: 'no-such-function', data: {} }),
    ).rejects.toMatchObject({
      errCode: expect.any(Number),
      // "cloud.callFunction:fail" is the platform's errMsg prefix; naming the missing function
      // after it is the emulator's wording.
      errMsg: expect.stringMatching(/^cloud\.callFunction:fail .*no-such-function/),
    });
  });

  test('callback style: success then complete get the same result, and nothing is returned', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE });
    const seen: string[] = [];
    const done = new Promise<unknown>((resolve) => {
      const returned: unknown = wx.cloud.callFunction({
        name: 'userpay',
        data: { itemId: 'demo-unlock' },
        success: (res) => seen.push(`success ${res.errMsg}`),
        fail: (err) => seen.push(`fail ${err.errMsg}`),
        complete: resolve,
      });
      seen.push(`returned ${String(returned)}`);
    });
    const res = (await done) as { errMsg: string };
    expect(res.errMsg).toBe('cloud.callFunction:ok');
    expect(seen).toEqual(['returned undefined', 'success cloud.callFunction:ok']);
  });
});

describe('requestPayment', () => {
  test('confirm: ok, the callback lands, and the user reads their own order as paid', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE, decide: () => 'confirm' });
    const order = await userpay(wx);
    await expect(wx.requestPayment(order.payment)).resolves.toEqual({
      errMsg: 'requestPayment:ok',
    });
    // requestPayment success is not proof of payment: wait for the callback to be delivered.
    await emu.services.pay.idle();
    const db = wx.cloud.database();
    const mine = await db
      .collection('USERPAYLOG')
      .where({ _id: order.docid, _openid: ALICE })
      .get();
    expect(mine.errMsg).toBe('collection.get:ok');
    expect(mine.data).toHaveLength(1);
    expect(mine.data[0]).toMatchObject({ _id: order.docid, paystatus: 1, status: 'paid' });
  });

  test("the '{openid}' placeholder reads the user's own order (the page's query)", async () => {
    const wx = createWx({ url: emu.url, openid: ALICE, decide: () => 'confirm' });
    const order = await userpay(wx);
    await wx.requestPayment(order.payment);
    await emu.services.pay.idle();
    const res = await wx.cloud
      .database()
      .collection('USERPAYLOG')
      .where({ _id: order.docid, _openid: '{openid}' })
      .get();
    expect(res.data).toEqual([expect.objectContaining({ _id: order.docid, paystatus: 1 })]);
  });

  test('cancel rejects with requestPayment:fail cancel and the order stays unpaid', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE, decide: () => 'cancel' });
    const order = await userpay(wx);
    await expect(wx.requestPayment(order.payment)).rejects.toEqual({
      errMsg: 'requestPayment:fail cancel',
    });
    const sandbox = await control<{ order: { tradeState: string } }>(
      emu,
      'GET',
      `/pay/orders/${order.tradeno}`,
    );
    expect(sandbox.order.tradeState).toBe('NOTPAY');
  });

  test('fail rejects with a requestPayment:fail detail that is not a cancel', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE, decide: () => 'fail' });
    const order = await userpay(wx);
    const err = (await wx.requestPayment(order.payment).catch((e: unknown) => e)) as {
      errMsg: string;
    };
    expect(err.errMsg).toMatch(/^requestPayment:fail /);
    expect(err.errMsg).not.toBe('requestPayment:fail cancel');
  });

  test('without decide, the call waits for an outside decision (a control call)', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE });
    const order = await userpay(wx);
    const paying = wx.requestPayment(order.payment);
    // The sheet is open and listed until someone decides.
    let open: { outTradeNo: string; state: string }[] = [];
    for (let i = 0; i < 100 && !open.length; i++) {
      open = (
        await control<{ requests: { outTradeNo: string; state: string }[] }>(
          emu,
          'GET',
          '/pay/requests',
        )
      ).requests.filter((r) => r.state === 'open');
      if (!open.length) await new Promise((r) => setTimeout(r, 10));
    }
    expect(open).toEqual([expect.objectContaining({ outTradeNo: order.tradeno })]);
    await control(emu, 'POST', `/pay/orders/${order.tradeno}/confirm`, { openid: ALICE });
    await expect(paying).resolves.toEqual({ errMsg: 'requestPayment:ok' });
  });

  test('callback style: fail then complete get the errMsg', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE, decide: () => 'cancel' });
    const order = await userpay(wx);
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      wx.requestPayment({
        ...order.payment,
        success: () => seen.push('success'),
        fail: (err) => seen.push(`fail ${err.errMsg}`),
        complete: () => resolve(),
      });
    });
    expect(seen).toEqual(['fail requestPayment:fail cancel']);
  });

  test('an edited payment object is refused by the pay sheet', async () => {
    const wx = createWx({ url: emu.url, openid: ALICE, decide: () => 'confirm' });
    const order = await userpay(wx);
    await expect(wx.requestPayment({ ...order.payment, nonceStr: 'tampered' })).rejects.toEqual({
      errMsg: expect.stringMatching(/^requestPayment:fail .*paySign/),
    });
  });

  test("another user's payment object is refused", async () => {
    const alice = createWx({ url: emu.url, openid: ALICE });
    const bob = createWx({ url: emu.url, openid: BOB, decide: () => 'confirm' });
    const order = await userpay(alice);
    await expect(bob.requestPayment(order.payment)).rejects.toEqual({
      errMsg: expect.stringMatching(/^requestPayment:fail .*another user/),
    });
  });
});

describe('cloud.database', () => {
  test('count, where with commands, orderBy/skip/field, and the client limit of 20', async () => {
    // This project's rules forbid client writes: seed through the store (the server side).
    const docs = Array.from({ length: 25 }, (_, i) => ({
      _id: `seed-${String(i).padStart(2, '0')}`,
      _openid: ALICE,
      itemId: `item-${String(i).padStart(2, '0')}`,
      tradeno: `T${i}`,
      openKey: `seed-${i}`,
    }));
    emu.services.database.store.insert('USERPAYLOG', docs);
    const wx = createWx({ url: emu.url, openid: ALICE });
    const db = wx.cloud.database();
    const _ = db.command as { in(values: unknown[]): unknown };
    const mine = db.collection('USERPAYLOG').where({ _openid: ALICE });
    await expect(mine.count()).resolves.toEqual({ total: 25, errMsg: 'collection.count:ok' });
    // 20 by default and at most 20, as in the mini-program (the server SDK would give 25).
    expect((await mine.get()).data).toHaveLength(20);
    expect((await mine.limit(100).get()).data).toHaveLength(20);
    expect((await mine.limit(3).get()).data).toHaveLength(3);
    const page = await db
      .collection('USERPAYLOG')
      .where({ _openid: ALICE, itemId: _.in(['item-00', 'item-01', 'item-02']) })
      .orderBy('itemId', 'desc')
      .skip(1)
      .field({ itemId: true })
      .get();
    expect(page.data.map((d) => d.itemId)).toEqual(['item-01', 'item-00']);
    expect(page.data[0]).not.toHaveProperty('tradeno');
  });
});

describe('cloud.database on a collection clients may write (fixture project: NOTES)', () => {
  // NOTES: anyone reads, only the owner writes (rules in tests/fixtures/client-project/database).
  let notes: RunningEmulator;
  beforeAll(async () => {
    notes = await startProjectEmulator({
      projectDir: path.resolve(__dirname, '../fixtures/client-project'),
      functionsDir: path.resolve(__dirname, '../fixtures/functions'),
    });
  });
  afterAll(() => notes.stop());

  test("add({data}) stores the document itself, stamped with the caller's _openid", async () => {
    const wx = createWx({ url: notes.url, openid: ALICE });
    const db = wx.cloud.database();
    const added = await db.collection('NOTES').add({ data: { text: 'hello', n: 1 } });
    expect(added).toEqual({ _id: expect.any(String), errMsg: 'collection.add:ok' });
    const got = await db.collection('NOTES').doc(added._id).get();
    expect(got).toEqual({
      data: { _id: added._id, _openid: ALICE, text: 'hello', n: 1 },
      errMsg: 'document.get:ok',
    });
  });

  test("doc(id).get() of a missing document rejects with the mini-program's errMsg", async () => {
    const wx = createWx({ url: notes.url, openid: ALICE });
    await expect(wx.cloud.database().collection('NOTES').doc('missing-id').get()).rejects.toEqual({
      errMsg: 'document.get:fail document with _id missing-id does not exist',
    });
  });

  test("update({data}) with commands, and remove, on the owner's query", async () => {
    // By query pinning '{openid}', which the rule engine accepts. (Whether the platform also lets
    // the owner write by doc(id) under this rule is raised with the rules engineer.)
    const wx = createWx({ url: notes.url, openid: ALICE });
    const db = wx.cloud.database();
    const _ = db.command as { inc(n: number): unknown };
    const { _id } = await db.collection('NOTES').add({ data: { text: 'a', n: 1 } });
    const mine = db.collection('NOTES').where({ _id, _openid: '{openid}' });
    await expect(mine.update({ data: { n: _.inc(2), text: 'b' } })).resolves.toEqual({
      stats: { updated: 1 },
      errMsg: 'collection.update:ok',
    });
    expect((await db.collection('NOTES').doc(_id).get()).data).toMatchObject({ n: 3, text: 'b' });
    await expect(mine.remove()).resolves.toEqual({
      stats: { removed: 1 },
      errMsg: 'collection.remove:ok',
    });
    await expect(db.collection('NOTES').where({ _id }).count()).resolves.toEqual({
      total: 0,
      errMsg: 'collection.count:ok',
    });
  });

  test("another user cannot change the owner's document: the platform's permission error", async () => {
    const alice = createWx({ url: notes.url, openid: ALICE });
    const bob = createWx({ url: notes.url, openid: BOB });
    const { _id } = await alice.cloud
      .database()
      .collection('NOTES')
      .add({ data: { text: 'mine' } });
    await expect(
      bob.cloud
        .database()
        .collection('NOTES')
        .doc(_id)
        .update({ data: { text: 'yours' } }),
    ).rejects.toMatchObject({
      errCode: -502003,
      errMsg: expect.stringMatching(/^document\.update:fail -502003 DATABASE_PERMISSION_DENIED/),
    });
  });
});
