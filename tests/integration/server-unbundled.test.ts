import type { RunningEmulator } from '../../emulator/src';
import { control, documents, startProjectEmulator } from '../support/emulator';
import { platformEnv } from '../support/sdk';

/**
 * The server code as TypeScript, unbundled, in this jest process: the production wiring
 * (server/runtime.ts) and ledger (server/cloud-ledger.ts) with the real wx-server-sdk against the
 * emulator. The other integration tiers run the same code as esbuild bundles inside the emulator's
 * function workers, where jest's coverage cannot see it; this file is what makes the coverage
 * report for server/ true, and checks the ledger's transactions against the real SDK.
 */

type Runtime = typeof import('../../server/runtime');
type Payments = typeof import('../../server/payments');

let emu: RunningEmulator;
let runtime: Runtime;
let payments: Payments;
const savedEnv = { ...process.env };

beforeAll(async () => {
  emu = await startProjectEmulator({
    functionEnv: { payrefund: { CLOUDPAY_ADMIN_OPENIDS: 'o_admin' } },
  });
  // What the platform injects into a function instance; wx-server-sdk reads nothing else. The
  // dynamic env and the caller's context are read per call, so they can change between tests.
  Object.assign(process.env, platformEnv(emu.url, { openid: 'o_alice' }), {
    CLOUDPAY_ADMIN_OPENIDS: 'o_admin',
  });
  runtime = (await import('../../server/runtime')) as Runtime;
  payments = (await import('../../server/payments')) as Payments;
});
afterAll(async () => {
  for (const key of Object.keys(process.env)) {
    if (!(key in savedEnv)) Reflect.deleteProperty(process.env, key);
  }
  Object.assign(process.env, savedEnv);
  await emu.stop();
});
beforeEach(() => emu.reset());

function as(openid: string, source = 'wx_client'): void {
  process.env.WX_OPENID = openid;
  process.env.TCB_SOURCE = source;
}

const stored = async (tradeno: string) =>
  (
    await control<{ document: Record<string, unknown> }>(
      emu,
      'GET',
      `/collections/USERPAYLOG/documents/${tradeno}`,
    )
  ).document;

it('functionMain wires the caller from the platform context, never from the event', async () => {
  as('o_alice');
  expect(runtime.currentCaller()).toMatchObject({ openid: 'o_alice', source: 'wx_client' });
  const main = runtime.functionMain(payments.createOrder);
  const reply = (await main({ itemId: 'demo-unlock', openid: 'o_mallory' })) as Record<
    string,
    unknown
  >;
  // The recipe's `openid` field is refused outright (server/userpay.ts rejectRecipeFields).
  expect(reply).toMatchObject({ errcode: 40001, errmsg: expect.stringContaining('openid') });
  expect(await documents(emu, 'USERPAYLOG')).toEqual([]);
});

it('the whole loop through CloudLedger and the real SDK: order, lost callback, payquery, refund', async () => {
  as('o_alice');
  const userpay = runtime.functionMain(payments.createOrder);
  const placed = (await userpay({ itemId: 'demo-unlock' })) as { docid: string; tradeno: string };
  expect(placed.tradeno).toMatch(/^CP\d{14}[0-9A-Z]{12}$/);
  expect(await stored(placed.tradeno)).toMatchObject({ status: 'pending', _openid: 'o_alice' });
  // A second tap before paying: the same order (CloudLedger.findOpenOrder), no second charge.
  expect(await userpay({ itemId: 'demo-unlock' })).toEqual(placed);

  await control(emu, 'POST', '/faults', { pay: { callbacks: [{ action: 'lose' }] } });
  await control(emu, 'POST', `/pay/orders/${placed.tradeno}/confirm`);
  // payquery reconciles through CloudLedger.apply: paid and unlocked in one transaction.
  await emu.advanceClock(3_000);
  const payquery = runtime.functionMain(payments.queryForUser);
  expect(await payquery({ docid: placed.docid })).toEqual({
    docid: placed.docid,
    tradeno: placed.tradeno,
    status: 'paid',
    paystatus: 1,
  });
  expect(await documents(emu, 'USERUNLOCK')).toEqual([
    expect.objectContaining({ _openid: 'o_alice', itemId: 'demo-unlock', tradeno: placed.tradeno }),
  ]);
  expect(await userpay({ itemId: 'demo-unlock' })).toEqual({ unlocked: true });

  // The refund revokes the unlock when its notification lands, run here unbundled: the sandbox's
  // own notification (to the bundled payrefundnotify) is lost (emulator/docs/pay.md, faults).
  await control(emu, 'POST', '/faults', {
    pay: { callbacks: [{ action: 'lose', kind: 'refund' }] },
  });
  as('o_admin');
  const refund = runtime.functionMain(payments.requestRefund);
  expect(await refund({ docid: placed.docid })).toMatchObject({ status: 'refunding' });
  await emu.advanceClock(10_000);
  expect(await stored(placed.tradeno)).toMatchObject({ status: 'refunding' });
  as('', 'wx_paycallback');
  const refundNotify = runtime.functionMain(payments.handleRefundCallback);
  expect(await refundNotify({ reqInfo: { outTradeNo: placed.tradeno } })).toEqual(payments.ACK);
  expect(await stored(placed.tradeno)).toMatchObject({ status: 'refunded', paystatus: 1 });
  expect(await documents(emu, 'USERUNLOCK')).toEqual([]);
});

it('CloudLedger: anomalies are idempotent; expired pending orders are listed oldest first', async () => {
  const { CloudLedger } = await import('../../server/cloud-ledger');
  const cloud = (await import('wx-server-sdk')).default;
  const ledger = new CloudLedger(cloud.database());
  const anomaly = {
    _id: 'T1__x',
    tradeno: 'T1',
    kind: 'x',
    detail: 'd',
    evidence: {},
    at: 1,
    resolved: false,
  };
  await ledger.recordAnomaly(anomaly);
  await ledger.recordAnomaly({ ...anomaly, detail: 'again' });
  expect(await documents(emu, 'PAYANOMALY')).toEqual([expect.objectContaining({ _id: 'T1__x' })]);

  as('o_alice');
  await runtime.functionMain(payments.createOrder)({ itemId: 'demo-unlock' });
  as('o_bob');
  await emu.advanceClock(1_000);
  await runtime.functionMain(payments.createOrder)({ itemId: 'demo-unlock' });
  const all = await documents<{ tradeno: string; openid: string; expiresAt: number }>(
    emu,
    'USERPAYLOG',
  );
  const latest = Math.max(...all.map((o) => o.expiresAt));
  const listed = await ledger.listExpiredPending(latest + 1, 10);
  expect(listed.map((o) => o.openid)).toEqual(['o_alice', 'o_bob']);
  expect(await ledger.listExpiredPending(latest, 10)).toHaveLength(1);
  expect(await ledger.getOrder('CP20000101000000NOSUCHORDER01')).toBeUndefined();
  expect(await ledger.getUnlock('o_alice', 'demo-unlock')).toBeUndefined();
});

describe('CloudLedger against the real SDK: the branches a race or a late write takes', () => {
  // Unique indexes: database/USERPAYLOG.json (`open_order_unique` on openKey). A violation is
  // DATABASE_REQUEST_FAILED with MongoDB's `E11000 duplicate key error` message
  // (emulator/docs/database.md, errors table; MongoDB manual, "Unique Indexes").
  const ledger = async () => {
    const { CloudLedger } = await import('../../server/cloud-ledger');
    const cloud = (await import('wx-server-sdk')).default;
    return new CloudLedger(cloud.database());
  };
  type Order = import('../../server/records').OrderRecord;

  async function pendingOrder(): Promise<Order> {
    as('o_alice');
    const placed = (await runtime.functionMain(payments.createOrder)({
      itemId: 'demo-unlock',
    })) as { tradeno: string };
    return (await stored(placed.tradeno)) as unknown as Order;
  }

  it('insertOrder: a second open order for the same user and item loses the race to the index', async () => {
    const first = await pendingOrder();
    const rival = 'CP20000101000000RIVALORDER01';
    expect(await (await ledger()).insertOrder({ ...first, _id: rival, tradeno: rival })).toBe(
      'open-order-exists',
    );
    expect((await documents<Order>(emu, 'USERPAYLOG')).map((o) => o._id)).toEqual([first._id]);
  });

  it('insertOrder: a duplicate that is not an open-order race is thrown, not swallowed', async () => {
    const first = await pendingOrder();
    // The same _id for another item: no open order of that user and item explains it, so the
    // caller must see it.
    await expect(
      (await ledger()).insertOrder({
        ...first,
        itemId: 'demo-guide',
        openKey: 'o_alice|demo-guide',
      }),
    ).rejects.toMatchObject({ errCode: -502001, errMsg: expect.stringContaining('E11000') });
    expect(await documents(emu, 'USERPAYLOG')).toHaveLength(1);
  });

  it('savePrepay refuses an order that stopped being pending (its payment is never handed out)', async () => {
    const first = await pendingOrder();
    const closed = `CP20000101000000CLOSEDORDR01`;
    await (
      await ledger()
    ).insertOrder({
      ...first,
      _id: closed,
      tradeno: closed,
      openKey: closed,
      status: 'closed',
    });
    await expect(
      (await ledger()).savePrepay(closed, { returnCode: 'SUCCESS', prepayId: 'wx1' }, 1),
    ).rejects.toThrow(`order ${closed} is no longer pending`);
    expect(await stored(closed)).toMatchObject({ status: 'closed', uniOrder: first.uniOrder });
  });

  it('apply: an anomaly in the plan is written in the same transaction; a missing order changes nothing', async () => {
    const first = await pendingOrder();
    const l = await ledger();
    const anomaly = {
      _id: `${first._id}__amount`,
      tradeno: first._id,
      kind: 'amount',
      detail: 'paid 1 fen',
      evidence: { totalFee: 1 },
      at: 5,
      resolved: false,
    };
    expect(await l.apply(first._id, (order) => ({ result: order?.status, anomaly }))).toBe(
      'pending',
    );
    expect(await documents(emu, 'PAYANOMALY')).toEqual([
      { ...anomaly, _id: `${first._id}__amount` },
    ]);
    // No order: decide sees undefined, and an order change in the plan has nothing to update.
    const missing = 'CP20000101000000NOSUCHORDER02';
    expect(
      await l.apply(missing, (order) => ({
        result: order === undefined,
        order: { status: 'paid' as const },
      })),
    ).toBe(true);
    expect(await documents(emu, 'USERPAYLOG')).toHaveLength(1);
  });
});

describe('the content functions unbundled (contentMain, CloudContentStore)', () => {
  // Seed: content/database/PAIDCONTENT.json and content/storage/ (reset writes them again,
  // emulator/docs/envs.md). getTempFileURL answers each file with status 0 and a tempFileURL
  // (Cloud.getTempFileURL docs); getcontent's reply shapes are this project's (server/content.ts).
  it('locked for a non-payer, the full content with fetchable URLs once paid', async () => {
    const getcontent = runtime.contentMain((await import('../../server/content')).getContent);
    as('o_alice');
    const locked = (await getcontent({ itemId: 'demo-guide' })) as unknown as Record<
      string,
      unknown
    >;
    expect(locked).toMatchObject({ itemId: 'demo-guide', locked: true });
    expect(locked).not.toHaveProperty('body');

    const placed = (await runtime.functionMain(payments.createOrder)({
      itemId: 'demo-guide',
    })) as { tradeno: string };
    await control(emu, 'POST', `/pay/orders/${placed.tradeno}/confirm`);
    const open = (await getcontent({ itemId: 'demo-guide' })) as {
      locked: boolean;
      files: { name: string; url: string }[];
    };
    expect(open.locked).toBe(false);
    expect(open.files.length).toBeGreaterThan(0);
    for (const file of open.files) {
      expect((await fetch(file.url)).status).toBe(200);
    }
    as('o_bob');
    expect(await getcontent({ itemId: 'demo-guide' })).toMatchObject({ locked: true });
  });

  it('a configuration error becomes the CONFIG reply for payment and content functions alike', async () => {
    // Fresh module instances (their deps are built once per instance), with a merchant id that is
    // not the 8-12 digit 商户号 (server/config.ts).
    process.env.CLOUDPAY_SUB_MCH_ID = 'not-a-merchant';
    try {
      await jest.isolateModulesAsync(async () => {
        const fresh = (await import('../../server/runtime')) as Runtime;
        const content = await import('../../server/content');
        as('o_alice');
        const config = { errcode: 50001, errmsg: expect.stringContaining('not-a-merchant') };
        expect(await fresh.contentMain(content.getContent)({ itemId: 'demo-guide' })).toEqual(
          config,
        );
        expect(await fresh.functionMain(payments.createOrder)({ itemId: 'demo-unlock' })).toEqual(
          config,
        );
      });
    } finally {
      delete process.env.CLOUDPAY_SUB_MCH_ID;
    }
    expect(await documents(emu, 'USERPAYLOG')).toEqual([]);
  });
});
