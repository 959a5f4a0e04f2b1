import type { PayBook } from './book';
import type { Notification } from './callbacks';
import { iso, type CallbacksView, type Order, type OrderView } from './model';
import { formatPayTime } from './time';

/** The control API's JSON view of an order, its refunds and their notifications. */

export function callbacksView(n: Notification | undefined): CallbacksView | undefined {
  if (!n) return undefined;
  return {
    functionName: n.functionName,
    acknowledged: n.acknowledged,
    ...(n.acknowledgedAt ? { acknowledgedAt: n.acknowledgedAt } : {}),
    gaveUp: n.gaveUp,
    lost: n.lost,
    ...(n.nextAttemptAt ? { nextAttemptAt: n.nextAttemptAt } : {}),
    event: n.event,
    attempts: n.attempts.map((a) => ({ ...a })),
  };
}

export function view(book: PayBook, order: Order): OrderView {
  const callbacks = callbacksView(order.notification);
  return {
    outTradeNo: order.outTradeNo,
    prepayId: order.prepayId,
    ...(order.transactionId ? { transactionId: order.transactionId } : {}),
    tradeState: order.state,
    expired: order.state === 'NOTPAY' && book.now() >= order.expiresAt,
    appid: order.subAppid,
    subMchId: order.subMchId,
    body: order.body,
    ...(order.attach === undefined ? {} : { attach: order.attach }),
    totalFee: order.totalFee,
    refundedFee: order.refundedFee,
    openid: order.openid,
    envId: order.envId,
    functionName: order.functionName,
    createdAt: iso(order.createdAt),
    expiresAt: iso(order.expiresAt),
    ...(order.paidAt === undefined
      ? {}
      : { paidAt: iso(order.paidAt), timeEnd: formatPayTime(order.paidAt) }),
    ...(order.closedAt === undefined ? {} : { closedAt: iso(order.closedAt) }),
    payment: { ...order.payment },
    decisions: order.decisions.map((d) => ({ ...d })),
    ...(callbacks ? { callbacks } : {}),
    refunds: order.refunds.map((r) => {
      const rc = callbacksView(r.notification);
      return {
        outRefundNo: r.outRefundNo,
        refundId: r.refundId,
        refundFee: r.refundFee,
        status: r.status,
        source: r.source,
        requestedAt: iso(r.requestedAt),
        ...(r.settledAt === undefined ? {} : { settledAt: iso(r.settledAt) }),
        ...(r.successAt === undefined ? {} : { successAt: iso(r.successAt) }),
        ...(rc ? { callbacks: rc } : {}),
      };
    }),
  };
}
