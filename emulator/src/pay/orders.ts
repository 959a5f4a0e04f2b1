import crypto from 'node:crypto';
import type { PayBook } from './book';
import {
  DEFAULT_EXPIRY_MS,
  CLOSE_AFTER_MS,
  MIN_EXPIRY_MS,
  STATE_DESC,
  type CallerInfo,
  type Order,
  type PaymentParams,
} from './model';
import { spOpenid } from './notify-events';
import { nonce, signFields } from './sign';
import { formatPayTime, parsePayTime } from './time';
import {
  optionalString,
  protocolFailure,
  requireFen,
  requireString,
  requireTradeNo,
  type Wire,
} from './validate';

/** CloudPay's order calls: unifiedOrder, queryOrder and closeOrder, as WeChat Pay v2 answers them. */

export function unifiedOrder(book: PayBook, data: Wire, caller: CallerInfo): Wire {
  const subMchId = book.merchant(data);
  const body = requireString(data, 'body', 128, 'the goods description shown to the payer');
  const outTradeNo = requireTradeNo(data, 'out_trade_no', 6, 32);
  const totalFee = requireFen(data, 'total_fee');
  const spbillCreateIp = requireString(data, 'spbill_create_ip', 64, "the payer's IP address");
  const attach = optionalString(data, 'attach', 127);
  const tradeType = optionalString(data, 'trade_type', 16) ?? 'JSAPI';
  if (tradeType !== 'JSAPI') {
    throw protocolFailure(
      `trade_type参数错误: trade_type (tradeType) "${tradeType}" is not emulated; the sandbox plays mini-program (JSAPI) payments`,
    );
  }
  const now = book.now();
  const timeStart = optionalTime(data, 'time_start') ?? now;
  const timeExpire = optionalTime(data, 'time_expire');
  if (timeExpire !== undefined && timeExpire - Math.max(timeStart, now) < MIN_EXPIRY_MS) {
    throw protocolFailure(
      `time_expire时间过短，刷卡至少1分钟，其他5分钟: time_expire (timeExpire) ${String(data.time_expire)} must be at least 5 minutes after time_start or now (${formatPayTime(Math.max(timeStart, now))}, UTC+8)`,
    );
  }
  const target = book.callbackTarget(data, subMchId, 'payment notification');
  const subAppid = optionalString(data, 'sub_appid', 32);
  if (subAppid !== undefined && subAppid !== book.deps.config.appid) {
    throw book.refused(
      subMchId,
      'APPID_MCHID_NOT_MATCH',
      `appid和mch_id不匹配: sub_appid (subAppid) "${subAppid}" is not the sandbox mini-program "${book.deps.config.appid}" (set with --appid)`,
    );
  }
  const existing = book.orders.get(outTradeNo);
  if (existing) {
    if (existing.state === 'SUCCESS' || existing.state === 'REFUND') {
      throw book.refused(
        subMchId,
        'ORDERPAID',
        `该订单已支付: out_trade_no "${outTradeNo}" is already paid`,
      );
    }
    if (existing.state === 'CLOSED') {
      throw book.refused(
        subMchId,
        'ORDERCLOSED',
        `订单已关闭: out_trade_no "${outTradeNo}" was closed; use a new out_trade_no`,
      );
    }
    throw book.refused(
      subMchId,
      'OUT_TRADE_NO_USED',
      `商户订单号重复: out_trade_no "${outTradeNo}" was already used for an order created at ${formatPayTime(existing.createdAt)} (UTC+8); use a new out_trade_no for every order`,
    );
  }

  const payer =
    caller.openid ?? optionalString(data, 'sub_openid', 128) ?? optionalString(data, 'openid', 128);
  const prepayId = `wx${formatPayTime(now)}${crypto.randomBytes(10).toString('hex')}`;
  const unsigned = {
    appId: book.deps.config.appid,
    timeStamp: String(Math.floor(now / 1000)),
    nonceStr: nonce(),
    package: `prepay_id=${prepayId}`,
    signType: 'MD5' as const,
  };
  const payment: PaymentParams = { ...unsigned, paySign: signFields(unsigned, book.signKey) };
  const order: Order = {
    outTradeNo,
    prepayId,
    subMchId,
    subAppid: book.deps.config.appid,
    body,
    ...(attach === undefined ? {} : { attach }),
    totalFee,
    spbillCreateIp,
    envId: target.envId,
    functionName: target.functionName,
    tradeType: 'JSAPI',
    openid: payer ?? book.deps.defaultOpenid,
    openidKnown: payer !== undefined,
    state: 'NOTPAY',
    createdAt: now,
    expiresAt: timeExpire ?? now + DEFAULT_EXPIRY_MS,
    payment,
    decisions: [],
    refunds: [],
    refundedFee: 0,
  };
  // Journaled first: a refused write (disk full) leaves no order behind.
  book.save(order);
  book.orders.set(outTradeNo, order);
  book.byPrepayId.set(prepayId, order);
  scheduleExpiry(book, order);
  book.orderEvent(order, 'created');
  return book.success(subMchId, {
    trade_type: 'JSAPI',
    prepay_id: prepayId,
    payment,
  });
}

/** The `expired` event when an unpaid order reaches its time_expire (state stays NOTPAY). */
export function scheduleExpiry(book: PayBook, order: Order): void {
  order.expiryTask = book.deps.clock.schedule(
    order.expiresAt,
    `pay order ${order.outTradeNo} expires`,
    () => {
      delete order.expiryTask;
      if (order.state === 'NOTPAY') book.orderEvent(order, 'expired');
    },
  );
}

function optionalTime(data: Wire, field: string): number | undefined {
  const text = optionalString(data, field, 14);
  if (text === undefined) return undefined;
  const ms = parsePayTime(text);
  if (ms === undefined) {
    throw protocolFailure(
      `${field}参数格式错误: ${field} must be yyyyMMddHHmmss in Beijing time (UTC+8), got "${text}"`,
    );
  }
  return ms;
}

/** The order named by out_trade_no or transaction_id; ORDERNOTEXIST otherwise. */
export function findOrder(book: PayBook, data: Wire, subMchId: string): Order {
  const transactionId = optionalString(data, 'transaction_id', 32);
  const outTradeNo = optionalString(data, 'out_trade_no', 32);
  if (transactionId === undefined && outTradeNo === undefined) {
    throw protocolFailure(
      '缺少参数out_trade_no: give out_trade_no (outTradeNo) or transaction_id (transactionId)',
    );
  }
  const order =
    transactionId !== undefined
      ? [...book.orders.values()].find((o) => o.transactionId === transactionId)
      : book.orders.get(outTradeNo as string);
  if (!order) {
    const which =
      transactionId !== undefined
        ? `transaction_id "${transactionId}"`
        : `out_trade_no "${outTradeNo}"`;
    throw book.refused(subMchId, 'ORDERNOTEXIST', `此交易订单号不存在: no order with ${which}`);
  }
  return order;
}

export function queryOrder(book: PayBook, data: Wire): Wire {
  const subMchId = book.merchant(data);
  const order = findOrder(book, data, subMchId);
  const paid = order.state === 'SUCCESS' || order.state === 'REFUND';
  const fields: Wire = {
    out_trade_no: order.outTradeNo,
    ...(order.attach === undefined ? {} : { attach: order.attach }),
    trade_state: order.state,
    trade_state_desc: STATE_DESC[order.state],
    total_fee: order.totalFee,
    fee_type: 'CNY',
    ...(paid
      ? {
          trade_type: order.tradeType,
          openid: spOpenid(order.openid),
          sub_openid: order.openid,
          is_subscribe: 'N',
          sub_is_subscribe: 'N',
          bank_type: 'OTHERS',
          cash_fee: order.totalFee,
          cash_fee_type: 'CNY',
          transaction_id: order.transactionId,
          time_end: formatPayTime(order.paidAt as number),
        }
      : {}),
  };
  return book.success(subMchId, disagree(book, order, fields));
}

/** Applies a pending queryOrder disagreement rule (see disagreements.ts) to the answer's fields. */
function disagree(book: PayBook, order: Order, fields: Wire): Wire {
  const rule = book.disagreements.takeQueryOrder(order.outTradeNo);
  if (!rule) return fields;
  book.deps.emit('pay.order', {
    event: 'disagreed',
    api: 'queryOrder',
    outTradeNo: order.outTradeNo,
    rule: { ...rule },
  });
  if (rule.notExist) {
    throw book.refused(
      order.subMchId,
      'ORDERNOTEXIST',
      `此交易订单号不存在: out_trade_no "${order.outTradeNo}" (a queryOrder notExist fault: WeChat Pay says it never saw the order)`,
    );
  }
  const out: Wire = { ...fields };
  if (rule.totalFee !== undefined) {
    out.total_fee = rule.totalFee;
    if (out.cash_fee !== undefined) out.cash_fee = rule.totalFee;
  }
  if (rule.subMchId !== undefined) out.sub_mch_id = rule.subMchId;
  if (rule.transactionId === '') delete out.transaction_id;
  else if (rule.transactionId !== undefined) out.transaction_id = rule.transactionId;
  return out;
}

export function closeOrder(book: PayBook, data: Wire): Wire {
  const subMchId = book.merchant(data);
  const outTradeNo = requireTradeNo(data, 'out_trade_no', 6, 32);
  const order = book.orders.get(outTradeNo);
  if (!order) {
    throw book.refused(
      subMchId,
      'ORDERNOTEXIST',
      `订单不存在: no order with out_trade_no "${outTradeNo}"`,
    );
  }
  if (order.state === 'SUCCESS' || order.state === 'REFUND') {
    throw book.refused(
      subMchId,
      'ORDERPAID',
      `订单已支付，不能发起关单: out_trade_no "${outTradeNo}" was paid at ${formatPayTime(order.paidAt as number)} (UTC+8); refund it instead`,
    );
  }
  if (order.state === 'CLOSED') {
    throw book.refused(
      subMchId,
      'ORDERCLOSED',
      `订单已关闭，无需继续调用: out_trade_no "${outTradeNo}"`,
    );
  }
  const earliest = order.createdAt + CLOSE_AFTER_MS;
  if (book.now() < earliest) {
    throw book.refused(
      subMchId,
      'INVALID_REQUEST',
      `订单生成后5分钟内不能关单: out_trade_no "${outTradeNo}" was created at ${formatPayTime(order.createdAt)}; closeOrder is allowed from ${formatPayTime(earliest)} (UTC+8)`,
    );
  }
  book.commit(order, () => {
    order.state = 'CLOSED';
    order.closedAt = book.now();
  });
  order.expiryTask?.cancel();
  delete order.expiryTask;
  book.orderEvent(order, 'closed');
  return book.success(subMchId, {});
}
