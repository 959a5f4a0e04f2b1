import {
  CloudPayError,
  ensureSuccess,
  refundAt,
  type CloudPayApi,
  type PaymentParams,
  type QueryOrderResult,
} from './cloudpay';
import { catalogItem, type PayConfig } from './config';
import { AppError, ErrorCodes, toErrorReply, type ErrorReply } from './errors';
import { callerOpenid, readEvent, requireString } from './input';
import type { Ledger, Plan } from './ledger';
import {
  paymentMismatches,
  paystatusOf,
  transition,
  type OrderEventType,
  type OrderStatus,
  type PaymentFacts,
} from './order-state';
import {
  openKeyFor,
  unlockIdFor,
  type AnomalyRecord,
  type OrderRecord,
  type UniOrderSummary,
} from './records';
import { formatPayTime, formatRecipeTime } from './time';
import { isTradeNo, refundNoFor, TRADE_NO_PATTERN } from './trade-no';

/** Everything the flows need from outside, injected so tests control time, ids and WeChat Pay. */
export interface PaymentDeps {
  ledger: Ledger;
  pay: CloudPayApi;
  config: PayConfig;
  now: () => number;
  nonceStr: () => string;
  newTradeNo: (now: number) => string;
}

export interface Caller {
  openid: unknown;
  clientIp?: unknown;
  /** getWXContext().SOURCE */
  source?: unknown;
}

export type UserPayReply =
  { docid: string; tradeno: string; payment: PaymentParams } | { unlocked: true } | ErrorReply;

export interface OrderView {
  docid: string;
  tradeno: string;
  status: OrderStatus;
  paystatus: 0 | 1;
}

export type PayQueryReply = OrderView | ErrorReply;

/**
 * Callbacks run only for WeChat Pay (SOURCE wx_paycallback, set by the platform, not the event):
 * a mini-program user can invoke a callback function directly, and is refused with nothing written.
 */
function refuseUnlessWeChatPay(caller: Caller, fn: string): ErrorReply | undefined {
  if (caller.source === 'wx_paycallback') return undefined;
  return { errcode: ErrorCodes.NOT_CALLBACK, errmsg: `${fn} only accepts WeChat Pay callbacks` };
}

/** The only reply WeChat Pay takes as an acknowledgement (platform-facts §3). */
export const ACK = { errcode: 0, errmsg: 'SUCCESS' } as const;

const ITEM_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** An order created this recently without a stored payment may still be in unifiedOrder. */
const IN_FLIGHT_MS = 30_000;
/** A reused order must stay payable long enough for the user to finish paying. */
const REUSE_MARGIN_MS = 60_000;
/** WeChat Pay refuses closeOrder in the first 5 minutes of an order. */
const CLOSE_AFTER_MS = 5 * 60_000;
/** payquery asks WeChat Pay about one order at most this often. */
export const PAYQUERY_INTERVAL_MS = 2_000;

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

function change(
  order: OrderRecord,
  to: OrderStatus,
  by: string,
  now: number,
): Partial<OrderRecord> {
  return {
    status: to,
    paystatus: paystatusOf(to),
    // Only a pending order holds the user+item key; afterwards a new order may be opened.
    openKey: to === 'pending' ? order.openKey : order.tradeno,
    updatedAt: now,
    history: [...order.history, { at: now, from: order.status, to, by }],
  };
}

function anomaly(
  tradeno: string,
  kind: string,
  detail: string,
  evidence: unknown,
  now: number,
): AnomalyRecord {
  return {
    _id: `${tradeno}__${kind}`,
    tradeno,
    kind,
    detail,
    evidence: JSON.parse(JSON.stringify(evidence ?? null)) as Record<string, unknown>,
    at: now,
    resolved: false,
  };
}

export type ApplyOutcome = 'applied' | 'duplicate' | 'rejected' | 'anomaly';

/**
 * The one code path for every order event: reads the order inside the ledger's transaction, asks
 * the state machine, and writes the order, the unlock and any anomaly together.
 */
export function applyEvent(
  deps: PaymentDeps,
  tradeno: string,
  event: OrderEventType,
  by: string,
  extra: (order: OrderRecord) => Partial<OrderRecord> = () => ({}),
  evidence: unknown = {},
  /** Checks the event's facts against the order as read inside the transaction. */
  mismatches: (order: OrderRecord) => string[] = () => [],
): Promise<{ outcome: ApplyOutcome; order?: OrderRecord; reason?: string }> {
  const now = deps.now();
  return deps.ledger.apply(
    tradeno,
    (order): Plan<{ outcome: ApplyOutcome; order?: OrderRecord; reason?: string }> => {
      if (!order) {
        const reason = `${event} for an unknown order`;
        return {
          anomaly: anomaly(tradeno, 'unknown-order', reason, evidence, now),
          result: { outcome: 'anomaly', reason },
        };
      }
      const problems = mismatches(order);
      if (problems.length) {
        const reason = problems.join('; ');
        return {
          anomaly: anomaly(tradeno, 'payment-mismatch', reason, evidence, now),
          result: { outcome: 'anomaly', order, reason },
        };
      }
      const verdict = transition(order.status, event);
      switch (verdict.outcome) {
        case 'duplicate':
          return { result: { outcome: 'duplicate', order } };
        case 'rejected':
          return { result: { outcome: 'rejected', order, reason: verdict.reason } };
        case 'anomaly':
          return {
            anomaly: anomaly(
              tradeno,
              `${event.toLowerCase()}-when-${order.status}`,
              verdict.reason,
              evidence,
              now,
            ),
            result: { outcome: 'anomaly', order, reason: verdict.reason },
          };
        case 'applied': {
          const patch = { ...extra(order), ...change(order, verdict.to, by, now) };
          const next = { ...order, ...patch };
          return {
            order: patch,
            grantUnlock:
              verdict.unlock === 'grant'
                ? {
                    _id: unlockIdFor(order.openid, order.itemId),
                    openid: order.openid,
                    _openid: order.openid,
                    itemId: order.itemId,
                    tradeno: order.tradeno,
                    unlockedAt: now,
                  }
                : undefined,
            revokeUnlock:
              verdict.unlock === 'revoke'
                ? { openid: order.openid, itemId: order.itemId }
                : undefined,
            result: { outcome: 'applied', order: next },
          };
        }
      }
    },
  );
}

/** Marks an order paid from facts WeChat Pay reported, after checking them against the order. */
export async function confirmPayment(
  deps: PaymentDeps,
  facts: PaymentFacts & { timeEnd?: string },
  by: string,
  evidence: unknown,
): Promise<ApplyOutcome> {
  const now = deps.now();
  // The facts are checked against the order inside the transaction: one read, no race.
  const result = await applyEvent(
    deps,
    facts.outTradeNo,
    'PAYMENT_CONFIRMED',
    by,
    () => ({ transactionId: facts.transactionId, timeEnd: facts.timeEnd, paidAt: now }),
    evidence,
    (order) => paymentMismatches(order, facts, deps.config.subMchId),
  );
  return result.outcome;
}

function queryFacts(
  result: QueryOrderResult,
  subMchId: string,
): PaymentFacts & { timeEnd?: string } {
  return {
    outTradeNo: String(result.outTradeNo ?? ''),
    totalFee: Number(result.totalFee),
    // queryOrder answers for the merchant it was asked about; a missing field means ours.
    subMchId: String(result.subMchId ?? subMchId),
    transactionId: String(result.transactionId ?? ''),
    timeEnd: result.timeEnd,
  };
}

/**
 * Asks WeChat Pay what became of an order and applies it: the path shared by the callback
 * (which confirms before trusting its event), payquery and payexpire.
 * Returns the trade state WeChat Pay reported.
 */
export async function reconcile(
  deps: PaymentDeps,
  order: OrderRecord,
  by: string,
): Promise<string> {
  const { config } = deps;
  let result: QueryOrderResult;
  try {
    result = ensureSuccess(
      'queryOrder',
      await deps.pay.queryOrder({
        subMchId: config.subMchId,
        outTradeNo: order.tradeno,
        nonceStr: deps.nonceStr(),
      }),
    );
  } catch (err) {
    // An order WeChat Pay never saw (unifiedOrder failed or never ran) can never be paid.
    if (
      err instanceof CloudPayError &&
      /不存在|NOTEXIST/i.test(err.message) &&
      order.status === 'pending'
    ) {
      await applyEvent(deps, order.tradeno, 'PREPAY_FAILED', by, () => ({}), {
        error: err.message,
      });
      return 'ORDERNOTEXIST';
    }
    throw err;
  }
  const state = result.tradeState ?? 'UNKNOWN';
  if (state === 'SUCCESS' || state === 'REFUND') {
    await confirmPayment(deps, queryFacts(result, config.subMchId), by, result);
  } else if (state === 'CLOSED' || state === 'REVOKED') {
    await applyEvent(deps, order.tradeno, 'CLOSED', by, () => ({ closedAt: deps.now() }), result);
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// userpay

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

/** closeOrder then mark closed; refused while WeChat's 5-minute rule holds. */
async function closeAtWeChat(deps: PaymentDeps, order: OrderRecord, by: string): Promise<boolean> {
  if (deps.now() - order.createdAt < CLOSE_AFTER_MS) return false;
  ensureSuccess(
    'closeOrder',
    await deps.pay.closeOrder({
      subMchId: deps.config.subMchId,
      outTradeNo: order.tradeno,
      nonceStr: deps.nonceStr(),
    }),
  );
  await applyEvent(deps, order.tradeno, 'CLOSED', by, () => ({ closedAt: deps.now() }));
  return true;
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
    await applyEvent(
      deps,
      order.tradeno,
      'PREPAY_FAILED',
      'userpay',
      () => ({ uniOrder: failed }),
      { error: message },
    );
    throw new AppError(ErrorCodes.PAY_GATEWAY, `下单失败，请稍后重试 (${message})`);
  }
  // Stored before the page gets it, so a second tap can reuse it and the record is complete.
  await deps.ledger.savePrepay(order.tradeno, uniOrder, deps.now());
  return { docid: order._id, tradeno: order.tradeno, payment: uniOrder.payment as PaymentParams };
}

// ---------------------------------------------------------------------------------------------
// userpaynotify

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

// ---------------------------------------------------------------------------------------------
// payquery

function view(order: OrderRecord): OrderView {
  return {
    docid: order._id,
    tradeno: order.tradeno,
    status: order.status,
    paystatus: order.paystatus,
  };
}

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

// ---------------------------------------------------------------------------------------------
// payexpire

export interface ExpireReport {
  checked: number;
  paid: number;
  closed: number;
  failed: number;
  /** Not yet closable (WeChat's 5-minute rule) or WeChat Pay unreachable: tried again next run. */
  deferred: number;
}

/** Ends unpaid orders past their lifetime: a payment that landed without a callback is honoured. */
export async function expireOrders(deps: PaymentDeps, limit = 100): Promise<ExpireReport> {
  const report: ExpireReport = { checked: 0, paid: 0, closed: 0, failed: 0, deferred: 0 };
  const expired = await deps.ledger.listExpiredPending(deps.now(), limit);
  for (const order of expired) {
    report.checked++;
    try {
      const state = await reconcile(deps, order, 'expire');
      if (state === 'SUCCESS' || state === 'REFUND') report.paid++;
      else if (state === 'ORDERNOTEXIST') report.failed++;
      else if (state === 'CLOSED' || state === 'REVOKED') report.closed++;
      else if (await closeAtWeChat(deps, order, 'expire')) report.closed++;
      else report.deferred++;
    } catch {
      report.deferred++;
    }
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// payrefund / payrefundnotify

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

/** Asks queryRefund about the order's refund and applies it; returns the refund status seen. */
export async function confirmRefund(deps: PaymentDeps, order: OrderRecord): Promise<string> {
  const result = ensureSuccess(
    'queryRefund',
    await deps.pay.queryRefund({
      subMchId: deps.config.subMchId,
      nonceStr: deps.nonceStr(),
      outTradeNo: order.tradeno,
    }),
  );
  const count = Number(result.refundCount ?? 0);
  const ours = refundNoFor(order.tradeno);
  let status: string = 'NONE';
  for (let i = 0; i < count; i++) {
    const refund = refundAt(result, i);
    if (refund.outRefundNo === ours || count === 1) status = refund.refundStatus ?? 'UNKNOWN';
  }
  const now = deps.now();
  if (status === 'SUCCESS') {
    await applyEvent(
      deps,
      order.tradeno,
      'REFUND_SUCCEEDED',
      'refundnotify',
      (o) => ({
        refund: {
          ...(o.refund ?? { outRefundNo: ours, refundFee: o.totalfee, requestedAt: now }),
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
