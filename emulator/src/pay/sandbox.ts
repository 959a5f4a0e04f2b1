import crypto from 'node:crypto';
import type { Clock, ScheduledTask } from '../clock';
import { EmulatorError } from '../errors';
import {
  CallbackDispatcher,
  type CallbackAttempt,
  type DeliverFn,
  type Notification,
} from './callbacks';
import { nonce, sameSignature, signFields } from './sign';
import { formatPayDateTime, formatPayTime, parsePayTime } from './time';
import {
  PayFailure,
  optionalString,
  protocolFailure,
  requireFen,
  requireString,
  requireTradeNo,
  type Wire,
} from './validate';

/**
 * The CloudPay sandbox's core: the order book, WeChat Pay's validation and state machine, the
 * user's decisions on the pay sheet, and the notifications. It knows nothing of HTTP or of the
 * function runtime: the clock, the delivery and the event sink are passed in.
 */

/**
 * What queryOrder reports for a JSAPI order. WeChat also has REVOKED, USERPAYING and PAYERROR,
 * which belong to other pay modes (a failed JSAPI payment leaves the order NOTPAY).
 */
export type TradeState =
  /** Created, not paid (also after the user cancelled, a failed attempt, or expiry). */
  | 'NOTPAY'
  /** Paid; the payment notification goes out. */
  | 'SUCCESS'
  /** Paid, then (partly) refunded: WeChat's 转入退款. */
  | 'REFUND'
  /** Closed by closeOrder; can no longer be paid. */
  | 'CLOSED';

export type Decision = 'confirm' | 'cancel' | 'fail';
export type RefundStatus = 'PROCESSING' | 'SUCCESS';

export const API_NAMES = [
  'unifiedOrder',
  'queryOrder',
  'closeOrder',
  'refund',
  'queryRefund',
] as const;
export type PayApiName = (typeof API_NAMES)[number];

/** An unpaid order expires after 2 h unless time_expire says otherwise (WeChat's default). */
export const DEFAULT_EXPIRY_MS = 2 * 3600e3;
/** closeOrder is refused for 5 minutes after an order is created (WeChat Pay's rule). */
export const CLOSE_AFTER_MS = 5 * 60e3;
/** time_expire must be at least 5 minutes after time_start (or now). */
export const MIN_EXPIRY_MS = 5 * 60e3;
export const MAX_REFUNDS_PER_ORDER = 50;
/** A refund is PROCESSING for this long (emulated clock), then SUCCESS and its notification. */
export const REFUND_SETTLE_MS = 10e3;

/** The service provider CloudPay bills through (WeChat's documentation sample ids). */
const SP_APPID = 'wxd678efh567hg6787';
const SP_MCH_ID = '1230000109';

const STATE_DESC: Record<TradeState, string> = {
  NOTPAY: '订单未支付',
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  CLOSED: '订单已关闭',
};

/** The fields `wx.requestPayment` takes, as unifiedOrder hands them out. */
export interface PaymentParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'MD5';
  paySign: string;
}

export interface DecisionRecord {
  decision: Decision;
  time: string;
  openid: string;
  /** What the pay sheet showed: paid, cancelled by the user, or the failure recorded. */
  result: 'SUCCESS' | 'CANCELLED' | 'PAYERROR';
}

interface Refund {
  outRefundNo: string;
  refundId: string;
  refundFee: number;
  totalFee: number;
  status: RefundStatus;
  requestedAt: number;
  successAt?: number;
  functionName?: string;
  envId?: string;
  refundDesc?: string;
  /** The answer the refund call got; a retry with the same out_refund_no gets it again. */
  answer: Wire;
  notification?: Notification;
}

interface Order {
  outTradeNo: string;
  prepayId: string;
  transactionId?: string;
  subMchId: string;
  subAppid: string;
  body: string;
  attach?: string;
  totalFee: number;
  spbillCreateIp: string;
  envId: string;
  functionName: string;
  tradeType: 'JSAPI';
  openid: string;
  /** False when nothing said who the payer is (the default user stands in until someone pays). */
  openidKnown: boolean;
  state: TradeState;
  createdAt: number;
  expiresAt: number;
  paidAt?: number;
  closedAt?: number;
  payment: PaymentParams;
  decisions: DecisionRecord[];
  refunds: Refund[];
  refundedFee: number;
  notification?: Notification;
  expiryTask?: ScheduledTask;
}

export interface CallbacksView {
  functionName: string;
  acknowledged: boolean;
  acknowledgedAt?: string;
  gaveUp: boolean;
  lost: boolean;
  nextAttemptAt?: string;
  event: Record<string, unknown>;
  attempts: CallbackAttempt[];
}

/** The sandbox payment as the control API shows it (JSON). */
export interface OrderView {
  outTradeNo: string;
  prepayId: string;
  transactionId?: string;
  tradeState: TradeState;
  /** Unpaid past time_expire: the pay sheet refuses it; queryOrder still says NOTPAY. */
  expired: boolean;
  appid: string;
  subMchId: string;
  body: string;
  attach?: string;
  totalFee: number;
  refundedFee: number;
  openid: string;
  envId: string;
  functionName: string;
  createdAt: string;
  expiresAt: string;
  paidAt?: string;
  timeEnd?: string;
  closedAt?: string;
  payment: PaymentParams;
  decisions: DecisionRecord[];
  callbacks?: CallbacksView;
  refunds: {
    outRefundNo: string;
    refundId: string;
    refundFee: number;
    status: RefundStatus;
    requestedAt: string;
    successAt?: string;
    callbacks?: CallbacksView;
  }[];
}

export interface SandboxConfig {
  appid: string;
  mchId: string;
  envId: string;
}

export type PayEventType = 'pay.order' | 'pay.callback' | 'pay.refund';

export interface SandboxDeps {
  clock: Pick<Clock, 'now' | 'schedule'>;
  config: SandboxConfig;
  /** Names of the functions a callback can go to. */
  functions(): string[];
  deliver: DeliverFn;
  emit(type: PayEventType, data: Record<string, unknown>): void;
  /** The payer when nothing else says who it is. */
  defaultOpenid: string;
  /** Key for paySign; random per sandbox unless given. */
  signKey?: string;
}

/** Who made the API call, when the runtime knows (the invoking user of the calling function). */
export interface CallerInfo {
  openid?: string;
}

export type VerifyResult = { ok: true; order: OrderView } | { ok: false; reason: string };

const iso = (ms: number): string => new Date(ms).toISOString();

function digits(n: number): string {
  let out = '';
  for (const b of crypto.randomBytes(n)) out += String(b % 10);
  return out;
}

export class PaySandbox {
  private readonly orders = new Map<string, Order>();
  private readonly byPrepayId = new Map<string, Order>();
  private readonly refundTasks = new Set<ScheduledTask>();
  readonly callbacks: CallbackDispatcher;
  private readonly signKey: string;
  private readonly spMchId: string;

  constructor(private readonly deps: SandboxDeps) {
    this.signKey = deps.signKey ?? crypto.randomBytes(16).toString('hex');
    // The notification's mch_id is the service provider's, never the merchant's own id.
    this.spMchId = deps.config.mchId === SP_MCH_ID ? '1230000110' : SP_MCH_ID;
    this.callbacks = new CallbackDispatcher({
      clock: deps.clock,
      deliver: deps.deliver,
      onAttempt: (n, attempt) =>
        deps.emit('pay.callback', {
          kind: n.kind,
          outTradeNo: n.outTradeNo,
          ...(n.outRefundNo === undefined ? {} : { outRefundNo: n.outRefundNo }),
          functionName: n.functionName,
          ...attempt,
          acknowledged: n.acknowledged,
          ...(n.nextAttemptAt ? { nextAttemptAt: n.nextAttemptAt } : {}),
        }),
    });
  }

  // ---- the SDK's wx.wxPayApi -------------------------------------------------------------

  /** Answers one CloudPay call with the raw snake_case JSON WeChat would return. */
  call(apiName: string, data: Wire, caller: CallerInfo = {}): Wire {
    try {
      switch (apiName as PayApiName) {
        case 'unifiedOrder':
          return this.unifiedOrder(data, caller);
        case 'queryOrder':
          return this.queryOrder(data);
        case 'closeOrder':
          return this.closeOrder(data);
        case 'refund':
          return this.refund(data);
        case 'queryRefund':
          return this.queryRefund(data);
        default:
          throw new EmulatorError(
            'INVALID_PARAM',
            `cloudPay.${apiName} is not emulated; the sandbox answers ${API_NAMES.join(', ')}`,
          );
      }
    } catch (err) {
      if (!(err instanceof PayFailure)) throw err;
      this.deps.emit('pay.order', {
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

  private now(): number {
    return this.deps.clock.now();
  }

  private signed(answer: Wire): Wire {
    return { ...answer, sign: signFields(answer, this.signKey) };
  }

  private common(subMchId: string): Wire {
    return {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: SP_APPID,
      mch_id: this.spMchId,
      sub_appid: this.deps.config.appid,
      sub_mch_id: subMchId,
      nonce_str: nonce(),
    };
  }

  private success(subMchId: string, fields: Wire): Wire {
    return this.signed({ ...this.common(subMchId), result_code: 'SUCCESS', ...fields });
  }

  private refused(subMchId: string, errCode: string, description: string): PayFailure {
    return new PayFailure(
      this.signed({
        ...this.common(subMchId),
        result_code: 'FAIL',
        err_code: errCode,
        err_code_des: description,
      }),
    );
  }

  /** sub_mch_id and nonce_str: every CloudPay call needs both. */
  private merchant(data: Wire): string {
    const subMchId = requireString(
      data,
      'sub_mch_id',
      32,
      'the merchant id bound to the environment',
    );
    requireString(
      data,
      'nonce_str',
      32,
      'a random string of at most 32 characters (the SDK does not add one)',
    );
    if (subMchId !== this.deps.config.mchId) {
      throw this.refused(
        subMchId,
        'NOAUTH',
        `商户未授权: sub_mch_id (subMchId) "${subMchId}" is not bound to this environment; the sandbox merchant is "${this.deps.config.mchId}" (set with --mch-id)`,
      );
    }
    return subMchId;
  }

  private callbackTarget(
    data: Wire,
    subMchId: string,
    what: string,
  ): { envId: string; functionName: string } {
    const envId = requireString(data, 'env_id', 64, `the environment of the ${what} function`);
    const functionName = requireString(data, 'function_name', 64, `the ${what} function`);
    if (envId !== this.deps.config.envId) {
      throw this.refused(
        subMchId,
        'PARAM_ERROR',
        `env_id (envId) "${envId}" is not this environment ("${this.deps.config.envId}"); the real platform accepts the order and the ${what} never arrives (a short env alias instead of the full env id is the usual cause)`,
      );
    }
    const functions = this.deps.functions();
    if (!functions.includes(functionName)) {
      throw this.refused(
        subMchId,
        'PARAM_ERROR',
        `function_name (functionName) "${functionName}" is not a function of this environment (functions: ${functions.join(', ') || 'none'}); the real platform accepts the order and the ${what} is lost`,
      );
    }
    return { envId, functionName };
  }

  private unifiedOrder(data: Wire, caller: CallerInfo): Wire {
    const subMchId = this.merchant(data);
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
    const now = this.now();
    const timeStart = this.optionalTime(data, 'time_start') ?? now;
    const timeExpire = this.optionalTime(data, 'time_expire');
    if (timeExpire !== undefined && timeExpire - Math.max(timeStart, now) < MIN_EXPIRY_MS) {
      throw protocolFailure(
        `time_expire时间过短，刷卡至少1分钟，其他5分钟: time_expire (timeExpire) ${String(data.time_expire)} must be at least 5 minutes after time_start or now (${formatPayTime(Math.max(timeStart, now))}, UTC+8)`,
      );
    }
    const target = this.callbackTarget(data, subMchId, 'payment notification');
    const subAppid = optionalString(data, 'sub_appid', 32);
    if (subAppid !== undefined && subAppid !== this.deps.config.appid) {
      throw this.refused(
        subMchId,
        'APPID_MCHID_NOT_MATCH',
        `appid和mch_id不匹配: sub_appid (subAppid) "${subAppid}" is not the sandbox mini-program "${this.deps.config.appid}" (set with --appid)`,
      );
    }
    const existing = this.orders.get(outTradeNo);
    if (existing) {
      if (existing.state === 'SUCCESS' || existing.state === 'REFUND') {
        throw this.refused(
          subMchId,
          'ORDERPAID',
          `该订单已支付: out_trade_no "${outTradeNo}" is already paid`,
        );
      }
      if (existing.state === 'CLOSED') {
        throw this.refused(
          subMchId,
          'ORDERCLOSED',
          `订单已关闭: out_trade_no "${outTradeNo}" was closed; use a new out_trade_no`,
        );
      }
      throw this.refused(
        subMchId,
        'OUT_TRADE_NO_USED',
        `商户订单号重复: out_trade_no "${outTradeNo}" was already used for an order created at ${formatPayTime(existing.createdAt)} (UTC+8); use a new out_trade_no for every order`,
      );
    }

    const payer =
      caller.openid ??
      optionalString(data, 'sub_openid', 128) ??
      optionalString(data, 'openid', 128);
    const prepayId = `wx${formatPayTime(now)}${crypto.randomBytes(10).toString('hex')}`;
    const unsigned = {
      appId: this.deps.config.appid,
      timeStamp: String(Math.floor(now / 1000)),
      nonceStr: nonce(),
      package: `prepay_id=${prepayId}`,
      signType: 'MD5' as const,
    };
    const payment: PaymentParams = { ...unsigned, paySign: signFields(unsigned, this.signKey) };
    const order: Order = {
      outTradeNo,
      prepayId,
      subMchId,
      subAppid: this.deps.config.appid,
      body,
      ...(attach === undefined ? {} : { attach }),
      totalFee,
      spbillCreateIp,
      envId: target.envId,
      functionName: target.functionName,
      tradeType: 'JSAPI',
      openid: payer ?? this.deps.defaultOpenid,
      openidKnown: payer !== undefined,
      state: 'NOTPAY',
      createdAt: now,
      expiresAt: timeExpire ?? now + DEFAULT_EXPIRY_MS,
      payment,
      decisions: [],
      refunds: [],
      refundedFee: 0,
    };
    this.orders.set(outTradeNo, order);
    this.byPrepayId.set(prepayId, order);
    order.expiryTask = this.deps.clock.schedule(
      order.expiresAt,
      `pay order ${outTradeNo} expires`,
      () => {
        delete order.expiryTask;
        if (order.state === 'NOTPAY') this.orderEvent(order, 'expired');
      },
    );
    this.orderEvent(order, 'created');
    return this.success(subMchId, {
      trade_type: 'JSAPI',
      prepay_id: prepayId,
      payment,
    });
  }

  private optionalTime(data: Wire, field: string): number | undefined {
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
  private findOrder(data: Wire, subMchId: string): Order {
    const transactionId = optionalString(data, 'transaction_id', 32);
    const outTradeNo = optionalString(data, 'out_trade_no', 32);
    if (transactionId === undefined && outTradeNo === undefined) {
      throw protocolFailure(
        '缺少参数out_trade_no: give out_trade_no (outTradeNo) or transaction_id (transactionId)',
      );
    }
    const order =
      transactionId !== undefined
        ? [...this.orders.values()].find((o) => o.transactionId === transactionId)
        : this.orders.get(outTradeNo as string);
    if (!order) {
      const which =
        transactionId !== undefined
          ? `transaction_id "${transactionId}"`
          : `out_trade_no "${outTradeNo}"`;
      throw this.refused(subMchId, 'ORDERNOTEXIST', `此交易订单号不存在: no order with ${which}`);
    }
    return order;
  }

  private queryOrder(data: Wire): Wire {
    const subMchId = this.merchant(data);
    const order = this.findOrder(data, subMchId);
    const paid = order.state === 'SUCCESS' || order.state === 'REFUND';
    return this.success(subMchId, {
      out_trade_no: order.outTradeNo,
      ...(order.attach === undefined ? {} : { attach: order.attach }),
      trade_state: order.state,
      trade_state_desc: STATE_DESC[order.state],
      total_fee: order.totalFee,
      fee_type: 'CNY',
      ...(paid
        ? {
            trade_type: order.tradeType,
            openid: this.spOpenid(order.openid),
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
    });
  }

  private closeOrder(data: Wire): Wire {
    const subMchId = this.merchant(data);
    const outTradeNo = requireTradeNo(data, 'out_trade_no', 6, 32);
    const order = this.orders.get(outTradeNo);
    if (!order) {
      throw this.refused(
        subMchId,
        'ORDERNOTEXIST',
        `订单不存在: no order with out_trade_no "${outTradeNo}"`,
      );
    }
    if (order.state === 'SUCCESS' || order.state === 'REFUND') {
      throw this.refused(
        subMchId,
        'ORDERPAID',
        `订单已支付，不能发起关单: out_trade_no "${outTradeNo}" was paid at ${formatPayTime(order.paidAt as number)} (UTC+8); refund it instead`,
      );
    }
    if (order.state === 'CLOSED') {
      throw this.refused(
        subMchId,
        'ORDERCLOSED',
        `订单已关闭，无需继续调用: out_trade_no "${outTradeNo}"`,
      );
    }
    const earliest = order.createdAt + CLOSE_AFTER_MS;
    if (this.now() < earliest) {
      throw this.refused(
        subMchId,
        'INVALID_REQUEST',
        `订单生成后5分钟内不能关单: out_trade_no "${outTradeNo}" was created at ${formatPayTime(order.createdAt)}; closeOrder is allowed from ${formatPayTime(earliest)} (UTC+8)`,
      );
    }
    order.state = 'CLOSED';
    order.closedAt = this.now();
    order.expiryTask?.cancel();
    delete order.expiryTask;
    this.orderEvent(order, 'closed');
    return this.success(subMchId, {});
  }

  private refund(data: Wire): Wire {
    const subMchId = this.merchant(data);
    const order = this.findOrder(data, subMchId);
    const outRefundNo = requireTradeNo(data, 'out_refund_no', 1, 64);
    const totalFee = requireFen(data, 'total_fee');
    const refundFee = requireFen(data, 'refund_fee');
    const refundDesc = optionalString(data, 'refund_desc', 80);
    const hasCallback = data.function_name !== undefined || data.env_id !== undefined;
    const target = hasCallback
      ? this.callbackTarget(data, subMchId, 'refund notification')
      : undefined;

    const previous = [...this.orders.values()]
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
        this.deps.emit('pay.refund', {
          event: 'retried',
          outTradeNo: order.outTradeNo,
          outRefundNo,
          refundFee,
        });
        return { ...previous.r.answer, nonce_str: nonce() };
      }
      throw this.refused(
        subMchId,
        'INVALID_REQUEST',
        `退款单号重复: out_refund_no "${outRefundNo}" was already used for a refund of ${previous.r.refundFee} fen on order "${previous.o.outTradeNo}"; a retry must repeat the same order and amounts, a new refund needs a new out_refund_no`,
      );
    }
    if (order.state !== 'SUCCESS' && order.state !== 'REFUND') {
      throw this.refused(
        subMchId,
        'TRADE_STATE_ERROR',
        `订单状态错误: order "${order.outTradeNo}" is ${order.state}; only a paid order can be refunded`,
      );
    }
    if (totalFee !== order.totalFee) {
      throw this.refused(
        subMchId,
        'INVALID_REQUEST',
        `订单金额与之前请求不一致: total_fee (totalFee) ${totalFee} is not the order's total ${order.totalFee} fen`,
      );
    }
    if (order.refunds.length >= MAX_REFUNDS_PER_ORDER) {
      throw this.refused(
        subMchId,
        'INVALID_REQUEST',
        `退款次数超过限制: order "${order.outTradeNo}" already has ${order.refunds.length} refunds; WeChat allows at most ${MAX_REFUNDS_PER_ORDER} per order`,
      );
    }
    const left = order.totalFee - order.refundedFee;
    if (refundFee > left) {
      throw this.refused(
        subMchId,
        'INVALID_REQUEST',
        `累计退款金额大于支付金额: refund_fee (refundFee) ${refundFee} fen is more than the ${left} fen left to refund on order "${order.outTradeNo}" (paid ${order.totalFee}, refunded ${order.refundedFee})`,
      );
    }
    const now = this.now();
    const refundId = `50000${formatPayTime(now).slice(0, 8)}${digits(16)}`;
    const answer = this.success(subMchId, {
      transaction_id: order.transactionId,
      out_trade_no: order.outTradeNo,
      out_refund_no: outRefundNo,
      refund_id: refundId,
      refund_fee: refundFee,
      settlement_refund_fee: refundFee,
      total_fee: order.totalFee,
      settlement_total_fee: order.totalFee,
      fee_type: 'CNY',
      cash_fee: order.totalFee,
      cash_refund_fee: refundFee,
      coupon_refund_fee: 0,
      coupon_refund_count: 0,
    });
    const refund: Refund = {
      outRefundNo,
      refundId,
      refundFee,
      totalFee,
      status: 'PROCESSING',
      requestedAt: now,
      ...(target ? { functionName: target.functionName, envId: target.envId } : {}),
      ...(refundDesc === undefined ? {} : { refundDesc }),
      answer,
    };
    order.refunds.push(refund);
    order.refundedFee += refundFee;
    order.state = 'REFUND';
    this.deps.emit('pay.refund', {
      event: 'requested',
      outTradeNo: order.outTradeNo,
      outRefundNo,
      refundId,
      refundFee,
      status: refund.status,
    });
    const task = this.deps.clock.schedule(
      now + REFUND_SETTLE_MS,
      `pay refund ${outRefundNo} settles`,
      () => {
        this.refundTasks.delete(task);
        this.settleRefund(order, refund);
      },
    );
    this.refundTasks.add(task);
    return answer;
  }

  private settleRefund(order: Order, refund: Refund): void {
    refund.status = 'SUCCESS';
    refund.successAt = this.now();
    this.deps.emit('pay.refund', {
      event: 'settled',
      outTradeNo: order.outTradeNo,
      outRefundNo: refund.outRefundNo,
      refundId: refund.refundId,
      refundFee: refund.refundFee,
      status: refund.status,
    });
    if (refund.functionName) {
      refund.notification = this.callbacks.notify({
        kind: 'refund',
        outTradeNo: order.outTradeNo,
        outRefundNo: refund.outRefundNo,
        functionName: refund.functionName,
        openid: order.openid,
        event: this.refundEvent(order, refund),
      });
    }
  }

  private queryRefund(data: Wire): Wire {
    const subMchId = this.merchant(data);
    const outRefundNo = optionalString(data, 'out_refund_no', 64);
    const refundId = optionalString(data, 'refund_id', 32);
    let order: Order | undefined;
    let refunds: Refund[] = [];
    if (outRefundNo !== undefined || refundId !== undefined) {
      for (const o of this.orders.values()) {
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
          ? [...this.orders.values()].find((o) => o.transactionId === transactionId)
          : this.orders.get(outTradeNo as string);
      refunds = order?.refunds ?? [];
    }
    if (!order || !refunds.length) {
      throw this.refused(
        subMchId,
        'REFUNDNOTEXIST',
        '退款订单查询失败: no refund matches the query',
      );
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
    return this.success(subMchId, fields);
  }

  // ---- the user's side: the pay sheet ---------------------------------------------------

  /**
   * The payer's decision on the pay sheet. `confirm` pays (NOTPAY -> SUCCESS) and sends the
   * payment notification; `cancel` leaves the order NOTPAY; `fail` records a failed payment
   * (WeChat's PAYERROR, e.g. a declined card) and leaves the order NOTPAY and payable, as a
   * failed JSAPI payment does. Returns the order once the decision is recorded; the first
   * notification attempt runs in the background (see `idle()`).
   */
  decide(outTradeNo: string, decision: Decision, opts: { openid?: string } = {}): OrderView {
    const order = this.mustFind(outTradeNo);
    if (!['confirm', 'cancel', 'fail'].includes(decision)) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `decision must be confirm, cancel or fail, got "${String(decision)}"`,
      );
    }
    const now = this.now();
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
    const result =
      decision === 'confirm' ? 'SUCCESS' : decision === 'cancel' ? 'CANCELLED' : 'PAYERROR';
    order.decisions.push({ decision, time: iso(now), openid, result });
    if (decision === 'confirm') {
      order.state = 'SUCCESS';
      order.paidAt = now;
      order.transactionId = `4200${formatPayTime(now).slice(0, 8)}${digits(16)}`;
      order.expiryTask?.cancel();
      delete order.expiryTask;
      this.orderEvent(order, 'paid');
      order.notification = this.callbacks.notify({
        kind: 'payment',
        outTradeNo,
        functionName: order.functionName,
        openid,
        event: this.paymentEvent(order),
      });
    } else {
      this.orderEvent(order, decision === 'cancel' ? 'cancelled' : 'payment_failed');
    }
    return this.view(order);
  }

  /** Delivers the payment notification again now (Stripe CLI's "resend"). */
  async resend(outTradeNo: string): Promise<OrderView> {
    const order = this.mustFind(outTradeNo);
    if (!order.notification) {
      throw new EmulatorError(
        'NOT_PAID',
        `order "${outTradeNo}" is ${order.state}: a notification goes out only for a paid order`,
        409,
      );
    }
    await this.callbacks.resend(order.notification);
    return this.view(order);
  }

  /** The order a `payment.package` ("prepay_id=...") belongs to. */
  findByPrepayId(prepayId: string): OrderView | undefined {
    const id = prepayId.startsWith('prepay_id=') ? prepayId.slice('prepay_id='.length) : prepayId;
    const order = this.byPrepayId.get(id);
    return order && this.view(order);
  }

  /**
   * Checks a payment object as `wx.requestPayment` receives it: all five fields, a known
   * prepay id, and a paySign that matches (so an edited object is refused, as the pay sheet does).
   */
  verifyPayment(payment: unknown): VerifyResult {
    if (!payment || typeof payment !== 'object') {
      return {
        ok: false,
        reason:
          'requestPayment needs an object with timeStamp, nonceStr, package, signType, paySign',
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
    const order = this.byPrepayId.get(pkg.slice('prepay_id='.length));
    if (!order) return { ok: false, reason: `requestPayment: no order has ${pkg}` };
    const expected = signFields(
      {
        appId: p.appId ?? order.payment.appId,
        timeStamp: p.timeStamp,
        nonceStr: p.nonceStr,
        package: p.package,
        signType: p.signType,
      },
      this.signKey,
    );
    if (!sameSignature(expected, p.paySign as string)) {
      return {
        ok: false,
        reason:
          'requestPayment: paySign does not match the payment fields (was the payment object changed?)',
      };
    }
    return { ok: true, order: this.view(order) };
  }

  get(outTradeNo: string): OrderView | undefined {
    const order = this.orders.get(outTradeNo);
    return order && this.view(order);
  }

  list(): OrderView[] {
    return [...this.orders.values()].map((o) => this.view(o));
  }

  /** Resolves once no notification delivery is running. */
  idle(): Promise<void> {
    return this.callbacks.idle();
  }

  reset(): void {
    for (const order of this.orders.values()) order.expiryTask?.cancel();
    for (const task of this.refundTasks) task.cancel();
    this.refundTasks.clear();
    this.orders.clear();
    this.byPrepayId.clear();
    this.callbacks.reset();
  }

  private mustFind(outTradeNo: string): Order {
    const order = this.orders.get(outTradeNo);
    if (!order) {
      throw new EmulatorError(
        'ORDER_NOT_FOUND',
        `no sandbox order with outTradeNo "${outTradeNo}"`,
        404,
      );
    }
    return order;
  }

  private orderEvent(order: Order, event: string): void {
    this.deps.emit('pay.order', {
      event,
      outTradeNo: order.outTradeNo,
      tradeState: order.state,
      totalFee: order.totalFee,
      openid: order.openid,
      ...(order.transactionId ? { transactionId: order.transactionId } : {}),
    });
  }

  /** The payer's openid under the service provider's appid: not the mini-program's openid. */
  private spOpenid(openid: string): string {
    const digest = crypto.createHash('sha256').update(`${SP_APPID}:${openid}`).digest('base64url');
    return `o${digest.slice(0, 27)}`;
  }

  /** The documented CloudPay payment notification (platform-facts §3). */
  private paymentEvent(order: Order): Record<string, unknown> {
    return {
      appid: SP_APPID,
      bankType: 'OTHERS',
      cashFee: order.totalFee,
      feeType: 'CNY',
      isSubscribe: 'N',
      mchId: this.spMchId,
      nonceStr: nonce(),
      openid: this.spOpenid(order.openid),
      outTradeNo: order.outTradeNo,
      resultCode: 'SUCCESS',
      returnCode: 'SUCCESS',
      subAppid: order.subAppid,
      subIsSubscribe: 'N',
      subMchId: order.subMchId,
      subOpenid: order.openid,
      timeEnd: formatPayTime(order.paidAt as number),
      totalFee: order.totalFee,
      tradeType: order.tradeType,
      transactionId: order.transactionId,
      ...(order.attach === undefined ? {} : { attach: order.attach }),
      userInfo: { appId: order.subAppid, openId: order.openid },
    };
  }

  /**
   * ASSUMED refund notification (the real CloudPay payload is unconfirmed): WeChat Pay's refund
   * notify fields, camelCased like the payment one, with the decrypted `req_info` as `reqInfo`.
   */
  private refundEvent(order: Order, refund: Refund): Record<string, unknown> {
    return {
      returnCode: 'SUCCESS',
      appid: SP_APPID,
      mchId: this.spMchId,
      subAppid: order.subAppid,
      subMchId: order.subMchId,
      nonceStr: nonce(),
      reqInfo: {
        transactionId: order.transactionId,
        outTradeNo: order.outTradeNo,
        refundId: refund.refundId,
        outRefundNo: refund.outRefundNo,
        totalFee: order.totalFee,
        settlementTotalFee: order.totalFee,
        refundFee: refund.refundFee,
        settlementRefundFee: refund.refundFee,
        refundStatus: 'SUCCESS',
        successTime: formatPayDateTime(refund.successAt as number),
        refundRecvAccout: '支付用户的零钱',
        refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS',
        refundRequestSource: 'API',
      },
    };
  }

  private callbacksView(n: Notification | undefined): CallbacksView | undefined {
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

  private view(order: Order): OrderView {
    const callbacks = this.callbacksView(order.notification);
    return {
      outTradeNo: order.outTradeNo,
      prepayId: order.prepayId,
      ...(order.transactionId ? { transactionId: order.transactionId } : {}),
      tradeState: order.state,
      expired: order.state === 'NOTPAY' && this.now() >= order.expiresAt,
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
        const rc = this.callbacksView(r.notification);
        return {
          outRefundNo: r.outRefundNo,
          refundId: r.refundId,
          refundFee: r.refundFee,
          status: r.status,
          requestedAt: iso(r.requestedAt),
          ...(r.successAt === undefined ? {} : { successAt: iso(r.successAt) }),
          ...(rc ? { callbacks: rc } : {}),
        };
      }),
    };
  }
}
