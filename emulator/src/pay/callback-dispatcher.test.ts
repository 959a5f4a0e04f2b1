import { Clock } from '../clock';
import {
  CallbackDispatcher,
  RETRY_DELAYS_MS,
  type DeliveryOutcome,
  type DeliveryRequest,
  type DispatcherDeps,
  type Notification,
} from './callbacks';

/**
 * The CallbackDispatcher on its own: a delivery function and the emulated clock, no order book.
 * Sources: CloudPay's callback protocol (the function must return {errcode: 0, errmsg}, "否则会视为
 * 回调不成功，云函数会收到重复的支付回调": developers.weixin.qq.com/miniprogram/dev/wxcloudservice/
 * wxcloud/reference-sdk-api/open/pay/paymentCallback.md) and WeChat Pay's notify schedule (15s/15s/
 * 30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h; "同样的通知可能会多次发送":
 * pay.weixin.qq.com/doc/v2/merchant/4011937248). Verdicts, clock labels and notification ids are
 * the emulator's wording, shown in its console and journal.
 */

const T0 = Date.UTC(2024, 0, 1, 4, 0, 0);
const at = (ms: number): string => new Date(T0 + ms).toISOString();
const ACK = { result: { errcode: 0, errmsg: 'OK' } };
const REFUSE = { result: { errcode: -1, errmsg: 'busy' } };

interface Rig {
  clock: Clock;
  dispatcher: CallbackDispatcher;
  delivered: DeliveryRequest[];
  reply: (req: DeliveryRequest, n: number) => DeliveryOutcome | Promise<DeliveryOutcome>;
  advance: (ms: number) => Promise<void>;
}

let clock: Clock | undefined;
afterEach(() => {
  clock?.stop();
  clock = undefined;
  jest.restoreAllMocks();
});

/** A dispatcher on a frozen real clock (only `advance` moves emulated time), hooks only if given. */
function rig(hooks: Pick<DispatcherDeps, 'onAttempt' | 'onChange'> = {}): Rig {
  jest.spyOn(Date, 'now').mockReturnValue(T0);
  clock = new Clock();
  const r: Rig = {
    clock,
    delivered: [],
    reply: () => ACK,
    dispatcher: undefined as unknown as CallbackDispatcher,
    advance: async (ms) => {
      await r.clock.advance(ms);
      await r.dispatcher.idle();
    },
  };
  r.dispatcher = new CallbackDispatcher({
    clock,
    deliver: async (req) => {
      r.delivered.push(req);
      return r.reply(req, r.delivered.length);
    },
    ...hooks,
  });
  return r;
}

const payment = (outTradeNo: string) => ({
  kind: 'payment' as const,
  functionName: 'paynotify',
  event: { outTradeNo, totalFee: 1 },
  openid: 'o_payer',
  outTradeNo,
});
const refund = (outTradeNo: string, outRefundNo: string) => ({
  ...payment(outTradeNo),
  kind: 'refund' as const,
  functionName: 'refundnotify',
  outRefundNo,
});

type NotificationInput = Parameters<CallbackDispatcher['notify']>[0];

async function notify(r: Rig, input: NotificationInput): Promise<Notification> {
  const n = r.dispatcher.notify(input);
  await r.dispatcher.idle();
  return n;
}

const sent = (r: Rig): string[] =>
  r.delivered.map((d) => d.outTradeNo + (d.outRefundNo ? `/${d.outRefundNo}` : ''));

describe('what a delivery is and how an attempt is recorded', () => {
  test('a payment request has no outRefundNo, a refund request has its own; ids count up', async () => {
    const r = rig();
    r.reply = (_req, n) => (n === 1 ? { ...ACK, invocationId: 'inv-1' } : ACK);
    const pay = await notify(r, payment('ORDER1'));
    const back = await notify(r, refund('ORDER1', 'REFUND1'));
    expect([pay.id, back.id]).toEqual(['ntf-1', 'ntf-2']);
    expect(r.delivered).toStrictEqual([
      {
        kind: 'payment',
        functionName: 'paynotify',
        event: { outTradeNo: 'ORDER1', totalFee: 1 },
        openid: 'o_payer',
        outTradeNo: 'ORDER1',
      },
      {
        kind: 'refund',
        functionName: 'refundnotify',
        event: { outTradeNo: 'ORDER1', totalFee: 1 },
        openid: 'o_payer',
        outTradeNo: 'ORDER1',
        outRefundNo: 'REFUND1',
      },
    ]);
    expect(pay.attempts).toStrictEqual([
      {
        attempt: 1,
        time: at(0),
        dueAt: at(0),
        trigger: 'initial',
        outcome: 'acknowledged',
        reply: { errcode: 0, errmsg: 'OK' },
        verdict: 'acknowledged: {errcode: 0}',
        invocationId: 'inv-1',
      },
    ]);
    expect(back.attempts[0]).not.toHaveProperty('invocationId');
    expect(pay).toMatchObject({ acknowledged: true, acknowledgedAt: at(0), gaveUp: false });
    expect(r.dispatcher.list()).toEqual([pay, back]);
  });

  test('a delivery that throws counts as the function failing: errCode -1 with its message', async () => {
    const r = rig();
    r.reply = (_req, n) => {
      // An Error, then a thrown string: both reach the record as errMsg.
      if (n === 1) throw new Error('function runtime unreachable');
      if (n === 2) throw 'socket hang up';
      return ACK;
    };
    const n = await notify(r, payment('ORDER2'));
    await r.advance(15e3);
    expect(n.attempts.map((a) => [a.attempt, a.time, a.outcome, a.reply])).toEqual([
      [1, at(0), 'failed', { errCode: -1, errMsg: 'function runtime unreachable' }],
      [2, at(15e3), 'failed', { errCode: -1, errMsg: 'socket hang up' }],
    ]);
    expect(n.nextAttemptAt).toBe(at(30e3));
    await r.advance(15e3);
    expect(n.acknowledged).toBe(true);
  });

  test('without onAttempt/onChange hooks every kind of attempt still goes through', async () => {
    const r = rig();
    const n = await notify(r, payment('ORDER3'));
    r.dispatcher.injectFaults([
      { action: 'drop', count: 1, delayMs: 0 },
      { action: 'lose', count: 1, delayMs: 0 },
    ]);
    await r.dispatcher.resend(n);
    await r.dispatcher.resend(n);
    await r.dispatcher.resend(n);
    expect(n.attempts.map((a) => [a.trigger, a.fault, a.outcome])).toEqual([
      ['initial', undefined, 'acknowledged'],
      ['resend', 'drop', 'dropped'],
      ['resend', 'lose', 'dropped'],
      ['resend', undefined, 'acknowledged'],
    ]);
  });

  test('the hooks see every attempt, and the change after its outcome and next retry', async () => {
    const seen: string[] = [];
    const r = rig({
      onAttempt: (_n, a) => seen.push(`attempt ${a.attempt} ${a.outcome}`),
      onChange: (n) => seen.push(`change next=${n.nextAttemptAt ?? '-'} ack=${n.acknowledged}`),
    });
    r.reply = (_req, n) => (n === 1 ? REFUSE : ACK);
    await notify(r, payment('ORDER4'));
    await r.advance(15e3);
    expect(seen).toEqual([
      'attempt 1 rejected',
      `change next=${at(15e3)} ack=false`,
      'attempt 2 acknowledged',
      'change next=- ack=true',
    ]);
  });

  test('drop and lose attempts are recorded with their fault and why nothing arrived', async () => {
    const r = rig();
    r.dispatcher.injectFaults([{ action: 'drop', count: 1, delayMs: 0, outTradeNo: 'ORDER5' }]);
    r.dispatcher.injectFaults([{ action: 'lose', count: 1, delayMs: 0, outTradeNo: 'ORDER6' }]);
    const dropped = await notify(r, payment('ORDER5'));
    const lost = await notify(r, payment('ORDER6'));
    expect(dropped.attempts).toStrictEqual([
      {
        attempt: 1,
        time: at(0),
        dueAt: at(0),
        trigger: 'initial',
        fault: 'drop',
        outcome: 'dropped',
        verdict:
          'dropped in transit (drop fault): no reply reached WeChat, so it retries on schedule',
      },
    ]);
    expect(lost.attempts).toStrictEqual([
      {
        attempt: 1,
        time: at(0),
        dueAt: at(0),
        trigger: 'initial',
        fault: 'lose',
        outcome: 'dropped',
        verdict: 'lost: this notification never reaches the function (lose fault)',
      },
    ]);
    expect(r.delivered).toEqual([]);
  });
});

describe('the retry schedule', () => {
  test('a resend is an extra attempt: it neither adds a retry nor moves the schedule', async () => {
    const r = rig();
    r.reply = () => REFUSE;
    const n = await notify(r, payment('ORDER7'));
    await r.advance(5e3);
    await r.dispatcher.resend(n);
    // WeChat Pay's schedule from the first attempt: +15 s, +15 s, +30 s.
    await r.advance(10e3);
    expect(r.delivered).toHaveLength(3);
    await r.advance(15e3);
    expect(r.delivered).toHaveLength(4);
    expect(n.nextAttemptAt).toBe(at(60e3));
    await r.advance(30e3);
    expect(n.attempts.map((a) => [a.trigger, a.dueAt])).toEqual([
      ['initial', at(0)],
      ['resend', at(5e3)],
      ['retry', at(15e3)],
      ['retry', at(30e3)],
      ['retry', at(60e3)],
    ]);
    expect(r.clock.pending()).toEqual([{ at: T0 + 240e3, label: 'pay callback ORDER7 retry 4' }]);
  });

  test('a failure after the acknowledgement schedules nothing (a failing duplicate copy)', async () => {
    const r = rig();
    r.reply = (_req, n) => (n === 1 ? ACK : REFUSE);
    r.dispatcher.injectFaults([{ action: 'duplicate', count: 1, delayMs: 0 }]);
    const n = await notify(r, payment('ORDER8'));
    expect(n.attempts.map((a) => a.outcome)).toEqual(['acknowledged', 'rejected']);
    expect(n).toMatchObject({ acknowledged: true, gaveUp: false });
    expect(n.nextAttemptAt).toBeUndefined();
    expect(r.clock.pending()).toEqual([]);
    await r.advance(24 * 3600e3);
    expect(r.delivered).toHaveLength(2);
  });

  test('the first acknowledgement time is kept when a later resend is acknowledged too', async () => {
    const r = rig();
    const n = await notify(r, payment('ORDER9'));
    await r.advance(3600e3);
    await r.dispatcher.resend(n);
    expect(n.attempts.map((a) => a.outcome)).toEqual(['acknowledged', 'acknowledged']);
    expect(n.acknowledgedAt).toBe(at(0));
  });

  test('stats count acknowledged and given-up notifications apart', async () => {
    const r = rig();
    r.dispatcher.injectFaults([{ action: 'lose', count: 1, delayMs: 0, outTradeNo: 'LOST' }]);
    await notify(r, payment('FINE'));
    await notify(r, payment('LOST'));
    for (const delay of RETRY_DELAYS_MS) await r.advance(delay);
    expect(r.dispatcher.stats()).toEqual({
      notifications: 2,
      delivered: 1,
      retried: 15,
      dropped: 16,
      acknowledged: 1,
      gaveUp: 1,
    });
  });
});

describe('fault rules', () => {
  test('a rule for one kind leaves the other kind alone', async () => {
    const r = rig();
    r.dispatcher.injectFaults([{ action: 'drop', count: 1, delayMs: 0, kind: 'refund' }]);
    await notify(r, payment('ORDER10'));
    await notify(r, refund('ORDER10', 'R10'));
    expect(sent(r)).toEqual(['ORDER10']);
    expect(r.dispatcher.pendingFaults()).toEqual([]);
  });

  test('pendingFaults are copies of what is left; clearFaults empties the queue', async () => {
    const r = rig();
    const rules = [
      { action: 'drop' as const, count: 2, delayMs: 0, outTradeNo: 'ORDER11' },
      { action: 'delay' as const, count: 1, delayMs: 5e3, kind: 'refund' as const },
    ];
    r.dispatcher.injectFaults(rules);
    await notify(r, payment('ORDER11'));
    const pending = r.dispatcher.pendingFaults();
    expect(pending).toEqual([{ ...rules[0], count: 1 }, rules[1]]);
    (pending[0] as { count: number }).count = 99;
    expect(r.dispatcher.pendingFaults()[0]?.count).toBe(1);
    expect(rules[0]?.count).toBe(2);
    r.dispatcher.clearFaults();
    expect(r.dispatcher.pendingFaults()).toEqual([]);
    await notify(r, refund('ORDER12', 'R12'));
    expect(sent(r)).toEqual(['ORDER12/R12']);
  });

  test('the clock shows what a delay, a reorder and a retry wait for', async () => {
    const r = rig();
    r.reply = () => REFUSE;
    r.dispatcher.injectFaults([
      { action: 'delay', count: 1, delayMs: 60e3, outTradeNo: 'D' },
      { action: 'reorder', count: 1, delayMs: 5e3, outTradeNo: 'R' },
    ]);
    await notify(r, payment('D'));
    await notify(r, payment('R'));
    await notify(r, payment('F'));
    expect(r.clock.pending()).toEqual([
      // R was overtaken by F's delivery and delivered right after it, so its deadline is gone.
      { at: T0 + 15e3, label: 'pay callback F retry 1' },
      { at: T0 + 15e3, label: 'pay callback R retry 1' },
      { at: T0 + 60e3, label: 'pay callback D (delayed)' },
    ]);
    r.dispatcher.injectFaults([{ action: 'reorder', count: 1, delayMs: 5e3, outTradeNo: 'R' }]);
    await r.dispatcher.resend(r.dispatcher.list()[1] as Notification);
    expect(r.clock.pending()).toContainEqual({
      at: T0 + 5e3,
      label: 'pay callback R (reordered, deadline)',
    });
  });
});

describe('reorder', () => {
  test('held attempts go at their deadline or after another delivery, never twice', async () => {
    const r = rig();
    r.dispatcher.injectFaults([
      { action: 'reorder', count: 1, delayMs: 5e3, outTradeNo: 'A' },
      { action: 'reorder', count: 1, delayMs: 10e3, outTradeNo: 'B' },
    ]);
    const a = await notify(r, payment('A'));
    await notify(r, payment('B'));
    await r.advance(5e3);
    // A's deadline delivery is itself out of order: it does not release B.
    expect(sent(r)).toEqual(['A']);
    expect(a.attempts[0]).toMatchObject({ fault: 'reorder', dueAt: at(5e3), time: at(5e3) });
    await r.advance(1e3);
    await notify(r, payment('C'));
    expect(sent(r)).toEqual(['A', 'C', 'B']);
    expect(r.dispatcher.list()[1]?.attempts[0]).toMatchObject({ fault: 'reorder' });
    await notify(r, payment('D'));
    await r.advance(24 * 3600e3);
    expect(sent(r)).toEqual(['A', 'C', 'B', 'D']);
  });

  test("a notification's own delivery does not release its own held attempt", async () => {
    const r = rig();
    r.dispatcher.injectFaults([{ action: 'reorder', count: 1, delayMs: 60e3, outTradeNo: 'A' }]);
    const a = await notify(r, payment('A'));
    await r.dispatcher.resend(a);
    expect(a.attempts.map((x) => x.trigger)).toEqual(['resend']);
    await notify(r, payment('C'));
    expect(sent(r)).toEqual(['A', 'C', 'A']);
    expect(a.attempts.map((x) => [x.trigger, x.fault])).toEqual([
      ['resend', undefined],
      ['initial', 'reorder'],
    ]);
    await r.advance(24 * 3600e3);
    expect(sent(r)).toEqual(['A', 'C', 'A']);
  });
});

describe('reset, idle and restore', () => {
  test('reset forgets notifications, faults, retries, delays and held attempts', async () => {
    const r = rig();
    r.reply = () => REFUSE;
    await notify(r, payment('RETRYING'));
    r.dispatcher.injectFaults([
      { action: 'delay', count: 1, delayMs: 60e3, outTradeNo: 'DELAYED' },
      { action: 'reorder', count: 1, delayMs: 60e3, outTradeNo: 'HELD' },
      { action: 'drop', count: 5, delayMs: 0, outTradeNo: 'NEVER' },
    ]);
    await notify(r, payment('DELAYED'));
    await notify(r, payment('HELD'));
    r.dispatcher.reset();
    expect(r.dispatcher.list()).toEqual([]);
    expect(r.dispatcher.pendingFaults()).toEqual([]);
    expect(r.clock.pending()).toEqual([]);
    await r.advance(48 * 3600e3);
    expect(sent(r)).toEqual(['RETRYING']);
  });

  test('idle waits for a delivery that takes real time', async () => {
    const r = rig();
    r.reply = () => new Promise((resolve) => setTimeout(() => resolve(ACK), 20));
    const n = r.dispatcher.notify(payment('SLOW'));
    await r.dispatcher.idle();
    expect(n.attempts.map((a) => a.outcome)).toEqual(['acknowledged']);
  });

  test('idle gives up after 1000 rounds of deliveries that keep starting more', async () => {
    const r = rig();
    let going = true;
    // Each delivery takes a turn of the event loop, then starts the next one (a resend).
    r.reply = () =>
      new Promise((resolve) =>
        setImmediate(() => {
          if (going) void r.dispatcher.resend(r.dispatcher.list()[0] as Notification);
          resolve(ACK);
        }),
      );
    r.dispatcher.notify(payment('LOOP'));
    await r.dispatcher.idle();
    const made = r.delivered.length;
    going = false;
    await r.dispatcher.idle();
    // Each of the 1000 rounds waited for one delivery, which had started the next one.
    expect(made).toBe(1001);
  });

  test('restore resumes a retry at its time and an attempt a stop cut off at once', async () => {
    const r = rig();
    const waiting: Notification = {
      ...payment('WAITING'),
      id: 'ntf-12',
      acknowledged: false,
      gaveUp: false,
      lost: false,
      nextAttemptAt: at(15e3),
      attempts: [
        {
          attempt: 1,
          trigger: 'initial',
          time: at(0),
          dueAt: at(0),
          outcome: 'rejected',
          verdict: 'x',
        },
      ],
    };
    const cutOff: Notification = { ...payment('CUTOFF'), id: 'ntf-3', ...fresh() };
    r.dispatcher.restore(waiting);
    r.dispatcher.restore(cutOff);
    expect(r.clock.pending()).toEqual([
      { at: T0, label: 'pay callback CUTOFF retry 0' },
      { at: T0 + 15e3, label: 'pay callback WAITING retry 1' },
    ]);
    await r.advance(0);
    expect(cutOff.attempts.map((a) => [a.trigger, a.dueAt])).toEqual([['initial', at(0)]]);
    await r.advance(15e3);
    expect(waiting.attempts.map((a) => [a.trigger, a.dueAt])).toEqual([
      ['initial', at(0)],
      ['retry', at(15e3)],
    ]);
    // Restored in any order, new ids continue after the highest (never reusing one).
    expect(r.dispatcher.notify(payment('NEXT')).id).toBe('ntf-13');
  });

  test('restored acknowledged or given-up notifications are kept for the record only', async () => {
    const r = rig();
    const done: Notification = { ...payment('DONE'), id: 'ntf-1', ...fresh(), acknowledged: true };
    const gone: Notification = { ...payment('GONE'), id: 'ntf-2', ...fresh(), gaveUp: true };
    r.dispatcher.restore(done);
    r.dispatcher.restore(gone);
    expect(r.clock.pending()).toEqual([]);
    await r.advance(48 * 3600e3);
    expect(r.delivered).toEqual([]);
    expect(r.dispatcher.list()).toEqual([done, gone]);
    expect(r.dispatcher.stats()).toMatchObject({ notifications: 2, acknowledged: 1, gaveUp: 1 });
  });

  test.each(['legacy-40', 'xntf-40', 'ntf-40x', 'ntf-'])(
    'a restored id %s not of the form ntf-<n> leaves the id sequence alone',
    (id) => {
      const r = rig();
      r.dispatcher.restore({ ...payment('OLD'), id, ...fresh(), acknowledged: true });
      expect(r.dispatcher.notify(payment('NEW')).id).toBe('ntf-1');
    },
  );
});

function fresh(): Pick<Notification, 'acknowledged' | 'gaveUp' | 'lost' | 'attempts'> {
  return { acknowledged: false, gaveUp: false, lost: false, attempts: [] };
}
