/**
 * Types for `cloud.cloudPay`, which wx-server-sdk ships without. Requests are camelCase (the SDK
 * converts them to snake_case); results come back camelCase too, with the SDK's `errCode`/`errMsg`
 * added, and `errMsg` can say ":ok" while `returnCode` or `resultCode` is FAIL (platform-facts §3),
 * so every call goes through `ensureSuccess`, which checks both.
 */

/** Fields every CloudPay result carries. */
export interface CloudPayResultBase {
  /**
   * Added by the SDK, always 0 on a returned result (a failed call throws instead). Note: the SDK
   * spreads WeChat's fields first and then sets errCode 0, so WeChat's own `err_code` (ORDERPAID,
   * OUT_TRADE_NO_USED, ...) is overwritten and only `errCodeDes` survives (wx-server-sdk 4.0.2).
   */
  errCode: number;
  errMsg: string;
  /** Communication result: FAIL means the request was refused before any business logic. */
  returnCode: 'SUCCESS' | 'FAIL';
  returnMsg?: string;
  /** Business result, present when returnCode is SUCCESS. */
  resultCode?: 'SUCCESS' | 'FAIL';
  /** WeChat's description of the business error when resultCode is FAIL (e.g. 商户订单号重复). */
  errCodeDes?: string;
  appid?: string;
  mchId?: string;
  subAppid?: string;
  subMchId?: string;
  nonceStr?: string;
  sign?: string;
}

/** What `wx.requestPayment` takes, exactly; `userpay` hands it to the page untouched. */
export interface PaymentParams {
  appId?: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'MD5' | 'HMAC-SHA256' | 'RSA';
  paySign: string;
}

export interface UnifiedOrderRequest {
  /** Shown on the bill, ≤128 bytes. */
  body: string;
  /** 6–32 letters, digits, `_`, `-`; unique per merchant. */
  outTradeNo: string;
  spbillCreateIp: string;
  subMchId: string;
  /** Integer fen. */
  totalFee: number;
  /** The FULL env id the callback function lives in. */
  envId: string;
  /** The cloud function WeChat Pay calls on success. */
  functionName: string;
  /** ≤32 characters; required although old samples omit it. */
  nonceStr: string;
  tradeType?: 'JSAPI';
  /** Echoed in queryOrder and the callback, ≤127 bytes. */
  attach?: string;
  /** `yyyyMMddHHmmss`, UTC+8. */
  timeStart?: string;
  /** `yyyyMMddHHmmss`, UTC+8, more than 5 minutes after timeStart. */
  timeExpire?: string;
  detail?: string;
  goodsTag?: string;
  limitPay?: 'no_credit';
  subAppid?: string;
  openid?: string;
  subOpenid?: string;
}

export interface UnifiedOrderResult extends CloudPayResultBase {
  prepayId?: string;
  tradeType?: string;
  payment?: PaymentParams;
}

export type TradeState =
  'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR';

export interface QueryOrderRequest {
  subMchId: string;
  outTradeNo?: string;
  transactionId?: string;
  nonceStr: string;
  subAppid?: string;
}

export interface QueryOrderResult extends CloudPayResultBase {
  tradeState?: TradeState;
  tradeStateDesc?: string;
  outTradeNo?: string;
  transactionId?: string;
  totalFee?: number;
  cashFee?: number;
  feeType?: string;
  timeEnd?: string;
  attach?: string;
  openid?: string;
  subOpenid?: string;
  bankType?: string;
  tradeType?: string;
}

export interface CloseOrderRequest {
  subMchId: string;
  outTradeNo: string;
  nonceStr: string;
}

export type CloseOrderResult = CloudPayResultBase;

export interface RefundRequest {
  subMchId: string;
  nonceStr: string;
  outTradeNo?: string;
  transactionId?: string;
  /** ≤64; reuse the same one when retrying the same refund. */
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
  refundDesc?: string;
  /** The refund callback (keep it separate from the payment callback). */
  functionName?: string;
  envId?: string;
}

export interface RefundResult extends CloudPayResultBase {
  transactionId?: string;
  outTradeNo?: string;
  outRefundNo?: string;
  refundId?: string;
  refundFee?: number;
  totalFee?: number;
  cashFee?: number;
}

export interface QueryRefundRequest {
  subMchId: string;
  nonceStr: string;
  outTradeNo?: string;
  transactionId?: string;
  outRefundNo?: string;
  refundId?: string;
}

export type RefundStatus = 'SUCCESS' | 'REFUNDCLOSE' | 'PROCESSING' | 'CHANGE';

export interface QueryRefundResult extends CloudPayResultBase {
  outTradeNo?: string;
  transactionId?: string;
  totalFee?: number;
  refundCount?: number;
  /** WeChat numbers refunds: `refundStatus_0`, `outRefundNo_0`, ... ; read them with refundAt(). */
  [indexed: `${string}_${number}`]: unknown;
}

/** The shape of `cloud.cloudPay` in wx-server-sdk. */
export interface CloudPayApi {
  unifiedOrder(request: UnifiedOrderRequest): Promise<UnifiedOrderResult>;
  queryOrder(request: QueryOrderRequest): Promise<QueryOrderResult>;
  closeOrder(request: CloseOrderRequest): Promise<CloseOrderResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
  queryRefund(request: QueryRefundRequest): Promise<QueryRefundResult>;
}

export type CloudPayApiName = keyof CloudPayApi;

/** A CloudPay call that did not succeed: which call, and WeChat's own words and codes. */
export class CloudPayError extends Error {
  constructor(
    readonly apiName: CloudPayApiName,
    /** `returnCode`/`resultCode` FAIL, or `errCode` for an SDK-level failure. */
    readonly returnCode: string,
    readonly resultCode: string | undefined,
    /** WeChat's description of the business error, e.g. 商户订单号重复 / 订单已支付. */
    readonly errCodeDes: string | undefined,
    message: string,
  ) {
    super(`cloudPay.${apiName} failed: ${message}`);
    this.name = 'CloudPayError';
  }
}

/** Returns the result when both returnCode and resultCode are SUCCESS; throws CloudPayError otherwise. */
export function ensureSuccess<T extends CloudPayResultBase>(
  apiName: CloudPayApiName,
  result: T,
): T {
  if (result.errCode !== undefined && result.errCode !== 0) {
    throw new CloudPayError(apiName, String(result.errCode), undefined, undefined, result.errMsg);
  }
  if (result.returnCode !== 'SUCCESS') {
    throw new CloudPayError(
      apiName,
      String(result.returnCode),
      undefined,
      undefined,
      result.returnMsg ?? 'returnCode FAIL',
    );
  }
  if (result.resultCode !== 'SUCCESS') {
    const detail = result.errCodeDes;
    throw new CloudPayError(
      apiName,
      'SUCCESS',
      String(result.resultCode),
      result.errCodeDes,
      detail || result.returnMsg || 'resultCode FAIL',
    );
  }
  return result;
}

/** Reads refund number `index` (WeChat's `_n` suffixed fields) from a queryRefund result. */
export function refundAt(
  result: QueryRefundResult,
  index: number,
): { outRefundNo?: string; refundStatus?: RefundStatus; refundFee?: number; refundId?: string } {
  const pick = (key: string): unknown => result[`${key}_${index}` as `${string}_${number}`];
  return {
    outRefundNo: pick('outRefundNo') as string | undefined,
    refundStatus: pick('refundStatus') as RefundStatus | undefined,
    refundFee: pick('refundFee') as number | undefined,
    refundId: pick('refundId') as string | undefined,
  };
}
