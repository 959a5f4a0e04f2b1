// Runs the unlock flow: the cloud calls, the order watch, the pay sheet and the fallback timers.
// The decisions about what the user sees live in pay-flow.ts; this module only produces events.
//
// Why a watch AND payquery: wx.requestPayment succeeding is not proof of payment; the server
// marks the order paid when WeChat Pay's callback arrives, and the watch tells us. Callbacks can
// be late or lost and watches can fail, so after a short wait (or at once when the watch errors)
// we ask the server to check with WeChat Pay itself (payquery), a bounded number of times.

import type { AppConfig } from '../config';
import {
  canPay,
  type FlowEvent,
  type FlowState,
  initialState,
  isPayable,
  transition,
} from './pay-flow';
import type { OrderSighting, UnlockApi, WatchHandle } from './unlock-api';

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const globalScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface ControllerOptions {
  api: UnlockApi;
  itemId: string;
  config: Pick<AppConfig, 'iosPolicy' | 'confirmFallbackMs' | 'payqueryBackoffMs'>;
  scheduler: Scheduler;
  onChange: (state: FlowState) => void;
}

/** A failed watch is re-opened this many times per order before relying on payquery alone. */
const MAX_WATCH_REOPENS = 1;

/** Order statuses after which the order will never be paid (the server's state machine). */
const ENDED_STATUSES = new Set(['closed', 'failed', 'refunding', 'refunded']);

export class UnlockController {
  private state: FlowState = initialState;
  private disposed = false;
  /** The order being paid or confirmed; results for any other order are stale and ignored. */
  private docid: string | null = null;
  private watch: WatchHandle | null = null;
  private watchReopens = 0;
  private timer: unknown = null;
  private polling = false;
  private readonly payable: boolean;

  constructor(private readonly options: ControllerOptions) {
    this.payable = isPayable(options.api.platform(), options.config.iosPolicy);
  }

  get current(): FlowState {
    return this.state;
  }

  /** Reads the unlock record, then reconciles a pending order left by an earlier visit. */
  async load(): Promise<void> {
    const { api, itemId } = this.options;
    try {
      if (await api.hasUnlock(itemId))
        return this.apply({ type: 'loaded', unlocked: true, payable: this.payable });
      const pending = await api.findPendingOrder(itemId);
      if (pending !== null && !this.disposed) {
        // The user may have paid and left before the result came back: ask the server to check.
        // A failed check is not a failed load: the page stays locked and userpay decides later.
        const answer = await api.payquery(pending).catch(() => null);
        if (answer?.kind === 'order' && answer.paystatus === 1) {
          return this.apply({ type: 'loaded', unlocked: true, payable: this.payable });
        }
      }
      this.apply({ type: 'loaded', unlocked: false, payable: this.payable });
    } catch {
      this.apply({ type: 'loadFailed', payable: this.payable });
    }
  }

  async pay(): Promise<void> {
    if (this.disposed || !canPay(this.state)) return; // e.g. a second tap while paying
    this.stopConfirming();
    this.apply({ type: 'payStarted' });
    const { api, itemId } = this.options;

    let answer;
    try {
      answer = await api.userpay(itemId);
    } catch {
      return this.apply({ type: 'serverError' });
    }
    if (this.disposed) return;
    if (answer.kind === 'unlocked') return this.apply({ type: 'alreadyUnlocked' });
    if (answer.kind === 'error')
      return this.apply({ type: 'serverError', errcode: answer.errcode });

    const docid = answer.docid;
    this.docid = docid;
    this.watchReopens = 0;
    // Watch first: the callback can land before requestPayment resolves, and a watch opened
    // afterwards would still see it (init event) but only after an extra round trip.
    this.openWatch(docid);

    const outcome = await api.requestPayment(answer.payment);
    if (this.disposed || this.docid !== docid) return;
    if (outcome.kind === 'cancel') {
      this.stopConfirming();
      return this.apply({ type: 'payCancelled' });
    }
    if (outcome.kind === 'fail') {
      this.stopConfirming();
      return this.apply({ type: 'payFailed' });
    }
    this.apply({ type: 'paySubmitted' });
    if (this.state.status !== 'confirming') return; // the watch already saw it paid
    if (this.watch === null) this.startPolling(docid);
    else this.schedule(this.options.config.confirmFallbackMs, () => this.startPolling(docid));
  }

  /** Closes the watch and stops every timer. Safe to call more than once. */
  dispose(): void {
    this.disposed = true;
    this.stopConfirming();
  }

  private apply(event: FlowEvent): void {
    if (this.disposed) return;
    const next = transition(this.state, event);
    if (next === this.state) return;
    this.state = next;
    if (next.status === 'unlocked') this.stopConfirming();
    this.options.onChange(next);
  }

  private openWatch(docid: string): void {
    try {
      this.watch = this.options.api.watchOrder(docid, {
        onOrder: (order) => this.onOrder(docid, order),
        onError: () => this.onWatchError(docid),
      });
    } catch {
      // Opening itself failed (e.g. no realtime support): payquery covers it.
      this.watch = null;
    }
  }

  private closeWatch(): void {
    const watch = this.watch;
    this.watch = null;
    if (!watch) return;
    try {
      // The platform's close() returns a Promise; failing to close a dead socket is nothing the
      // user can act on, so both a throw and a rejection are swallowed here.
      const closing: unknown = watch.close();
      if (closing instanceof Promise) closing.catch(() => undefined);
    } catch {
      // already closed or never connected
    }
  }

  private onOrder(docid: string, order: OrderSighting): void {
    if (this.disposed || this.docid !== docid) return;
    if (order.paystatus === 1) return this.apply({ type: 'paid' });
    if (typeof order.status === 'string' && ENDED_STATUSES.has(order.status)) {
      this.stopConfirming();
      this.apply({ type: 'orderEnded' });
    }
  }

  private onWatchError(docid: string): void {
    if (this.disposed || this.docid !== docid) return;
    this.closeWatch();
    if (this.watchReopens < MAX_WATCH_REOPENS) {
      this.watchReopens += 1;
      this.openWatch(docid);
    }
    // While confirming, do not wait for the fallback delay: the watch may be blind.
    if (this.state.status === 'confirming') this.startPolling(docid);
  }

  private startPolling(docid: string): void {
    if (this.polling || this.disposed) return;
    this.polling = true;
    this.clearTimer();
    this.pollAttempt(docid, 0);
  }

  private pollAttempt(docid: string, attempt: number): void {
    const backoff = this.options.config.payqueryBackoffMs;
    if (attempt >= backoff.length) {
      // Give up asking, but keep the watch open: a late callback still unlocks the page.
      this.polling = false;
      return this.apply({ type: 'unconfirmed' });
    }
    const ask = () => {
      void this.options.api
        .payquery(docid)
        .catch(() => null)
        .then((answer) => {
          if (this.disposed || this.docid !== docid || !this.polling) return;
          if (answer?.kind === 'order') {
            if (answer.paystatus === 1) return this.apply({ type: 'paid' });
            if (ENDED_STATUSES.has(answer.status)) {
              this.stopConfirming();
              return this.apply({ type: 'orderEnded' });
            }
          }
          // Still pending, rate limited or unreachable: try again later.
          this.pollAttempt(docid, attempt + 1);
        });
    };
    const delay = backoff[attempt];
    if (delay > 0) this.schedule(delay, ask);
    else ask();
  }

  private schedule(ms: number, fn: () => void): void {
    this.clearTimer();
    this.timer = this.options.scheduler.setTimeout(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.options.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }

  private stopConfirming(): void {
    this.clearTimer();
    this.polling = false;
    this.closeWatch();
  }
}
