import { CloudPayError, ensureSuccess, type PaymentParams } from './cloudpay';
import { catalogItem } from './config';
import { AppError, ErrorCodes, toErrorReply, type ErrorReply } from './errors';
import { callerOpenid, readEvent, requireString } from './input';
import {
  applyEvent,
  closeAtWeChat,
  reconcile,
  type Caller,
  type PaymentDeps,
} from './order-events';
import { openKeyFor, type OrderRecord, type UniOrderSummary } from './records';
import { formatPayTime, formatRecipeTime } from './time';

/* userpay: places an order for an item, reusing or settling an open one, never charging twice. */

export type UserPayReply =
  { docid: string; tradeno: string; payment: PaymentParams } | { unlocked: true } | ErrorReply;

const ITEM_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** An order created this recently without a stored payment may still be in unifiedOrder. */
const IN_FLIGHT_MS = 30_000;
/** A reused order must stay payable long enough for the user to finish paying. */
const REUSE_MARGIN_MS = 60_000;

const RECIPE_FIELDS = ['fee', 'paydata', 'totalFee', 'totalfee', 'price', 'openid'];

/** The recipe's field names get a message that says what to send instead. */
function rejectRecipeFields(event: unknown): void {
  if (event && typeof event === 'object' && !Array.isArray(event)) {
    const sent = RECIPE_FIELDS.filter((k) => k in event);
    if (sent.length) {
      throw new AppError(
        ErrorCodes.INVALID_INPUT,
        `userpay 参数错误: ${sent.join(', ')} not accepted; the price and the payer are decided on the server: send {itemId}`,
      );
    }
  }
}

function expiredOrNearly(order: OrderRecord, now: number): boolean {
  return order.expiresAt - now < REUSE_MARGIN_MS;
}

/** Ends an open order that cannot be reused; true when it turned out to be paid. */
async function settleStaleOrder(
  deps: PaymentDeps,
  order: OrderRecord,
  by: string,
): Promise<boolean> {
  const now = deps.now();
  if (!order.uniOrder?.payment) {
    if (now - order.createdAt < IN_FLIGHT_MS) {
      throw new AppError(
        ErrorCodes.ORDER_NOT_PAYABLE,
        '上一笔订单正在创建，请稍候再试 (an order is being created)',
      );
    }
    // unifiedOrder never answered for it: nobody holds its payment parameters, so nobody can pay it.
    const state = await reconcile(deps, order, by);
    if (state === 'SUCCESS' || state === 'REFUND') return true;
    if (state !== 'ORDERNOTEXIST') await closeAtWeChat(deps, order, by);
    return false;
  }
  const state = await reconcile(deps, order, by);
  if (state === 'SUCCESS' || state === 'REFUND') return true;
  if (state === 'NOTPAY' || state === 'USERPAYING' || state === 'PAYERROR') {
    await closeAtWeChat(deps, order, by);
  }
  return false;
}

/**
 * WeChat Pay reports the user's order paid. Unlocked only when the payment was accepted (its unlock
 * written): facts that did not match the order were recorded as an anomaly and grant nothing.
 */
async function paidReply(deps: PaymentDeps, openid: string, itemId: string): Promise<UserPayReply> {
  if (await deps.ledger.getUnlock(openid, itemId)) return { unlocked: true };
  throw new AppError(
    ErrorCodes.ORDER_NOT_PAYABLE,
    '支付待核对，请联系客服 (WeChat Pay reports a payment that does not match the order)',
  );
}

export async function createOrder(
  deps: PaymentDeps,
  caller: Caller,
  event: unknown,
): Promise<UserPayReply> {
  try {
    rejectRecipeFields(event);
    const input = readEvent('userpay', event, ['itemId']);
    const itemId = requireString('userpay', input, 'itemId', ITEM_ID);
    const item = catalogItem(deps.config.catalog, itemId);
    if (!item) {
      throw new AppError(ErrorCodes.UNKNOWN_ITEM, `userpay: unknown itemId "${itemId}"`);
    }
    const openid = callerOpenid('userpay', caller.openid);

    // Refuse before any money moves: the user already has it.
    if (await deps.ledger.getUnlock(openid, itemId)) return { unlocked: true };

    for (let attempt = 0; attempt < 3; attempt++) {
      const open = await deps.ledger.findOpenOrder(openid, itemId);
      if (open) {
        if (open.uniOrder?.payment && !expiredOrNearly(open, deps.now())) {
          // A second tap: the same order and payment, never a second charge. But the first tap
          // may have been paid already with its callback still on the way: ask before reusing.
          const state = await reconcile(deps, open, 'userpay');
          if (state === 'SUCCESS' || state === 'REFUND')
            return await paidReply(deps, openid, itemId);
          if (state === 'NOTPAY' || state === 'USERPAYING' || state === 'PAYERROR') {
            return { docid: open._id, tradeno: open.tradeno, payment: open.uniOrder.payment };
          }
          continue;
        }
        if (await settleStaleOrder(deps, open, 'userpay')) {
          return await paidReply(deps, openid, itemId);
        }
        if (await deps.ledger.findOpenOrder(openid, itemId)) {
          throw new AppError(
            ErrorCodes.ORDER_NOT_PAYABLE,
            '上一笔订单尚未结束，请稍后再试 (previous order still open)',
          );
        }
      }
      const now = deps.now();
      const tradeno = deps.newTradeNo(now);
      const order: OrderRecord = {
        _id: tradeno,
        tradeno,
        openid,
        _openid: openid,
        itemId,
        body: item.body,
        totalfee: item.totalFee,
        paystatus: 0,
        status: 'pending',
        paytime: formatRecipeTime(now),
        createdAt: now,
        expiresAt: now + deps.config.orderLifetimeMs,
        updatedAt: now,
        openKey: openKeyFor(openid, itemId),
        uniOrder: null,
        history: [],
      };
      // The record first: no payment can exist that we have no record of.
      if ((await deps.ledger.insertOrder(order)) === 'open-order-exists') continue;
      // Checked again now that our order holds the user+item key: an earlier order paid between
      // the first check and the insert (a double tap racing its own callback) would otherwise
      // charge the user twice. Its paid commit released the key and granted the unlock in one
      // transaction, so after our insert one of the two is always visible.
      if (await deps.ledger.getUnlock(openid, itemId)) {
        const notSent: UniOrderSummary = { returnCode: 'NOT_SENT', errCodeDes: 'already unlocked' };
        await applyEvent(deps, order.tradeno, 'PREPAY_FAILED', 'userpay', () => ({
          uniOrder: notSent,
        }));
        return { unlocked: true };
      }
      return await prepay(deps, order, caller);
    }
    throw new AppError(ErrorCodes.ORDER_NOT_PAYABLE, '下单冲突，请重试 (concurrent orders)');
  } catch (err) {
    // WeChat Pay refused a call made for this tap (queryOrder on a second tap, closeOrder on a
    // stale order): nothing was charged and the user can try again; WeChat's words say why.
    if (err instanceof CloudPayError) {
      return toErrorReply(
        new AppError(ErrorCodes.PAY_GATEWAY, `支付服务暂时不可用，请稍后重试 (${err.message})`),
      );
    }
    return toErrorReply(err);
  }
}

async function prepay(
  deps: PaymentDeps,
  order: OrderRecord,
  caller: Caller,
): Promise<UserPayReply> {
  const { config } = deps;
  const clientIp =
    typeof caller.clientIp === 'string' && caller.clientIp ? caller.clientIp : '127.0.0.1';
  let uniOrder: UniOrderSummary;
  try {
    const res = ensureSuccess(
      'unifiedOrder',
      await deps.pay.unifiedOrder({
        body: order.body,
        outTradeNo: order.tradeno,
        spbillCreateIp: clientIp,
        subMchId: config.subMchId,
        totalFee: order.totalfee,
        envId: config.envId,
        functionName: config.payNotifyFunction,
        nonceStr: deps.nonceStr(),
        tradeType: 'JSAPI',
        attach: order.itemId,
        timeStart: formatPayTime(order.createdAt),
        timeExpire: formatPayTime(order.expiresAt),
      }),
    );
    if (!res.payment)
      throw new CloudPayError(
        'unifiedOrder',
        'SUCCESS',
        'SUCCESS',
        undefined,
        'no payment in the answer',
      );
    uniOrder = {
      returnCode: res.returnCode,
      resultCode: res.resultCode,
      prepayId: res.prepayId,
      payment: res.payment,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const failed: UniOrderSummary =
      err instanceof CloudPayError
        ? { returnCode: err.returnCode, resultCode: err.resultCode, errCodeDes: err.errCodeDes }
        : { returnCode: 'ERROR', errCodeDes: message };
    // The failure is kept in the order's uniOrder (PREPAY_FAILED never records an anomaly).
    await applyEvent(deps, order.tradeno, 'PREPAY_FAILED', 'userpay', () => ({ uniOrder: failed }));
    throw new AppError(ErrorCodes.PAY_GATEWAY, `下单失败，请稍后重试 (${message})`);
  }
  // Stored before the page gets it, so a second tap can reuse it and the record is complete.
  await deps.ledger.savePrepay(order.tradeno, uniOrder, deps.now());
  return { docid: order._id, tradeno: order.tradeno, payment: uniOrder.payment as PaymentParams };
}
