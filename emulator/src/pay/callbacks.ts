import type { Clock, ScheduledTask } from '../clock';
import { EmulatorError } from '../errors';

/**
 * Delivery of payment and refund notifications to the merchant's callback function, with WeChat
 * Pay's retry schedule and injectable faults. Everything runs on the emulated clock, and the
 * delivery itself is a function passed in, so the whole schedule is unit-tested without a
 * function runtime and without waiting.
 */

/**
 * Delays between attempts after a failed one: WeChat Pay's published notify schedule
 * (15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h), so a notification is
 * tried 16 times over about 24 h and then given up. CloudPay's own schedule is unconfirmed (its
 * docs say "up to two days").
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  15e3,
  15e3,
  30e3,
  180e3,
  600e3,
  1200e3,
  1800e3,
  1800e3,
  1800e3,
  3600e3,
  3 * 3600e3,
  3 * 3600e3,
  3 * 3600e3,
  6 * 3600e3,
  6 * 3600e3,
];
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;

export type NotificationKind = 'payment' | 'refund';

export interface DeliveryRequest {
  kind: NotificationKind;
  functionName: string;
  /** The callback function's event. */
  event: Record<string, unknown>;
  /** The payer, as the invocation's OPENID. */
  openid: string;
  outTradeNo: string;
  outRefundNo?: string;
}

/** What a delivery came to: the function's return value, or the platform's failure. */
export type DeliveryOutcome =
  | { invocationId?: string; result: unknown }
  | { invocationId?: string; errCode: number; errMsg: string };

export type DeliverFn = (request: DeliveryRequest) => Promise<DeliveryOutcome>;

export type FaultAction = 'drop' | 'duplicate' | 'delay' | 'reorder' | 'lose';

/** One rule of the fault queue; see emulator/docs/pay.md for exact semantics. */
export interface CallbackFault {
  action: FaultAction;
  /** Attempts affected (for `lose`: notifications lost). */
  count: number;
  /** `delay`: how long the attempt is held; `reorder`: the longest it waits for another. */
  delayMs: number;
  /** Only attempts for this order, when set. */
  outTradeNo?: string;
  /** Only payment or only refund notifications, when set. */
  kind?: NotificationKind;
}

export type AttemptTrigger = 'initial' | 'retry' | 'resend' | 'duplicate';
export type AttemptOutcome = 'acknowledged' | 'rejected' | 'failed' | 'dropped';

export interface CallbackAttempt {
  /** 1, 2, 3...: this attempt's place among all of the notification's attempts. */
  attempt: number;
  trigger: AttemptTrigger;
  /** Emulated time the attempt happened (ISO 8601). */
  time: string;
  /** When the schedule (or a delay/reorder fault) made it due (ISO 8601, emulated). */
  dueAt: string;
  fault?: FaultAction;
  outcome: AttemptOutcome;
  /** The function's return value, or `{errCode, errMsg}` when the platform failed the call. */
  reply?: unknown;
  /** Why the attempt counts as acknowledged or not, in words. */
  verdict: string;
  invocationId?: string;
}

export interface Notification {
  id: string;
  kind: NotificationKind;
  outTradeNo: string;
  outRefundNo?: string;
  functionName: string;
  openid: string;
  event: Record<string, unknown>;
  acknowledged: boolean;
  acknowledgedAt?: string;
  /** All 16 attempts failed: WeChat stops trying. */
  gaveUp: boolean;
  /** A `lose` fault took it: every scheduled attempt is dropped. */
  lost: boolean;
  /** When the next retry is due, if one is scheduled. */
  nextAttemptAt?: string;
  attempts: CallbackAttempt[];
}

export interface CallbackStats {
  notifications: number;
  /** Invocations of callback functions (duplicates included, drops excluded). */
  delivered: number;
  /** Attempts made by the retry schedule. */
  retried: number;
  dropped: number;
  /** Notifications acknowledged with {errcode: 0}. */
  acknowledged: number;
  gaveUp: number;
}

/** Judges a callback's reply: only a number errcode of 0 acknowledges, as CloudPay requires. */
export function judgeReply(outcome: DeliveryOutcome): { outcome: AttemptOutcome; verdict: string } {
  if ('errCode' in outcome) {
    return {
      outcome: 'failed',
      verdict: `the function call failed (errCode ${outcome.errCode}: ${outcome.errMsg}); WeChat treats it as not received and retries`,
    };
  }
  const reply = outcome.result;
  if (reply === undefined || reply === null) {
    return {
      outcome: 'rejected',
      verdict:
        'the function returned nothing; a CloudPay callback must return {errcode: 0, errmsg: "..."} (did main return before its work, or forget return?)',
    };
  }
  if (typeof reply !== 'object' || Array.isArray(reply)) {
    return {
      outcome: 'rejected',
      verdict: `the function returned ${JSON.stringify(reply)}; a CloudPay callback must return the object {errcode: 0, errmsg: "..."}`,
    };
  }
  const r = reply as Record<string, unknown>;
  if (r.errcode === 0) return { outcome: 'acknowledged', verdict: 'acknowledged: {errcode: 0}' };
  if ('return_code' in r || 'returnCode' in r) {
    return {
      outcome: 'rejected',
      verdict:
        'the function returned WeChat Pay\'s XML-notify reply ({return_code: "SUCCESS"}); CloudPay callbacks are acknowledged only by {errcode: 0, errmsg: "..."}, so WeChat keeps retrying',
    };
  }
  if (r.errcode === '0') {
    return {
      outcome: 'rejected',
      verdict: 'errcode is the string "0"; it must be the number 0',
    };
  }
  if ('errCode' in r && !('errcode' in r)) {
    return {
      outcome: 'rejected',
      verdict:
        'the reply has errCode (camelCase); CloudPay reads errcode in lower case: return {errcode: 0}',
    };
  }
  if ('errcode' in r) {
    return {
      outcome: 'rejected',
      verdict: `the function refused the notification (errcode ${JSON.stringify(r.errcode)}${r.errmsg === undefined ? '' : `, errmsg ${JSON.stringify(r.errmsg)}`}); WeChat retries`,
    };
  }
  return {
    outcome: 'rejected',
    verdict: `the reply ${JSON.stringify(reply).slice(0, 200)} has no errcode; a CloudPay callback must return {errcode: 0, errmsg: "..."}`,
  };
}

const FAULT_ACTIONS: readonly FaultAction[] = ['drop', 'duplicate', 'delay', 'reorder', 'lose'];
const DEFAULT_REORDER_WAIT_MS = 60_000;

function invalid(message: string): EmulatorError {
  return new EmulatorError('INVALID_PARAM', message);
}

/** Checks a list of fault rules (the `callbacks` array); errors say which entry and field. */
export function parseCallbackFaults(input: unknown): CallbackFault[] {
  if (!Array.isArray(input)) {
    throw invalid(
      'pay faults: "callbacks" must be an array such as [{"action": "drop", "count": 1}]',
    );
  }
  return input.map((raw, i) => {
    const where = `pay faults: callbacks[${i}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      throw invalid(`${where} must be an object such as {"action": "drop"}`);
    }
    const r = raw as Record<string, unknown>;
    const known = ['action', 'count', 'delayMs', 'outTradeNo', 'kind'];
    const unknown = Object.keys(r).filter((k) => !known.includes(k));
    if (unknown.length) {
      throw invalid(
        `${where} has unknown field(s) ${unknown.join(', ')}; known: ${known.join(', ')}`,
      );
    }
    if (!FAULT_ACTIONS.includes(r.action as FaultAction)) {
      throw invalid(
        `${where}.action must be one of ${FAULT_ACTIONS.join(', ')}, got ${JSON.stringify(r.action)}`,
      );
    }
    const action = r.action as FaultAction;
    const count = r.count ?? 1;
    // Mutation testing: `typeof count !== 'number'` → false survives as an equivalent mutant
    // (Number.isInteger is false for every non-number); it is there to narrow the type.
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000) {
      throw invalid(
        `${where}.count must be an integer from 1 to 1000, got ${JSON.stringify(r.count)}`,
      );
    }
    let delayMs = 0;
    if (action === 'delay' || action === 'reorder') {
      const d = r.delayMs ?? (action === 'reorder' ? DEFAULT_REORDER_WAIT_MS : undefined);
      // Mutation testing: `typeof d !== 'number'` → false survives as an equivalent mutant
      // (Number.isFinite is false for every non-number); it is there to narrow the type.
      if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) {
        throw invalid(
          `${where}.delayMs must be a non-negative number of milliseconds${action === 'delay' ? ' (required for delay)' : ''}, got ${JSON.stringify(r.delayMs)}`,
        );
      }
      delayMs = d;
    } else if (r.delayMs !== undefined) {
      throw invalid(`${where}.delayMs applies only to delay and reorder, not ${action}`);
    }
    if (r.outTradeNo !== undefined && (typeof r.outTradeNo !== 'string' || !r.outTradeNo)) {
      throw invalid(`${where}.outTradeNo must be a non-empty string`);
    }
    if (r.kind !== undefined && r.kind !== 'payment' && r.kind !== 'refund') {
      throw invalid(`${where}.kind must be "payment" or "refund", got ${JSON.stringify(r.kind)}`);
    }
    return {
      action,
      count,
      delayMs,
      ...(r.outTradeNo === undefined ? {} : { outTradeNo: r.outTradeNo as string }),
      ...(r.kind === undefined ? {} : { kind: r.kind as NotificationKind }),
    };
  });
}

export interface DispatcherDeps {
  clock: Pick<Clock, 'now' | 'schedule'>;
  deliver: DeliverFn;
  /** Called for every attempt (the `pay.callback` event). */
  onAttempt?: (notification: Notification, attempt: CallbackAttempt) => void;
  /** Called once an attempt's outcome and the next retry (or giving up) are recorded. */
  onChange?: (notification: Notification) => void;
}

interface Parked {
  notification: Notification;
  trigger: AttemptTrigger;
  deadline: ScheduledTask;
}

export class CallbackDispatcher {
  private readonly notifications: Notification[] = [];
  private faults: CallbackFault[] = [];
  private readonly retryTasks = new Map<string, ScheduledTask>();
  private readonly otherTasks = new Set<ScheduledTask>();
  private parked: Parked[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private seq = 0;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Starts delivering a new notification: the first attempt goes out at once. */
  notify(
    input: Omit<Notification, 'id' | 'acknowledged' | 'gaveUp' | 'lost' | 'attempts'>,
  ): Notification {
    const notification = this.prepare(input);
    this.start(notification);
    return notification;
  }

  /**
   * A new notification, not yet registered nor attempted: the owner records it (the pay journal)
   * first, then `start`s it, so a notification is never sent that a restart would forget.
   */
  prepare(
    input: Omit<Notification, 'id' | 'acknowledged' | 'gaveUp' | 'lost' | 'attempts'>,
  ): Notification {
    return {
      ...input,
      id: `ntf-${++this.seq}`,
      acknowledged: false,
      gaveUp: false,
      lost: false,
      attempts: [],
    };
  }

  /** Registers a prepared notification and makes its first attempt now. */
  start(notification: Notification): void {
    this.notifications.push(notification);
    this.track(this.attempt(notification, 'initial', this.deps.clock.now()));
  }

  /**
   * Takes back a notification persisted before a restart and resumes its schedule: a retry that
   * was due at `nextAttemptAt` stays due then (emulated clock); an attempt the stop cut off (no
   * reply ever came, so WeChat counts it as not received) is made again at once. Acknowledged,
   * given-up notifications are kept for the record and stats only.
   */
  restore(notification: Notification): void {
    this.notifications.push(notification);
    const n = Number(/^ntf-(\d+)$/.exec(notification.id)?.[1]);
    // Mutation testing: `n > this.seq` → `>=` survives as an equivalent mutant (seq = n is no
    // change when they are equal).
    if (Number.isInteger(n) && n > this.seq) this.seq = n;
    if (notification.acknowledged || notification.gaveUp) return;
    const made = this.scheduledAttempts(notification);
    const at = notification.nextAttemptAt
      ? Date.parse(notification.nextAttemptAt)
      : this.deps.clock.now();
    this.scheduleAttempt(notification, at, made ? 'retry' : 'initial', made);
  }

  /** Delivers the notification once more now (an operator's manual re-push). */
  resend(notification: Notification): Promise<void> {
    return this.track(this.attempt(notification, 'resend', this.deps.clock.now()));
  }

  /** Resolves once no delivery started so far is still running. */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000 && this.inFlight.size; i++) await Promise.all([...this.inFlight]);
  }

  /** Appends fault rules; each attempt consumes the first rule that matches it. */
  injectFaults(faults: CallbackFault[]): void {
    this.faults.push(...faults.map((f) => ({ ...f })));
  }

  clearFaults(): void {
    this.faults = [];
  }

  pendingFaults(): CallbackFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  list(): Notification[] {
    return this.notifications;
  }

  stats(): CallbackStats {
    const all = this.notifications.flatMap((n) => n.attempts);
    return {
      notifications: this.notifications.length,
      delivered: all.filter((a) => a.outcome !== 'dropped').length,
      retried: all.filter((a) => a.trigger === 'retry').length,
      dropped: all.filter((a) => a.outcome === 'dropped').length,
      acknowledged: this.notifications.filter((n) => n.acknowledged).length,
      gaveUp: this.notifications.filter((n) => n.gaveUp).length,
    };
  }

  /** Forgets every notification, fault and pending attempt. */
  reset(): void {
    for (const task of this.retryTasks.values()) task.cancel();
    for (const task of this.otherTasks) task.cancel();
    for (const p of this.parked) p.deadline.cancel();
    this.retryTasks.clear();
    this.otherTasks.clear();
    this.parked = [];
    this.faults = [];
    this.notifications.length = 0;
  }

  private track(work: Promise<void>): Promise<void> {
    // Mutation testing: the delete → `() => undefined` survives: finished deliveries would stay
    // in inFlight, and idle() would spin its 1000 rounds over settled promises (microtasks only)
    // and resolve at the same point; a leak, not a different outcome.
    const p = work.finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    return p;
  }

  /** Attempts the retry schedule has made so far (resends and duplicate copies are extra). */
  private scheduledAttempts(n: Notification): number {
    return n.attempts.filter((a) => a.trigger === 'initial' || a.trigger === 'retry').length;
  }

  private iso(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  private takeFault(n: Notification): CallbackFault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        (f.outTradeNo === undefined || f.outTradeNo === n.outTradeNo) &&
        (f.kind === undefined || f.kind === n.kind),
    );
    if (i < 0) return undefined;
    const rule = this.faults[i] as CallbackFault;
    rule.count -= 1;
    if (rule.count <= 0) this.faults.splice(i, 1);
    return rule;
  }

  private record(
    n: Notification,
    due: number,
    fields: Omit<CallbackAttempt, 'attempt' | 'time' | 'dueAt'>,
  ): void {
    const attempt: CallbackAttempt = {
      attempt: n.attempts.length + 1,
      time: this.iso(),
      dueAt: new Date(due).toISOString(),
      ...fields,
    };
    n.attempts.push(attempt);
    this.deps.onAttempt?.(n, attempt);
  }

  /** One attempt: apply a fault, if any, then deliver (or not). */
  private async attempt(n: Notification, trigger: AttemptTrigger, due: number): Promise<void> {
    // A lost notification's scheduled attempts are all dropped (they take no fault rule); an
    // operator's resend still goes, unless a `lose` rule takes that one too.
    const alreadyLost = n.lost && trigger !== 'resend';
    const fault = alreadyLost ? undefined : this.takeFault(n);
    if (alreadyLost || fault?.action === 'lose') {
      n.lost = true;
      this.record(n, due, {
        trigger,
        fault: 'lose',
        outcome: 'dropped',
        verdict: 'lost: this notification never reaches the function (lose fault)',
      });
      this.afterFailure(n, due);
      this.deps.onChange?.(n);
      return;
    }
    switch (fault?.action) {
      case 'drop':
        this.record(n, due, {
          trigger,
          fault: 'drop',
          outcome: 'dropped',
          verdict:
            'dropped in transit (drop fault): no reply reached WeChat, so it retries on schedule',
        });
        this.afterFailure(n, due);
        this.deps.onChange?.(n);
        return;
      case 'delay': {
        const at = this.deps.clock.now() + fault.delayMs;
        const task = this.deps.clock.schedule(at, `pay callback ${n.outTradeNo} (delayed)`, () => {
          this.otherTasks.delete(task);
          return this.track(this.deliverNow(n, trigger, 'delay', at));
        });
        this.otherTasks.add(task);
        return;
      }
      case 'reorder': {
        const parked: Parked = {
          notification: n,
          trigger,
          deadline: this.deps.clock.schedule(
            this.deps.clock.now() + fault.delayMs,
            `pay callback ${n.outTradeNo} (reordered, deadline)`,
            // Runs only while still parked: flushParked cancels the deadline of every attempt it
            // takes before delivering any of them.
            () => {
              this.parked = this.parked.filter((p) => p !== parked);
              return this.track(this.deliverNow(n, trigger, 'reorder', parked.deadline.at));
            },
          ),
        };
        this.parked.push(parked);
        return;
      }
      case 'duplicate':
        await this.deliverNow(n, trigger, 'duplicate', due);
        await this.deliverNow(n, 'duplicate', 'duplicate', due);
        return;
      default:
        await this.deliverNow(n, trigger, undefined, due);
    }
  }

  private async deliverNow(
    n: Notification,
    trigger: AttemptTrigger,
    fault: FaultAction | undefined,
    due: number,
  ): Promise<void> {
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.deps.deliver({
        kind: n.kind,
        functionName: n.functionName,
        event: n.event,
        openid: n.openid,
        outTradeNo: n.outTradeNo,
        ...(n.outRefundNo === undefined ? {} : { outRefundNo: n.outRefundNo }),
      });
    } catch (err) {
      outcome = { errCode: -1, errMsg: err instanceof Error ? err.message : String(err) };
    }
    const judged = judgeReply(outcome);
    const reply =
      'errCode' in outcome ? { errCode: outcome.errCode, errMsg: outcome.errMsg } : outcome.result;
    this.record(n, due, {
      trigger,
      ...(fault ? { fault } : {}),
      outcome: judged.outcome,
      reply,
      verdict: judged.verdict,
      ...(outcome.invocationId ? { invocationId: outcome.invocationId } : {}),
    });
    if (judged.outcome === 'acknowledged') {
      if (!n.acknowledged) {
        n.acknowledged = true;
        n.acknowledgedAt = this.iso();
      }
      this.retryTasks.get(n.id)?.cancel();
      this.retryTasks.delete(n.id);
      delete n.nextAttemptAt;
    } else {
      this.afterFailure(n, due);
    }
    this.deps.onChange?.(n);
    if (fault !== 'reorder') await this.flushParked(n);
  }

  /** Reordered attempts go out right after the next delivery of another notification. */
  private async flushParked(after: Notification): Promise<void> {
    const ready = this.parked.filter((p) => p.notification !== after);
    this.parked = this.parked.filter((p) => p.notification === after);
    // Every deadline first: one that fell due while an earlier flushed attempt was being
    // delivered would otherwise deliver its attempt a second time.
    for (const p of ready) p.deadline.cancel();
    for (const p of ready) {
      await this.deliverNow(p.notification, p.trigger, 'reorder', this.deps.clock.now());
    }
  }

  /** Schedules the next retry unless acknowledged, already scheduled, or out of attempts. */
  private afterFailure(n: Notification, due: number): void {
    if (n.acknowledged || n.gaveUp || this.retryTasks.has(n.id)) return;
    const made = this.scheduledAttempts(n);
    if (made >= MAX_ATTEMPTS) {
      n.gaveUp = true;
      delete n.nextAttemptAt;
      return;
    }
    const delay = RETRY_DELAYS_MS[made - 1] as number;
    // Counted from when the failed attempt was due, so the schedule is exact on the emulated
    // clock (real WeChat counts from its failed try; the difference is the delivery's duration).
    this.scheduleAttempt(n, due + delay, 'retry', made);
  }

  /** Puts the notification's next attempt on the emulated clock at `at`. */
  private scheduleAttempt(
    n: Notification,
    at: number,
    trigger: AttemptTrigger,
    made: number,
  ): void {
    n.nextAttemptAt = new Date(at).toISOString();
    const task = this.deps.clock.schedule(at, `pay callback ${n.outTradeNo} retry ${made}`, () => {
      this.retryTasks.delete(n.id);
      delete n.nextAttemptAt;
      // Mutation testing: this check → false survives as an equivalent mutant: acknowledging
      // cancels the pending retry (deliverNow) and restore schedules none for an acknowledged
      // notification, so no retry runs after an acknowledgement; kept as a guard.
      if (n.acknowledged) return;
      return this.track(this.attempt(n, trigger, at));
    });
    this.retryTasks.set(n.id, task);
  }
}
