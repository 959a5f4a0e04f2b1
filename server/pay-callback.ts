import type { ErrorReply } from './errors';
import { paymentMismatches, transition } from './order-state';
import {
  ACK,
  anomaly,
  reconcile,
  refuseUnlessWeChatPay,
  type Caller,
  type PaymentDeps,
} from './order-events';
import { isTradeNo } from './trade-no';

/**
 * The payment callback. Acknowledges (`{errcode: 0}`) only once the outcome is durably recorded;
 * anything else makes WeChat Pay retry. It trusts nothing in the event: the source must be WeChat
 * Pay's, the amount and merchant must match the order, and queryOrder must confirm.
 */
export async function handlePaymentCallback(
  deps: PaymentDeps,
  caller: Caller,
  event: unknown,
): Promise<ErrorReply> {
  const refused = refuseUnlessWeChatPay(caller, 'userpaynotify');
  if (refused) return refused;
  const now = deps.now();
  try {
    const e = (event && typeof event === 'object' ? event : {}) as Record<string, unknown>;
    const tradeno = e.outTradeNo;
    if (!isTradeNo(tradeno)) {
      await deps.ledger.recordAnomaly(
        anomaly(
          'malformed',
          `callback-${now}`,
          'a payment callback without a valid outTradeNo',
          event,
          now,
        ),
      );
      return ACK;
    }
    if (e.returnCode !== 'SUCCESS' || e.resultCode !== 'SUCCESS') {
      await deps.ledger.recordAnomaly(
        anomaly(tradeno, 'callback-not-success', 'callback without SUCCESS codes', event, now),
      );
      return ACK;
    }
    const order = await deps.ledger.getOrder(tradeno);
    if (!order) {
      await deps.ledger.recordAnomaly(
        anomaly(tradeno, 'unknown-order', 'payment callback for an unknown order', event, now),
      );
      return ACK;
    }
    const problems = paymentMismatches(
      order,
      {
        outTradeNo: tradeno,
        totalFee: Number(e.totalFee),
        subMchId: String(e.subMchId ?? ''),
        transactionId: String(e.transactionId ?? ''),
      },
      deps.config.subMchId,
    );
    if (problems.length) {
      await deps.ledger.recordAnomaly(
        anomaly(tradeno, 'callback-mismatch', problems.join('; '), event, now),
      );
      return ACK;
    }
    if (order.status !== 'pending') {
      // Already settled (a duplicate or late delivery): the state machine says nothing changes.
      const verdict = transition(order.status, 'PAYMENT_CONFIRMED');
      if (verdict.outcome === 'duplicate') return ACK;
    }
    const state = await reconcile(deps, order, 'callback');
    if (state === 'NOTPAY' || state === 'USERPAYING') {
      // WeChat Pay's own query disagrees with its callback for now: let it call again later.
      return { errcode: -1, errmsg: `queryOrder says ${state}; retry later` };
    }
    return ACK;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { errcode: -1, errmsg: `not recorded, retry: ${message}` };
  }
}
