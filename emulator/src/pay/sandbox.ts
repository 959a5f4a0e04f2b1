import { EmulatorError } from '../errors';
import { PayBook } from './book';
import type { CallbackDispatcher, Notification } from './callbacks';
import {
  API_NAMES,
  type CallerInfo,
  type Decision,
  type OrderView,
  type PayApiName,
  type SandboxDeps,
  type VerifyResult,
} from './model';
import type { LedgerState, PayLedger } from './ledger';
import { closeOrder, queryOrder, scheduleExpiry, unifiedOrder } from './orders';
import { decide, verifyPayment } from './pay-sheet';
import { platformRefund, queryRefund, refund, scheduleSettlement } from './refunds';
import type {
  PendingDisagreements,
  QueryOrderRule,
  RefundOutcome,
  RefundRule,
} from './disagreements';
import { PayFailure, type Wire } from './validate';
import { view } from './views';

export * from './model';

/**
 * The CloudPay sandbox: the order book, WeChat Pay's validation and state machine, the user's
 * decisions on the pay sheet, and the notifications. It knows nothing of HTTP or of the function
 * runtime: the clock, the delivery and the event sink are passed in. This class is the facade;
 * the state is in book.ts, the calls in orders.ts, refunds.ts and pay-sheet.ts.
 */
export class PaySandbox {
  private readonly book: PayBook;
  readonly callbacks: CallbackDispatcher;

  constructor(deps: SandboxDeps) {
    this.book = new PayBook(deps);
    this.callbacks = this.book.callbacks;
  }

  // ---- the SDK's wx.wxPayApi -------------------------------------------------------------

  /** Answers one CloudPay call with the raw snake_case JSON WeChat would return. */
  call(apiName: string, data: Wire, caller: CallerInfo = {}): Wire {
    const book = this.book;
    try {
      switch (apiName as PayApiName) {
        case 'unifiedOrder':
          return unifiedOrder(book, data, caller);
        case 'queryOrder':
          return queryOrder(book, data);
        case 'closeOrder':
          return closeOrder(book, data);
        case 'refund':
          return refund(book, data);
        case 'queryRefund':
          return queryRefund(book, data);
        default:
          throw new EmulatorError(
            'INVALID_PARAM',
            `cloudPay.${apiName} is not emulated; the sandbox answers ${API_NAMES.join(', ')}`,
          );
      }
    } catch (err) {
      if (!(err instanceof PayFailure)) throw err;
      book.deps.emit('pay.order', {
        event: 'refused',
        api: apiName,
        outTradeNo: typeof data.out_trade_no === 'string' ? data.out_trade_no : undefined,
        returnCode: err.answer.return_code,
        errCode: err.answer.err_code,
        message: err.message,
      });
      return err.answer;
    }
  }

  // ---- the user's side: the pay sheet ---------------------------------------------------

  /** See pay-sheet.ts: confirm pays and notifies; cancel and fail leave the order NOTPAY. */
  decide(outTradeNo: string, decision: Decision, opts: { openid?: string } = {}): OrderView {
    return decide(this.book, outTradeNo, decision, opts);
  }

  /** Delivers the payment notification again now (Stripe CLI's "resend"). */
  async resend(outTradeNo: string): Promise<OrderView> {
    const order = this.book.mustFind(outTradeNo);
    if (!order.notification) {
      throw new EmulatorError(
        'NOT_PAID',
        `order "${outTradeNo}" is ${order.state}: a notification goes out only for a paid order`,
        409,
      );
    }
    await this.callbacks.resend(order.notification);
    return view(this.book, order);
  }

  /** The order a `payment.package` ("prepay_id=...") belongs to. */
  findByPrepayId(prepayId: string): OrderView | undefined {
    const id = prepayId.startsWith('prepay_id=') ? prepayId.slice('prepay_id='.length) : prepayId;
    const order = this.book.byPrepayId.get(id);
    return order && view(this.book, order);
  }

  /** Checks a payment object as `wx.requestPayment` receives it (see pay-sheet.ts). */
  verifyPayment(payment: unknown): VerifyResult {
    return verifyPayment(this.book, payment);
  }

  /** A refund made by hand on the merchant platform (see refunds.ts `platformRefund`). */
  refundOnPlatform(
    outTradeNo: string,
    opts: { refundFee?: number; functionName?: string; status?: RefundOutcome } = {},
  ): OrderView {
    platformRefund(this.book, outTradeNo, opts);
    return view(this.book, this.book.mustFind(outTradeNo));
  }

  /** Appends disagreement rules (queryOrder facts, refund outcomes; see disagreements.ts). */
  disagree(rules: { queryOrder?: QueryOrderRule[]; refunds?: RefundRule[] }): void {
    this.book.disagreements.add(rules);
  }

  pendingDisagreements(): PendingDisagreements {
    return this.book.disagreements.pending();
  }

  clearDisagreements(): void {
    this.book.disagreements.clear();
  }

  get(outTradeNo: string): OrderView | undefined {
    const order = this.book.orders.get(outTradeNo);
    return order && view(this.book, order);
  }

  list(): OrderView[] {
    return [...this.book.orders.values()].map((o) => view(this.book, o));
  }

  /** Resolves once no notification delivery is running. */
  idle(): Promise<void> {
    return this.callbacks.idle();
  }

  /**
   * Takes the state a pay journal kept (ledger.ts) and journals every later change there: orders
   * and refunds as they were, each unpaid order's expiry, each PROCESSING refund's settlement and
   * each pending notification's next attempt at the emulated instants they were due.
   */
  restore(ledger: PayLedger, state: LedgerState): void {
    const book = this.book;
    if (state.signKey && !book.deps.signKey) book.signKey = state.signKey;
    const notifications: Notification[] = [];
    for (const order of state.orders) {
      book.orders.set(order.outTradeNo, order);
      book.byPrepayId.set(order.prepayId, order);
      if (order.state === 'NOTPAY' && order.expiresAt > book.now()) scheduleExpiry(book, order);
      for (const r of order.refunds) {
        scheduleSettlement(book, order, r);
        if (r.notification) notifications.push(r.notification);
      }
      if (order.notification) notifications.push(order.notification);
    }
    const seq = (id: string): number => Number(id.slice('ntf-'.length));
    for (const n of notifications.sort((a, b) => seq(a.id) - seq(b.id))) this.callbacks.restore(n);
    book.ledger = ledger;
  }

  /** The state the pay journal compacts to. */
  ledgerState(): LedgerState {
    return {
      orders: [...this.book.orders.values()],
      signKey: this.book.signKey,
      clockAt: this.book.now(),
    };
  }

  /** Orders held (each with its notifications and refunds). */
  orderCount(): number {
    return this.book.orders.size;
  }

  /** Forgets everything, and journals that (the emulator's reset). */
  reset(): void {
    this.forget();
    this.book.ledger?.clear();
  }

  /** Stops every timer and forgets the state in memory, leaving the journal as it is (stop). */
  forget(): void {
    const book = this.book;
    for (const order of book.orders.values()) order.expiryTask?.cancel();
    for (const task of book.refundTasks) task.cancel();
    book.refundTasks.clear();
    book.orders.clear();
    book.byPrepayId.clear();
    book.disagreements.clear();
    this.callbacks.reset();
  }

  /** Stops journaling (the emulator stops; the journal file stays for the next start). */
  detachLedger(): PayLedger | undefined {
    const ledger = this.book.ledger;
    this.book.ledger = undefined;
    return ledger;
  }
}
