import type {
  CloudPayApi,
  CloseOrderRequest,
  CloseOrderResult,
  QueryOrderRequest,
  QueryOrderResult,
  QueryRefundRequest,
  QueryRefundResult,
  RefundRequest,
  RefundStatus,
  RefundResult,
  TradeState,
  UnifiedOrderRequest,
  UnifiedOrderResult,
} from '../../../server/cloudpay';

interface FakeRefund {
  outRefundNo: string;
  refundFee: number;
  status: RefundStatus;
}

interface FakeOrder {
  request: UnifiedOrderRequest;
  state: TradeState;
  createdAt: number;
  transactionId?: string;
  /** In request order, as queryRefund numbers them (_0, _1, ...). */
  refunds: FakeRefund[];
}

/**
 * What the next queryOrder of an order reports instead of its own facts, or `notExist`: the same
 * powers as the emulator sandbox's queryOrder rules (emulator/docs/pay.md, "WeChat Pay disagreeing").
 */
export type QueryOrderDisagreement =
  { notExist: true } | { totalFee?: number; subMchId?: string; transactionId?: string };

const ok = { errCode: 0, errMsg: 'ok', returnCode: 'SUCCESS', resultCode: 'SUCCESS' } as const;
const fail = (errCodeDes: string) =>
  ({ errCode: 0, errMsg: 'ok', returnCode: 'SUCCESS', resultCode: 'FAIL', errCodeDes }) as const;

/**
 * A small in-memory WeChat Pay for the unit tier: it keeps orders, lets a test "pay" one, and
 * answers the five calls the way the SDK returns them (camelCase, `errCode` 0, FAIL in resultCode).
 * `calls` records every call in order, and `onUnifiedOrder` lets a test look at the world at the
 * moment WeChat Pay is asked (e.g. to prove the order was recorded first).
 */
export class FakeCloudPay implements CloudPayApi {
  readonly orders = new Map<string, FakeOrder>();
  readonly calls: { api: keyof CloudPayApi; request: object }[] = [];
  onUnifiedOrder: ((request: UnifiedOrderRequest) => void) | undefined;
  /** The next unifiedOrder answers FAIL with this description. */
  failNextUnifiedOrder: string | undefined;
  /** The next N calls throw, as a network failure would. */
  throwNext = 0;
  private readonly disagreements = new Map<string, QueryOrderDisagreement[]>();

  constructor(private readonly now: () => number) {}

  private enter(api: keyof CloudPayApi, request: object): void {
    this.calls.push({ api, request });
    if (this.throwNext > 0) {
      this.throwNext--;
      throw Object.assign(new Error(`cloudPay.${api}:fail network`), { errCode: -1 });
    }
  }

  count(api: keyof CloudPayApi): number {
    return this.calls.filter((c) => c.api === api).length;
  }

  /** The user pays: what the pay sheet's confirm does. */
  pay(outTradeNo: string): FakeOrder {
    const order = this.orders.get(outTradeNo);
    if (!order || order.state !== 'NOTPAY') throw new Error(`cannot pay ${outTradeNo}`);
    order.state = 'SUCCESS';
    order.transactionId = `42000${outTradeNo}`;
    return order;
  }

  /** The callback event WeChat Pay would send for a paid order. */
  callbackEvent(
    outTradeNo: string,
    overrides: Record<string, unknown> = {},
  ): Record<string, unknown> {
    const order = this.orders.get(outTradeNo);
    if (!order) throw new Error(`no order ${outTradeNo}`);
    return {
      appid: 'wx0000000000000000',
      mchId: '1800000001',
      subMchId: order.request.subMchId,
      outTradeNo,
      totalFee: order.request.totalFee,
      cashFee: order.request.totalFee,
      transactionId: order.transactionId,
      timeEnd: '20261127120000',
      resultCode: 'SUCCESS',
      returnCode: 'SUCCESS',
      ...overrides,
    };
  }

  async unifiedOrder(request: UnifiedOrderRequest): Promise<UnifiedOrderResult> {
    this.enter('unifiedOrder', request);
    this.onUnifiedOrder?.(request);
    if (this.failNextUnifiedOrder) {
      const reason = this.failNextUnifiedOrder;
      this.failNextUnifiedOrder = undefined;
      return fail(reason);
    }
    if (!request.nonceStr) return fail('nonce_str is required');
    if (this.orders.has(request.outTradeNo)) return fail('商户订单号重复');
    this.orders.set(request.outTradeNo, {
      request,
      state: 'NOTPAY',
      createdAt: this.now(),
      refunds: [],
    });
    const prepayId = `wx_prepay_${request.outTradeNo}`;
    return {
      ...ok,
      prepayId,
      payment: {
        appId: 'wx0000000000000000',
        timeStamp: String(Math.floor(this.now() / 1000)),
        nonceStr: request.nonceStr,
        package: `prepay_id=${prepayId}`,
        signType: 'MD5',
        paySign: 'fake-sign',
      },
    };
  }

  /** The next `count` queryOrder calls for the order answer `with` (see QueryOrderDisagreement). */
  disagreeQueryOrder(outTradeNo: string, disagreement: QueryOrderDisagreement, count = 1): void {
    const queue = this.disagreements.get(outTradeNo) ?? [];
    for (let i = 0; i < count; i++) queue.push(disagreement);
    this.disagreements.set(outTradeNo, queue);
  }

  async queryOrder(request: QueryOrderRequest): Promise<QueryOrderResult> {
    this.enter('queryOrder', request);
    const order = request.outTradeNo ? this.orders.get(request.outTradeNo) : undefined;
    // WeChat Pay's err_code_des for ORDERNOTEXIST (the SDK keeps only the description).
    if (!order) return fail('此交易订单号不存在');
    const disagreement = this.disagreements.get(order.request.outTradeNo)?.shift();
    if (disagreement && 'notExist' in disagreement) return fail('此交易订单号不存在');
    return {
      ...ok,
      subMchId: order.request.subMchId,
      outTradeNo: order.request.outTradeNo,
      tradeState: order.state,
      totalFee: order.request.totalFee,
      transactionId: order.transactionId,
      timeEnd: order.transactionId ? '20261127120000' : undefined,
      ...disagreement,
    };
  }

  async closeOrder(request: CloseOrderRequest): Promise<CloseOrderResult> {
    this.enter('closeOrder', request);
    const order = this.orders.get(request.outTradeNo);
    if (!order) return fail('订单不存在');
    if (order.state === 'SUCCESS' || order.state === 'REFUND') return fail('订单已支付');
    if (this.now() - order.createdAt < 5 * 60_000) return fail('订单创建后5分钟内不能关闭');
    order.state = 'CLOSED';
    return { ...ok };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    this.enter('refund', request);
    const order = request.outTradeNo ? this.orders.get(request.outTradeNo) : undefined;
    if (!order || (order.state !== 'SUCCESS' && order.state !== 'REFUND'))
      return fail('订单状态错误');
    if (request.totalFee !== order.request.totalFee) return fail('订单金额与之前请求不一致');
    const answer = {
      ...ok,
      outRefundNo: request.outRefundNo,
      refundId: `50000${request.outRefundNo}`,
    };
    // The same out_refund_no is a retry of the same refund: answered again, refunded once.
    if (order.refunds.some((r) => r.outRefundNo === request.outRefundNo)) return answer;
    if (request.refundFee > this.refundable(order)) return fail('累计退款金额大于支付金额');
    order.refunds.push({
      outRefundNo: request.outRefundNo,
      refundFee: request.refundFee,
      status: 'PROCESSING',
    });
    order.state = 'REFUND';
    return answer;
  }

  /** What is left to refund: a REFUNDCLOSE refund returned nothing, CHANGE did leave the shop. */
  private refundable(order: FakeOrder): number {
    const out = order.refunds
      .filter((r) => r.status !== 'REFUNDCLOSE')
      .reduce((sum, r) => sum + r.refundFee, 0);
    return order.request.totalFee - out;
  }

  /**
   * WeChat Pay finishes a refund (the order's latest, or the one named): SUCCESS, REFUNDCLOSE
   * (退款关闭) or CHANGE (退款异常), WeChat Pay v2's refund_status values.
   */
  settleRefund(
    outTradeNo: string,
    status: Exclude<RefundStatus, 'PROCESSING'> = 'SUCCESS',
    outRefundNo?: string,
  ): void {
    const order = this.orders.get(outTradeNo);
    const refund =
      outRefundNo === undefined
        ? order?.refunds.at(-1)
        : order?.refunds.find((r) => r.outRefundNo === outRefundNo);
    if (!refund) throw new Error(`no refund ${outRefundNo ?? ''} for ${outTradeNo}`);
    refund.status = status;
  }

  /** A refund made by hand on the merchant platform: the app never asked for it. */
  refundOnPlatform(
    outTradeNo: string,
    refundFee: number,
    status: RefundStatus = 'SUCCESS',
  ): FakeRefund {
    const order = this.orders.get(outTradeNo);
    if (!order || (order.state !== 'SUCCESS' && order.state !== 'REFUND'))
      throw new Error(`cannot refund ${outTradeNo}`);
    if (refundFee > this.refundable(order)) throw new Error(`refund too large for ${outTradeNo}`);
    const refund = { outRefundNo: `MP${order.refunds.length}${outTradeNo}`, refundFee, status };
    order.refunds.push(refund);
    order.state = 'REFUND';
    return refund;
  }

  async queryRefund(request: QueryRefundRequest): Promise<QueryRefundResult> {
    this.enter('queryRefund', request);
    const order = request.outTradeNo ? this.orders.get(request.outTradeNo) : undefined;
    if (!order?.refunds.length) return fail('退款订单查询失败');
    const result: QueryRefundResult = {
      ...ok,
      outTradeNo: order.request.outTradeNo,
      refundCount: order.refunds.length,
    };
    order.refunds.forEach((r, i) => {
      result[`outRefundNo_${i}`] = r.outRefundNo;
      result[`refundStatus_${i}`] = r.status;
      result[`refundFee_${i}`] = r.refundFee;
    });
    return result;
  }
}
