import { AppError, ErrorCodes, toErrorReply, type ErrorReply } from './errors';
import { callerOpenid, readEvent, requireString } from './input';
import { reconcile, view, type Caller, type OrderView, type PaymentDeps } from './order-events';
import { TRADE_NO_PATTERN } from './trade-no';

export type PayQueryReply = OrderView | ErrorReply;

/** payquery asks WeChat Pay about one order at most this often. */
export const PAYQUERY_INTERVAL_MS = 2_000;

/** The page's fallback when the watch is late: asks WeChat Pay and applies the answer. */
export async function queryForUser(
  deps: PaymentDeps,
  caller: Caller,
  event: unknown,
): Promise<PayQueryReply> {
  try {
    const input = readEvent('payquery', event, ['docid']);
    const docid = requireString('payquery', input, 'docid', TRADE_NO_PATTERN);
    const openid = callerOpenid('payquery', caller.openid);
    const order = await deps.ledger.getOrder(docid);
    // Someone else's order looks exactly like a missing one: nothing leaks.
    if (!order || order.openid !== openid) {
      throw new AppError(ErrorCodes.ORDER_NOT_FOUND, `payquery: no order ${docid}`);
    }
    if (order.status !== 'pending') return view(order);
    const now = deps.now();
    const admitted = await deps.ledger.apply(docid, (current) => {
      if (!current || now - (current.lastQueryAt ?? 0) < PAYQUERY_INTERVAL_MS)
        return { result: false };
      return { order: { lastQueryAt: now }, result: true };
    });
    if (admitted) await reconcile(deps, order, 'query');
    const latest = (await deps.ledger.getOrder(docid)) ?? order;
    return view(latest);
  } catch (err) {
    return toErrorReply(err);
  }
}
