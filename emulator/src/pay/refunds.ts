import { EmulatorError } from '../errors';
import type { PayBook } from './book';
import type { RefundOutcome } from './disagreements';
import {
  REFUND_SETTLE_MS,
  MAX_REFUNDS_PER_ORDER,
  digits,
  type Order,
  type Refund,
  type RefundSource,
} from './model';
import { refundEvent } from './notify-events';
import { findOrder } from './orders';
import { nonce } from './sign';
import { formatPayDateTime, formatPayTime } from './time';
import { optionalString, protocolFailure, requireFen, requireTradeNo, type Wire } from './validate';

/** CloudPay's refund calls: refund (settled later on the emulated clock) and queryRefund. */

export function refund(book: PayBook, data: Wire): Wire {
  const subMchId = book.merchant(data);
  const order = findOrder(book, data, subMchId);
  const outRefundNo = requireTradeNo(data, 'out_refund_no', 1, 64);
  const totalFee = requireFen(data, 'total_fee');
  const refundFee = requireFen(data, 'refund_fee');
  const refundDesc = optionalString(data, 'refund_desc', 80);
  const hasCallback = data.function_name !== undefined || data.env_id !== undefined;
  const target = hasCallback
    ? book.callbackTarget(data, subMchId, 'refund notification')
    : undefined;

  const previous = [...book.orders.values()]
    .flatMap((o) => o.refunds.map((r) => ({ o, r })))
    .find(({ r }) => r.outRefundNo === outRefundNo);
  if (previous) {
    // WeChat: retrying with the same out_refund_no is how a merchant retries safely; it refunds
    // once and answers the retry like the first call.
    if (
      previous.o === order &&
      previous.r.refundFee === refundFee &&
      previous.r.totalFee === totalFee
    ) {
      book.deps.emit('pay.refund', {
        event: 'retried',
        outTradeNo: order.outTradeNo,
        outRefundNo,
        refundFee,
      });
      return { ...previous.r.answer, nonce_str: nonce() };
    }
    throw book.refused(
      subMchId,
      'INVALID_REQUEST',
      `退款单号重复: out_refund_no "${outRefundNo}" was already used for a refund of ${previous.r.refundFee} fen on order "${previous.o.outTradeNo}"; a retry must repeat the same order and amounts, a new refund needs a new out_refund_no`,
    );
  }
  if (order.state !== 'SUCCESS' && order.state !== 'REFUND') {
    throw book.refused(
      subMchId,
      'TRADE_STATE_ERROR',
      `订单状态错误: order "${order.outTradeNo}" is ${order.state}; only a paid order can be refunded`,
    );
  }
  if (totalFee !== order.totalFee) {
    throw book.refused(
      subMchId,
      'INVALID_REQUEST',
      `订单金额与之前请求不一致: total_fee (totalFee) ${totalFee} is not the order's total ${order.totalFee} fen`,
    );
  }
  if (order.refunds.length >= MAX_REFUNDS_PER_ORDER) {
    throw book.refused(
      subMchId,
      'INVALID_REQUEST',
      `退款次数超过限制: order "${order.outTradeNo}" already has ${order.refunds.length} refunds; WeChat allows at most ${MAX_REFUNDS_PER_ORDER} per order`,
    );
  }
  const left = order.totalFee - order.refundedFee;
  if (refundFee > left) {
    throw book.refused(
      subMchId,
      'INVALID_REQUEST',
      `累计退款金额大于支付金额: refund_fee (refundFee) ${refundFee} fen is more than the ${left} fen left to refund on order "${order.outTradeNo}" (paid ${order.totalFee}, refunded ${order.refundedFee})`,
    );
  }
  return openRefund(book, order, {
    outRefundNo,
    refundFee,
    totalFee,
    source: 'API',
    ...(target ? { target } : {}),
    ...(refundDesc === undefined ? {} : { refundDesc }),
  }).answer;
}

interface RefundRequest {
  outRefundNo: string;
  refundFee: number;
  totalFee: number;
  source: RefundSource;
  target?: { envId: string; functionName: string };
  refundDesc?: string;
  /** Set by the control API; otherwise a pending refunds fault rule, else SUCCESS. */
  outcome?: RefundOutcome;
}

/** Records an accepted refund (PROCESSING) and schedules how it ends. */
function openRefund(book: PayBook, order: Order, req: RefundRequest): Refund {
  const now = book.now();
  const refundId = `50000${formatPayTime(now).slice(0, 8)}${digits(16)}`;
  const answer = book.success(order.subMchId, {
    transaction_id: order.transactionId,
    out_trade_no: order.outTradeNo,
    out_refund_no: req.outRefundNo,
    refund_id: refundId,
    refund_fee: req.refundFee,
    settlement_refund_fee: req.refundFee,
    total_fee: order.totalFee,
    settlement_total_fee: order.totalFee,
    fee_type: 'CNY',
    cash_fee: order.totalFee,
    cash_refund_fee: req.refundFee,
    coupon_refund_fee: 0,
    coupon_refund_count: 0,
  });
  const outcome =
    req.outcome ?? book.disagreements.takeRefund(order.outTradeNo)?.status ?? 'SUCCESS';
  const refund: Refund = {
    outRefundNo: req.outRefundNo,
    refundId,
    refundFee: req.refundFee,
    totalFee: req.totalFee,
    status: 'PROCESSING',
    outcome,
    source: req.source,
    requestedAt: now,
    ...(req.target ? { functionName: req.target.functionName, envId: req.target.envId } : {}),
    ...(req.refundDesc === undefined ? {} : { refundDesc: req.refundDesc }),
    answer,
  };
  book.commit(order, () => {
    order.refunds.push(refund);
    order.refundedFee += req.refundFee;
    order.state = 'REFUND';
  });
  book.deps.emit('pay.refund', {
    event: 'requested',
    outTradeNo: order.outTradeNo,
    outRefundNo: refund.outRefundNo,
    refundId,
    refundFee: refund.refundFee,
    status: refund.status,
    source: refund.source,
  });
  scheduleSettlement(book, order, refund);
  return refund;
}

/**
 * A PROCESSING refund settles REFUND_SETTLE_MS after it was requested (emulated clock), unless
 * it is to stay PROCESSING; a restart schedules the same instant again.
 */
export function scheduleSettlement(book: PayBook, order: Order, refund: Refund): void {
  if (refund.status !== 'PROCESSING' || refund.outcome === 'PROCESSING') return;
  const task = book.deps.clock.schedule(
    refund.requestedAt + REFUND_SETTLE_MS,
    `pay refund ${refund.outRefundNo} settles`,
    () => {
      book.refundTasks.delete(task);
      settleRefund(book, order, refund);
    },
  );
  book.refundTasks.add(task);
}

/**
 * Ends a refund as its outcome says and notifies its function, for every final status (WeChat
 * Pay's refund notification carries SUCCESS, CHANGE or REFUNDCLOSE in refund_status).
 */
export function settleRefund(book: PayBook, order: Order, refund: Refund): void {
  const now = book.now();
  refund.status = refund.outcome;
  refund.settledAt = now;
  if (refund.status === 'SUCCESS') refund.successAt = now;
  // A closed refund returned nothing: its amount can be refunded again. A CHANGE (退款异常) did
  // leave the merchant's account and waits for manual handling on the merchant platform.
  if (refund.status === 'REFUNDCLOSE') order.refundedFee -= refund.refundFee;
  book.deps.emit('pay.refund', {
    event: 'settled',
    outTradeNo: order.outTradeNo,
    outRefundNo: refund.outRefundNo,
    refundId: refund.refundId,
    refundFee: refund.refundFee,
    status: refund.status,
  });
  if (refund.functionName) {
    refund.notification = book.callbacks.prepare({
      kind: 'refund',
      outTradeNo: order.outTradeNo,
      outRefundNo: refund.outRefundNo,
      functionName: refund.functionName,
      openid: order.openid,
      event: refundEvent(book, order, refund),
    });
  }
  // A clock task answers nobody: journaled before the notification goes out, or reported.
  book.saveQuietly(order);
  if (refund.notification) book.callbacks.start(refund.notification);
}

/**
 * A refund made by hand on the merchant platform (商户平台), outside the app: the app never asked
 * for it and learns of it only through a refund notification (when `functionName` is given; on
 * the real platform it is the function of the order's earlier refund, if any: an assumption) or
 * queryRefund. The control API's `POST /pay/orders/{outTradeNo}/refund`.
 */
export function platformRefund(
  book: PayBook,
  outTradeNo: string,
  opts: { refundFee?: number; functionName?: string; status?: RefundOutcome },
): Refund {
  const order = book.mustFind(outTradeNo);
  if (order.state !== 'SUCCESS' && order.state !== 'REFUND') {
    throw new EmulatorError(
      'ORDER_NOT_PAID',
      `order "${outTradeNo}" is ${order.state}; only a paid order can be refunded`,
      409,
    );
  }
  const left = order.totalFee - order.refundedFee;
  const refundFee = opts.refundFee ?? left;
  if (!Number.isInteger(refundFee) || refundFee < 1 || refundFee > left) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `refundFee must be an integer number of fen from 1 to the ${left} fen left to refund on order "${outTradeNo}", got ${JSON.stringify(opts.refundFee)}`,
      left < 1 ? 409 : 400,
    );
  }
  if (order.refunds.length >= MAX_REFUNDS_PER_ORDER) {
    throw new EmulatorError(
      'TOO_MANY_REFUNDS',
      `order "${outTradeNo}" already has ${order.refunds.length} refunds; WeChat allows at most ${MAX_REFUNDS_PER_ORDER}`,
      409,
    );
  }
  const functions = book.deps.functions();
  if (opts.functionName !== undefined && !functions.includes(opts.functionName)) {
    throw new EmulatorError(
      'INVALID_PARAM',
      `functionName "${opts.functionName}" is not a function of this environment (functions: ${functions.join(', ') || 'none'})`,
    );
  }
  return openRefund(book, order, {
    outRefundNo: `MP${formatPayTime(book.now())}${digits(8)}`,
    refundFee,
    totalFee: order.totalFee,
    source: 'VENDOR_PLATFORM',
    ...(opts.functionName === undefined
      ? {}
      : { target: { envId: book.deps.config.envId, functionName: opts.functionName } }),
    ...(opts.status === undefined ? {} : { outcome: opts.status }),
  });
}

export function queryRefund(book: PayBook, data: Wire): Wire {
  const subMchId = book.merchant(data);
  const outRefundNo = optionalString(data, 'out_refund_no', 64);
  const refundId = optionalString(data, 'refund_id', 32);
  let order: Order | undefined;
  let refunds: Refund[] = [];
  if (outRefundNo !== undefined || refundId !== undefined) {
    for (const o of book.orders.values()) {
      const r = o.refunds.find((x) =>
        outRefundNo !== undefined ? x.outRefundNo === outRefundNo : x.refundId === refundId,
      );
      if (r) {
        order = o;
        refunds = [r];
        break;
      }
    }
  } else {
    const transactionId = optionalString(data, 'transaction_id', 32);
    const outTradeNo = optionalString(data, 'out_trade_no', 32);
    if (transactionId === undefined && outTradeNo === undefined) {
      throw protocolFailure(
        '缺少参数: give one of out_refund_no (outRefundNo), refund_id (refundId), out_trade_no (outTradeNo) or transaction_id (transactionId)',
      );
    }
    order =
      transactionId !== undefined
        ? [...book.orders.values()].find((o) => o.transactionId === transactionId)
        : book.orders.get(outTradeNo as string);
    refunds = order?.refunds ?? [];
  }
  if (!order || !refunds.length) {
    throw book.refused(subMchId, 'REFUNDNOTEXIST', '退款订单查询失败: no refund matches the query');
  }
  const fields: Wire = {
    transaction_id: order.transactionId,
    out_trade_no: order.outTradeNo,
    total_fee: order.totalFee,
    fee_type: 'CNY',
    cash_fee: order.totalFee,
    refund_fee: refunds.reduce((sum, r) => sum + r.refundFee, 0),
    refund_count: refunds.length,
  };
  refunds.forEach((r, i) => {
    fields[`out_refund_no_${i}`] = r.outRefundNo;
    fields[`refund_id_${i}`] = r.refundId;
    fields[`refund_channel_${i}`] = 'ORIGINAL';
    fields[`refund_fee_${i}`] = r.refundFee;
    fields[`settlement_refund_fee_${i}`] = r.refundFee;
    fields[`refund_status_${i}`] = r.status;
    fields[`refund_recv_accout_${i}`] = '支付用户的零钱';
    if (r.successAt !== undefined)
      fields[`refund_success_time_${i}`] = formatPayDateTime(r.successAt);
  });
  return book.success(subMchId, fields);
}

// ---- the user's side: the pay sheet ---------------------------------------------------
