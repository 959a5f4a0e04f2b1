import { ensureSuccess, refundAt, type QueryRefundResult } from './cloudpay';
import { AppError, ErrorCodes, toErrorReply, type ErrorReply } from './errors';
import { callerOpenid, readEvent, requireString } from './input';
import { transition } from './order-state';
import {
  ACK,
  anomaly,
  applyEvent,
  refuseUnlessWeChatPay,
  view,
  type Caller,
  type OrderView,
  type PaymentDeps,
} from './order-events';
import type { OrderRecord } from './records';
import { isTradeNo, refundNoFor, TRADE_NO_PATTERN } from './trade-no';

/* payrefund (an administrator refunds an order) and payrefundnotify (WeChat Pay says a refund
 * ended): queryRefund, never the notification's payload, decides what happened. */

export type RefundReply = (OrderView & { outRefundNo: string }) | ErrorReply;

export async function requestRefund(
  deps: PaymentDeps,
  caller: Caller,
  event: unknown,
): Promise<RefundReply> {
  try {
    const openid = callerOpenid('payrefund', caller.openid);
    if (!deps.config.adminOpenids.includes(openid)) {
      throw new AppError(
        ErrorCodes.FORBIDDEN,
        "payrefund: only the shop's administrators may refund",
      );
    }
    const input = readEvent('payrefund', event, ['docid', 'reason']);
    const docid = requireString('payrefund', input, 'docid', TRADE_NO_PATTERN);
    const reason =
      input.reason === undefined
        ? undefined
        : requireString('payrefund', input, 'reason', /^.{1,80}$/u);
    const order = await deps.ledger.getOrder(docid);
    if (!order) throw new AppError(ErrorCodes.ORDER_NOT_FOUND, `payrefund: no order ${docid}`);
    const verdict = transition(order.status, 'REFUND_REQUESTED');
    if (verdict.outcome === 'rejected' || verdict.outcome === 'anomaly') {
      throw new AppError(ErrorCodes.ORDER_NOT_PAYABLE, `payrefund: ${verdict.reason}`);
    }
    const outRefundNo = refundNoFor(order.tradeno);
    if (verdict.outcome === 'duplicate') return { ...view(order), outRefundNo };
    // The same refund number on every retry: WeChat Pay treats a repeat as the same refund.
    ensureSuccess(
      'refund',
      await deps.pay.refund({
        subMchId: deps.config.subMchId,
        nonceStr: deps.nonceStr(),
        outTradeNo: order.tradeno,
        outRefundNo,
        totalFee: order.totalfee,
        refundFee: order.totalfee,
        refundDesc: reason,
        functionName: deps.config.refundNotifyFunction,
        envId: deps.config.envId,
      }),
    );
    const now = deps.now();
    const result = await applyEvent(deps, order.tradeno, 'REFUND_REQUESTED', 'refund', () => ({
      refund: { outRefundNo, refundFee: order.totalfee, requestedAt: now },
    }));
    return { ...view(result.order ?? order), outRefundNo };
  } catch (err) {
    return toErrorReply(err);
  }
}

/**
 * Where the order number sits in a refund notification. The payload is not documented for
 * CloudPay: WeChat Pay's own refund notify carries it inside `req_info`, which the cloud is
 * believed to decrypt into `reqInfo`; accept either spelling at either level, nothing more.
 */
function refundEventTradeNo(event: unknown): unknown {
  const e = (event && typeof event === 'object' ? event : {}) as Record<string, unknown>;
  const inner = (e.reqInfo ?? e.req_info ?? {}) as Record<string, unknown>;
  return e.outTradeNo ?? e.out_trade_no ?? inner?.outTradeNo ?? inner?.out_trade_no;
}

/**
 * The refund callback. Its payload is not documented reliably, so it only tells us WHICH order to
 * look at; queryRefund decides what happened.
 */
export async function handleRefundCallback(
  deps: PaymentDeps,
  caller: Caller,
  event: unknown,
): Promise<ErrorReply> {
  const refused = refuseUnlessWeChatPay(caller, 'payrefundnotify');
  if (refused) return refused;
  try {
    const tradeno = refundEventTradeNo(event);
    if (!isTradeNo(tradeno)) {
      const now = deps.now();
      await deps.ledger.recordAnomaly(
        anomaly('malformed', `refund-${now}`, 'a refund callback without outTradeNo', event, now),
      );
      return ACK;
    }
    const order = await deps.ledger.getOrder(tradeno);
    if (!order) {
      const now = deps.now();
      await deps.ledger.recordAnomaly(
        anomaly(tradeno, 'unknown-refund', 'refund callback for an unknown order', event, now),
      );
      return ACK;
    }
    return (await confirmRefund(deps, order)) === 'PROCESSING'
      ? { errcode: -1, errmsg: 'refund still processing; retry later' }
      : ACK;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { errcode: -1, errmsg: `not recorded, retry: ${message}` };
  }
}

/**
 * Which of the order's refunds decides it. A refund that succeeded, ours or one made by hand on the
 * merchant platform, sent the money back: the order is refunded whatever the others say. Otherwise
 * ours decides (closed or changed: back to paid; processing: wait), or the only refund there is.
 */
function decidingRefund(result: QueryRefundResult, ours: string): DecidingRefund | undefined {
  const count = Number(result.refundCount ?? 0);
  const refunds = Array.from({ length: count }, (_, i) => refundAt(result, i));
  return (
    refunds.find((r) => r.refundStatus === 'SUCCESS') ??
    refunds.find((r) => r.outRefundNo === ours) ??
    (count === 1 ? refunds[0] : undefined)
  );
}

type DecidingRefund = ReturnType<typeof refundAt>;

/** Asks queryRefund about the order's refunds and applies them; returns the refund status seen. */
export async function confirmRefund(deps: PaymentDeps, order: OrderRecord): Promise<string> {
  const result = ensureSuccess(
    'queryRefund',
    await deps.pay.queryRefund({
      subMchId: deps.config.subMchId,
      nonceStr: deps.nonceStr(),
      outTradeNo: order.tradeno,
    }),
  );
  const ours = refundNoFor(order.tradeno);
  const refund = decidingRefund(result, ours);
  const status: string = refund ? (refund.refundStatus ?? 'UNKNOWN') : 'NONE';
  const now = deps.now();
  if (status === 'SUCCESS') {
    await applyEvent(
      deps,
      order.tradeno,
      'REFUND_SUCCEEDED',
      'refundnotify',
      // The refund that returned the money (ours, or one made on the merchant platform).
      (o) => ({
        refund: {
          outRefundNo: refund?.outRefundNo ?? ours,
          refundFee: refund?.refundFee ?? o.totalfee,
          requestedAt: o.refund?.requestedAt ?? now,
          refundedAt: now,
        },
      }),
      result,
    );
  } else if (status === 'REFUNDCLOSE' || status === 'CHANGE') {
    await applyEvent(deps, order.tradeno, 'REFUND_FAILED', 'refundnotify', () => ({}), result);
  }
  return status;
}
