import crypto from 'node:crypto';
import type { Clock, ScheduledTask } from '../clock';
import type { CallbackAttempt, DeliverFn, Notification } from './callbacks';
import type { Wire } from './validate';

/**
 * The CloudPay sandbox's data model: WeChat Pay's states and limits, the order and refund records
 * the sandbox keeps, and the JSON views the control API shows. No behaviour lives here.
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
/** WeChat Pay's refund_status values: 退款处理中, 退款成功, 退款关闭, 退款异常. */
export type RefundStatus = 'PROCESSING' | 'SUCCESS' | 'REFUNDCLOSE' | 'CHANGE';
/** refund_request_source: the refund API, or the merchant platform (商户平台) by hand. */
export type RefundSource = 'API' | 'VENDOR_PLATFORM';

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
export const SP_APPID = 'wxd678efh567hg6787';
export const SP_MCH_ID = '1230000109';

export const STATE_DESC: Record<TradeState, string> = {
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

export interface Refund {
  outRefundNo: string;
  refundId: string;
  refundFee: number;
  totalFee: number;
  status: RefundStatus;
  /** How it ends when it settles: SUCCESS unless a refunds fault rule or the control API said otherwise. */
  outcome: RefundStatus;
  source: RefundSource;
  requestedAt: number;
  /** When it left PROCESSING, whatever it ended as. */
  settledAt?: number;
  successAt?: number;
  functionName?: string;
  envId?: string;
  refundDesc?: string;
  /** The answer the refund call got; a retry with the same out_refund_no gets it again. */
  answer: Wire;
  notification?: Notification;
}

export interface Order {
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
    source: RefundSource;
    requestedAt: string;
    settledAt?: string;
    successAt?: string;
    callbacks?: CallbacksView;
  }[];
}

export interface SandboxConfig {
  appid: string;
  mchId: string;
  envId: string;
  /** Every env hosted (callbacks may name any); default: just `envId`. */
  envIds?: string[];
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
  /** Key for paySign; random per sandbox (kept in the pay journal) unless given. */
  signKey?: string;
  /** Operator warnings (a change the pay journal could not take). */
  warn?: (message: string) => void;
}

/** Who made the API call, when the runtime knows (the invoking user of the calling function). */
export interface CallerInfo {
  openid?: string;
}

export type VerifyResult = { ok: true; order: OrderView } | { ok: false; reason: string };

export const iso = (ms: number): string => new Date(ms).toISOString();

export function digits(n: number): string {
  let out = '';
  for (const b of crypto.randomBytes(n)) out += String(b % 10);
  return out;
}
