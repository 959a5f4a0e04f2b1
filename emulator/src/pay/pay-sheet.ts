import { EmulatorError } from '../errors';
import type { PayBook } from './book';
import { STATE_DESC, digits, iso, type Decision, type OrderView, type VerifyResult } from './model';
import { paymentEvent } from './notify-events';
import { sameSignature, signFields } from './sign';
import { formatPayTime } from './time';
import { view } from './views';

/** The payer's side: the decision on the pay sheet and the check of a requestPayment object. */

/**
 * The payer's decision on the pay sheet. `confirm` pays (NOTPAY -> SUCCESS) and sends the
 * payment notification; `cancel` leaves the order NOTPAY; `fail` records a failed payment
 * (WeChat's PAYERROR, e.g. a declined card) and leaves the order NOTPAY and payable, as a
 * failed JSAPI payment does. Returns the order once the decision is recorded; the first
 * notification attempt runs in the background (see `idle()`).
 */
export function decide(
  book: PayBook,
  outTradeNo: string,
  decision: Decision,
  opts: { openid?: string } = {},
): OrderView {
  const order = book.mustFind(outTradeNo);
  if (!['confirm', 'cancel', 'fail'].includes(decision)) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `decision must be confirm, cancel or fail, got "${String(decision)}"`,
    );
  }
  const now = book.now();
  if (order.state !== 'NOTPAY') {
    throw new EmulatorError(
      'ORDER_NOT_PAYABLE',
      `order "${outTradeNo}" is ${order.state} (${STATE_DESC[order.state]}); only a NOTPAY order can be paid, cancelled or failed`,
      409,
    );
  }
  if (now >= order.expiresAt) {
    throw new EmulatorError(
      'ORDER_EXPIRED',
      `order "${outTradeNo}" expired at ${formatPayTime(order.expiresAt)} (UTC+8); the pay sheet refuses it (queryOrder still reports NOTPAY until closeOrder)`,
      409,
    );
  }
  const result =
    decision === 'confirm' ? 'SUCCESS' : decision === 'cancel' ? 'CANCELLED' : 'PAYERROR';
  // Recorded and journaled before anything goes out: the notification is prepared with the order
  // and started only once both are on disk (ledger.ts), so a restart never forgets a payment.
  const notification = book.commit(order, () => {
    if (opts.openid !== undefined && !order.openidKnown) {
      order.openid = opts.openid;
      order.openidKnown = true;
    }
    const openid = order.openid;
    if (opts.openid !== undefined && opts.openid !== openid) {
      throw new EmulatorError(
        'WRONG_PAYER',
        `order "${outTradeNo}" was placed for openid "${openid}", not "${opts.openid}"`,
        403,
      );
    }
    order.decisions.push({ decision, time: iso(now), openid, result });
    if (decision !== 'confirm') return undefined;
    order.state = 'SUCCESS';
    order.paidAt = now;
    order.transactionId = `4200${formatPayTime(now).slice(0, 8)}${digits(16)}`;
    order.notification = book.callbacks.prepare({
      kind: 'payment',
      outTradeNo,
      functionName: order.functionName,
      openid,
      event: paymentEvent(book, order),
    });
    return order.notification;
  });
  if (notification) {
    order.expiryTask?.cancel();
    delete order.expiryTask;
    book.orderEvent(order, 'paid');
    book.callbacks.start(notification);
  } else {
    book.orderEvent(order, decision === 'cancel' ? 'cancelled' : 'payment_failed');
  }
  return view(book, order);
}

/**
 * Checks a payment object as `wx.requestPayment` receives it: all five fields, a known
 * prepay id, and a paySign that matches (so an edited object is refused, as the pay sheet does).
 */
export function verifyPayment(book: PayBook, payment: unknown): VerifyResult {
  if (!payment || typeof payment !== 'object') {
    return {
      ok: false,
      reason: 'requestPayment needs an object with timeStamp, nonceStr, package, signType, paySign',
    };
  }
  const p = payment as Record<string, unknown>;
  for (const field of ['timeStamp', 'nonceStr', 'package', 'signType', 'paySign']) {
    if (typeof p[field] !== 'string' || !p[field]) {
      return { ok: false, reason: `requestPayment: ${field} is missing or not a string` };
    }
  }
  const pkg = p.package as string;
  if (!pkg.startsWith('prepay_id=')) {
    return { ok: false, reason: `requestPayment: package must be "prepay_id=...", got "${pkg}"` };
  }
  const order = book.byPrepayId.get(pkg.slice('prepay_id='.length));
  if (!order) return { ok: false, reason: `requestPayment: no order has ${pkg}` };
  const expected = signFields(
    {
      appId: p.appId ?? order.payment.appId,
      timeStamp: p.timeStamp,
      nonceStr: p.nonceStr,
      package: p.package,
      signType: p.signType,
    },
    book.signKey,
  );
  if (!sameSignature(expected, p.paySign as string)) {
    return {
      ok: false,
      reason:
        'requestPayment: paySign does not match the payment fields (was the payment object changed?)',
    };
  }
  return { ok: true, order: view(book, order) };
}
