/**
 * The chaos run: simulated users paying concurrently through the real functions and the emulator,
 * with seeded random faults, then the clock pushed past every retry, expiry and refund, then the
 * invariants checked against what the CloudPay sandbox says really happened with the money.
 *
 * Deterministic in its choices (a seeded PRNG decides every behaviour and fault); the interleaving
 * of concurrent users is real, which is the point: the invariants must hold for any interleaving.
 */
import type { RunningEmulator } from '../../emulator/src';
import { RETRY_DELAYS_MS } from '../../emulator/src/pay/callbacks';
import { control, invoke } from '../support/emulator';

/** A user's mini-program, as a script sees it (built on createWx in the test). */
export interface Shopper {
  readonly openid: string;
  callFunction(name: string, data: unknown): Promise<Record<string, unknown>>;
  /** Opens the pay sheet for `payment` and answers it with `decision`; resolves to the errMsg. */
  requestPayment(payment: unknown, decision: Decision): Promise<string>;
}

export type Decision = 'confirm' | 'cancel' | 'fail';

type Behaviour =
  'pay' | 'cancel-then-pay' | 'cancel' | 'fail' | 'abandon' | 'double-tap' | 'pay-and-leave';
type Fault = 'none' | 'drop' | 'duplicate' | 'delay' | 'reorder' | 'lose' | 'db-write' | 'timeout';

export interface ChaosOptions {
  seed: number;
  /** Scenarios to run (each makes one order, some two). */
  orders: number;
  /** Users paying at once. */
  concurrency: number;
  /** Share of paid orders the administrator refunds afterwards. */
  refundShare: number;
  adminOpenid: string;
  itemId: string;
  /** Order lifetime in ms, as configured for the functions. */
  orderLifetimeMs: number;
  /** Logs progress lines (for the script); silent in tests. */
  log?: (line: string) => void;
}

export interface ChaosReport {
  scenarios: number;
  ordersCreated: number;
  behaviours: Record<string, number>;
  faults: Record<string, number>;
  userErrors: number;
  /** userpay errors by message: expected under injected database faults, never a crash. */
  userErrorMessages: Record<string, number>;
  sandboxPaid: number;
  refunded: number;
  /** People whose access to the paid content was checked after the run (0 without getcontent). */
  contentChecked: number;
  callbacks: {
    notifications: number;
    delivered: number;
    retried: number;
    dropped: number;
    acknowledged: number;
  };
  violations: string[];
  durationMs: number;
}

/** mulberry32: small, fast, good enough to make choices reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T extends string>(random: () => number, weights: Record<T, number>): T {
  const entries = Object.entries(weights) as [T, number][];
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let roll = random() * total;
  for (const [value, weight] of entries) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return entries[entries.length - 1][0];
}

const BEHAVIOURS: Record<Behaviour, number> = {
  pay: 40,
  'pay-and-leave': 15,
  'cancel-then-pay': 10,
  'double-tap': 10,
  cancel: 8,
  fail: 5,
  abandon: 12,
};

const FAULTS: Record<Fault, number> = {
  none: 40,
  drop: 10,
  duplicate: 10,
  delay: 10,
  reorder: 6,
  lose: 8,
  'db-write': 8,
  timeout: 8,
};

interface Plan {
  index: number;
  user: number;
  behaviour: Behaviour;
  fault: Fault;
}

async function injectFault(
  emu: RunningEmulator,
  fault: Fault,
  tradeno: string,
  random: () => number,
): Promise<void> {
  const forOrder = (action: string, extra: Record<string, unknown> = {}) =>
    control(emu, 'POST', '/faults', {
      pay: { callbacks: [{ action, count: 1, outTradeNo: tradeno, kind: 'payment', ...extra }] },
    });
  switch (fault) {
    case 'none':
      return;
    case 'drop':
    case 'duplicate':
    case 'lose':
      await forOrder(fault);
      return;
    case 'delay':
      await forOrder('delay', { delayMs: Math.round(5_000 + random() * 120_000) });
      return;
    case 'reorder':
      await forOrder('reorder', { delayMs: 30_000 });
      return;
    case 'db-write':
      // The next write to the orders collection fails, whoever makes it: the callback, or another
      // user's userpay. Either way nothing may be lost or half-written.
      await control(emu, 'POST', '/faults', {
        database: { failWrites: { collection: 'USERPAYLOG', count: 1 } },
      });
      return;
    case 'timeout':
      await control(emu, 'POST', '/faults', {
        functions: { name: 'userpaynotify', mode: 'timeout', count: 1 },
      });
      return;
  }
}

interface Outcome {
  created: string[];
  errors: string[];
}

async function runScenario(
  emu: RunningEmulator,
  shopper: Shopper,
  plan: Plan,
  options: ChaosOptions,
  random: () => number,
): Promise<Outcome> {
  const outcome: Outcome = { created: [], errors: [] };
  const tap = async (): Promise<Record<string, unknown>> => {
    const reply = await shopper.callFunction('userpay', { itemId: options.itemId });
    if (typeof reply.tradeno === 'string' && !outcome.created.includes(reply.tradeno))
      outcome.created.push(reply.tradeno);
    if (typeof reply.errcode === 'number')
      outcome.errors.push(String(reply.errmsg).replace(/CP\w+/g, 'CP…').slice(0, 60));
    return reply;
  };
  let reply: Record<string, unknown>;
  if (plan.behaviour === 'double-tap') {
    const [a, b] = await Promise.all([tap(), tap()]);
    reply = a.payment ? a : b;
  } else {
    reply = await tap();
  }
  if (!reply.payment || typeof reply.tradeno !== 'string') return outcome;
  await injectFault(emu, plan.fault, reply.tradeno, random);
  const pay = (decision: Decision) => shopper.requestPayment(reply.payment, decision);
  switch (plan.behaviour) {
    case 'abandon':
      return outcome;
    case 'cancel':
      await pay('cancel');
      return outcome;
    case 'fail':
      await pay('fail');
      return outcome;
    case 'cancel-then-pay': {
      await pay('cancel');
      const again = await tap();
      if (again.payment) await shopper.requestPayment(again.payment, 'confirm');
      break;
    }
    default:
      await pay('confirm');
  }
  if (plan.behaviour !== 'pay-and-leave' && typeof reply.docid === 'string') {
    // The page's fallback when the watch has not seen the result yet.
    await shopper.callFunction('payquery', { docid: reply.docid });
  }
  return outcome;
}

interface StoredOrder {
  _id: string;
  tradeno: string;
  openid: string;
  status: string;
  paystatus: number;
  expiresAt: number;
  totalfee: number;
}
interface StoredUnlock {
  _id: string;
  openid: string;
  itemId: string;
  tradeno: string;
}
interface SandboxOrder {
  outTradeNo: string;
  tradeState: string;
  openid: string;
  totalFee: number;
  refundedFee: number;
  callbacks: { acknowledged: boolean; attempts: { outcome: string; time: string }[] } | null;
}

/** Pushes emulated time through WeChat's whole retry schedule and several expiry sweeps. */
async function drainTime(emu: RunningEmulator): Promise<void> {
  for (const ms of RETRY_DELAYS_MS) {
    await emu.advanceClock(ms);
    await emu.services.pay.idle();
  }
}

export async function runChaos(
  emu: RunningEmulator,
  shopperFor: (openid: string) => Shopper,
  options: ChaosOptions,
): Promise<ChaosReport> {
  const started = Date.now();
  const random = prng(options.seed);
  // Most users come once; some come back (to pay again, or after cancelling).
  const users = Math.max(2, Math.ceil(options.orders * 0.8));
  const plans: Plan[] = Array.from({ length: options.orders }, (_, index) => ({
    index,
    user: Math.floor(random() * users),
    behaviour: pick(random, BEHAVIOURS),
    fault: pick(random, FAULTS),
  }));
  const shoppers = new Map<number, Shopper>();
  const shopper = (user: number): Shopper => {
    let s = shoppers.get(user);
    if (!s) shoppers.set(user, (s = shopperFor(`o_chaos_user_${String(user).padStart(5, '0')}`)));
    return s;
  };

  // One user at a time per openid (a person has one phone); many users at once.
  const byUser = new Map<number, Plan[]>();
  for (const plan of plans) byUser.set(plan.user, [...(byUser.get(plan.user) ?? []), plan]);
  const queues = [...byUser.values()];
  let created = 0;
  const errors: string[] = [];
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let queue = queues.shift(); queue; queue = queues.shift()) {
      for (const plan of queue) {
        const outcome = await runScenario(
          emu,
          shopper(plan.user),
          plan,
          options,
          prng(options.seed * 7919 + plan.index),
        );
        created += outcome.created.length;
        errors.push(...outcome.errors);
        done++;
        if (options.log && done % 500 === 0) options.log(`${done}/${plans.length} scenarios`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  await emu.services.pay.idle();
  await control(emu, 'POST', '/faults', { pay: { clear: true }, database: { clear: true } });
  options.log?.('draining retries and expiry');
  await drainTime(emu);

  // Refunds: the administrator refunds a share of what was paid; refund callbacks then settle.
  const paidBefore = (await ordersOf(emu)).filter((o) => o.status === 'paid');
  const admin = shopperFor(options.adminOpenid);
  const toRefund = paidBefore.filter(() => random() < options.refundShare);
  for (const order of toRefund) {
    const reply = await admin.callFunction('payrefund', {
      docid: order._id,
      reason: 'chaos refund',
    });
    if (typeof reply.errcode === 'number')
      throw new Error(`refund of ${order._id} failed: ${JSON.stringify(reply)}`);
  }
  await drainTime(emu);

  const report: ChaosReport = {
    scenarios: plans.length,
    ordersCreated: created,
    behaviours: count(plans.map((p) => p.behaviour)),
    faults: count(plans.map((p) => p.fault)),
    userErrors: errors.length,
    userErrorMessages: count(errors),
    sandboxPaid: 0,
    refunded: toRefund.length,
    contentChecked: 0,
    callbacks: emu.services.pay.callbackStats(),
    violations: [],
    durationMs: 0,
  };
  report.violations = await checkInvariants(emu, options, report);
  report.durationMs = Date.now() - started;
  return report;
}

function count(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

async function ordersOf(emu: RunningEmulator): Promise<StoredOrder[]> {
  return (
    await control<{ documents: StoredOrder[] }>(emu, 'GET', '/collections/USERPAYLOG/documents')
  ).documents;
}

async function checkInvariants(
  emu: RunningEmulator,
  options: ChaosOptions,
  report: ChaosReport,
): Promise<string[]> {
  const violations: string[] = [];
  const orders = new Map((await ordersOf(emu)).map((o) => [o.tradeno, o]));
  const unlocks = (
    await control<{ documents: StoredUnlock[] }>(emu, 'GET', '/collections/USERUNLOCK/documents')
  ).documents;
  const sandbox = (await control<{ orders: SandboxOrder[] }>(emu, 'GET', '/pay/orders')).orders;
  const now = emu.clock.now();
  const unlockByTrade = new Map(unlocks.map((u) => [u.tradeno, u]));
  const paymentByTrade = new Map(sandbox.map((p) => [p.outTradeNo, p]));

  const moneyKept = new Map<string, SandboxOrder[]>();
  for (const payment of sandbox) {
    const order = orders.get(payment.outTradeNo);
    if (payment.tradeState === 'SUCCESS' || payment.tradeState === 'REFUND') {
      report.sandboxPaid++;
      // 1. Every payment the sandbox took is paid in USERPAYLOG.
      if (
        !order ||
        !['paid', 'refunding', 'refunded'].includes(order.status) ||
        order.paystatus !== 1
      ) {
        violations.push(
          `paid at WeChat but not in USERPAYLOG: ${payment.outTradeNo} (${order?.status ?? 'missing'})`,
        );
      }
    }
    if (payment.tradeState === 'SUCCESS') {
      const key = `${payment.openid}`;
      moneyKept.set(key, [...(moneyKept.get(key) ?? []), payment]);
      // ... and unlocked, by exactly this order.
      const unlock = unlockByTrade.get(payment.outTradeNo);
      if (!unlock) violations.push(`paid but not unlocked: ${payment.outTradeNo}`);
    }
    if (payment.tradeState === 'REFUND') {
      // 3. Every refunded order is revoked.
      if (order?.status !== 'refunded')
        violations.push(
          `refunded at WeChat, not in USERPAYLOG: ${payment.outTradeNo} (${order?.status})`,
        );
      if (unlockByTrade.has(payment.outTradeNo))
        violations.push(`refunded but still unlocked: ${payment.outTradeNo}`);
    }
    // 5. Every acknowledged callback was durably recorded.
    if (
      payment.callbacks?.acknowledged &&
      payment.tradeState === 'SUCCESS' &&
      order?.status !== 'paid'
    ) {
      violations.push(`callback acknowledged but order ${payment.outTradeNo} is ${order?.status}`);
    }
  }
  // Never charged twice for the same item (money kept, refunds aside).
  for (const [openid, kept] of moneyKept) {
    if (kept.length > 1)
      violations.push(
        `${openid} paid ${kept.length} times for ${options.itemId}: ${kept.map((k) => k.outTradeNo).join(', ')}`,
      );
  }
  // 2. Nothing unlocked without a payment, and one unlock per user and item.
  const seen = new Set<string>();
  for (const unlock of unlocks) {
    const payment = paymentByTrade.get(unlock.tradeno);
    if (payment?.tradeState !== 'SUCCESS')
      violations.push(
        `unlocked without a kept payment: ${unlock._id} by ${unlock.tradeno} (${payment?.tradeState ?? 'no payment'})`,
      );
    const key = `${unlock.openid}|${unlock.itemId}`;
    if (seen.has(key)) violations.push(`two unlocks for ${key}`);
    seen.add(key);
  }
  // 6. Content: every buyer who kept their payment reads the paid content of exactly that item;
  // everyone else (refunded, cancelled, never paid, a stranger) gets the teaser only.
  const health = await control<{ functions: string[] }>(emu, 'GET', '/health');
  if (health.functions.includes('getcontent')) {
    const keptBy = new Set(sandbox.filter((p) => p.tradeState === 'SUCCESS').map((p) => p.openid));
    const people = [...new Set([...orders.values()].map((o) => o.openid)), 'o_chaos_stranger'];
    report.contentChecked = people.length;
    for (let i = 0; i < people.length; i += 8) {
      await Promise.all(
        people.slice(i, i + 8).map(async (openid) => {
          const answer = await invoke<{ locked?: boolean; errcode?: number }>(
            emu,
            'getcontent',
            { itemId: options.itemId },
            { openid },
          );
          const expected = !keptBy.has(openid);
          if (answer.locked !== expected) {
            violations.push(
              `${openid} ${keptBy.has(openid) ? 'paid but cannot read' : 'did not pay but reads'} ${options.itemId}: ${JSON.stringify(answer).slice(0, 120)}`,
            );
          }
          // Exactly that item: every other catalog item stays locked for everyone.
          const catalog = await invoke<{ items?: { itemId: string; unlocked: boolean }[] }>(
            emu,
            'getcatalog',
            {},
            { openid },
          );
          for (const item of catalog.items ?? []) {
            if (item.itemId !== options.itemId && item.unlocked) {
              violations.push(`${openid} has ${item.itemId} unlocked without buying it`);
            }
          }
        }),
      );
    }
  }
  // 4. No order stays open past its lifetime plus the expiry sweep's period (5 minutes).
  for (const order of orders.values()) {
    if (order.status === 'pending' && order.expiresAt + 5 * 60_000 + 60_000 < now) {
      violations.push(
        `order ${order.tradeno} still pending ${Math.round((now - order.expiresAt) / 60_000)} min after it expired`,
      );
    }
  }
  return violations;
}
