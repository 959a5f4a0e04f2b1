import { UnlockController, type Scheduler } from '../../miniprogram/services/unlock-controller';
import type {
  OrderSighting,
  PaymentOutcome,
  PayqueryAnswer,
  UnlockApi,
  UserpayAnswer,
} from '../../miniprogram/services/unlock-api';

/**
 * The controller's timing and cleanup, with a scripted API and a manual clock: the watch is open
 * before the pay sheet, closed once paid and on unload; the payquery fallback starts when the
 * watch is silent or broken; nothing is left running after unload.
 */
class ManualScheduler implements Scheduler {
  private next = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at <= this.now && this.timers.delete(id)) timer.fn();
    }
    await flush();
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

const PAYMENT = {
  timeStamp: '1',
  nonceStr: 'n',
  package: 'prepay_id=p',
  signType: 'MD5',
  paySign: 's',
} as const;

function scripted(
  overrides: {
    payment?: PaymentOutcome;
    userpay?: UserpayAnswer;
    payquery?: PayqueryAnswer[];
  } = {},
) {
  const calls: string[] = [];
  let watchHandlers:
    { onOrder: (o: OrderSighting) => void; onError: (e: unknown) => void } | undefined;
  let openWatches = 0;
  const queries = [...(overrides.payquery ?? [])];
  const api: UnlockApi = {
    hasUnlock: async () => false,
    findPendingOrder: async () => null,
    userpay: async () => {
      calls.push('userpay');
      return overrides.userpay ?? { kind: 'order', docid: 'CP1', tradeno: 'CP1', payment: PAYMENT };
    },
    payquery: async () => {
      calls.push('payquery');
      return queries.shift() ?? { kind: 'order', status: 'pending', paystatus: 0 };
    },
    requestPayment: async () => {
      calls.push(`requestPayment(watches open: ${openWatches})`);
      return overrides.payment ?? { kind: 'ok' };
    },
    watchOrder: (_docid, handlers) => {
      calls.push('watch');
      openWatches++;
      watchHandlers = handlers;
      return {
        close: async () => {
          calls.push('close');
          openWatches--;
        },
      };
    },
    platform: () => 'android',
  };
  return {
    api,
    calls,
    openWatches: () => openWatches,
    watch: () => {
      if (!watchHandlers) throw new Error('no watch opened');
      return watchHandlers;
    },
  };
}

function controller(api: UnlockApi, scheduler: ManualScheduler) {
  const states: string[] = [];
  const c = new UnlockController({
    api,
    itemId: 'demo-unlock',
    config: { iosPolicy: 'notice', confirmFallbackMs: 3000, payqueryBackoffMs: [0, 2000, 4000] },
    scheduler,
    onChange: (s) => states.push(s.status),
  });
  return { c, states };
}

it('opens the watch before the pay sheet and closes it once the watch sees the order paid', async () => {
  const s = new ManualScheduler();
  const api = scripted();
  const { c, states } = controller(api.api, s);
  await c.load();
  await c.pay();
  expect(api.calls).toEqual(['userpay', 'watch', 'requestPayment(watches open: 1)']);
  expect(c.current.status).toBe('confirming');
  api.watch().onOrder({ paystatus: 1, status: 'paid' });
  expect(states).toEqual(['locked', 'paying', 'confirming', 'unlocked']);
  expect(api.openWatches()).toBe(0);
  expect(s.timers.size).toBe(0);
});

it('a second tap while paying is ignored', async () => {
  const s = new ManualScheduler();
  const api = scripted();
  const { c } = controller(api.api, s);
  await c.load();
  await Promise.all([c.pay(), c.pay()]);
  expect(api.calls.filter((x) => x === 'userpay')).toHaveLength(1);
});

it('a cancelled pay sheet returns to locked with the watch closed', async () => {
  const s = new ManualScheduler();
  const api = scripted({ payment: { kind: 'cancel' } });
  const { c } = controller(api.api, s);
  await c.load();
  await c.pay();
  expect(c.current).toMatchObject({ status: 'locked', message: expect.any(String) });
  expect(api.openWatches()).toBe(0);
  expect(s.timers.size).toBe(0);
});

it('asks payquery when the watch stays silent past the fallback delay, and unlocks from it', async () => {
  const s = new ManualScheduler();
  const api = scripted({ payquery: [{ kind: 'order', status: 'paid', paystatus: 1 }] });
  const { c } = controller(api.api, s);
  await c.load();
  await c.pay();
  await s.advance(2999);
  expect(api.calls).not.toContain('payquery');
  await s.advance(1);
  expect(api.calls).toContain('payquery');
  expect(c.current.status).toBe('unlocked');
  expect(api.openWatches()).toBe(0);
});

it('a watch error while confirming re-opens the watch once and polls at once', async () => {
  const s = new ManualScheduler();
  const api = scripted();
  const { c } = controller(api.api, s);
  await c.load();
  await c.pay();
  api.watch().onError(new Error('socket closed'));
  await flush();
  expect(api.calls.filter((x) => x === 'watch')).toHaveLength(2);
  expect(api.calls).toContain('payquery');
  // A second error does not re-open again: payquery carries it from here.
  api.watch().onError(new Error('socket closed again'));
  await flush();
  expect(api.calls.filter((x) => x === 'watch')).toHaveLength(2);
});

it('gives up asking after the backoff but keeps the watch, so a late callback still unlocks', async () => {
  const s = new ManualScheduler();
  const api = scripted();
  const { c, states } = controller(api.api, s);
  await c.load();
  await c.pay();
  await s.advance(3000);
  await s.advance(2000);
  await s.advance(4000);
  expect(api.calls.filter((x) => x === 'payquery')).toHaveLength(3);
  expect(c.current.status).toBe('locked');
  expect(api.openWatches()).toBe(1);
  api.watch().onOrder({ paystatus: 1, status: 'paid' });
  expect(states.at(-1)).toBe('unlocked');
  expect(api.openWatches()).toBe(0);
});

it('unload while confirming closes the watch, clears every timer and ignores late answers', async () => {
  const s = new ManualScheduler();
  const api = scripted();
  const { c, states } = controller(api.api, s);
  await c.load();
  await c.pay();
  expect(s.timers.size).toBe(1);
  c.dispose();
  expect(api.openWatches()).toBe(0);
  expect(s.timers.size).toBe(0);
  const before = states.length;
  api.watch().onOrder({ paystatus: 1, status: 'paid' });
  await s.advance(60_000);
  expect(states).toHaveLength(before);
  expect(api.calls).not.toContain('payquery');
});

it('an order the server ended while confirming stops everything with a message', async () => {
  const s = new ManualScheduler();
  const api = scripted();
  const { c } = controller(api.api, s);
  await c.load();
  await c.pay();
  api.watch().onOrder({ paystatus: 0, status: 'closed' });
  expect(c.current).toMatchObject({ status: 'locked', message: expect.any(String) });
  expect(api.openWatches()).toBe(0);
  expect(s.timers.size).toBe(0);
});
