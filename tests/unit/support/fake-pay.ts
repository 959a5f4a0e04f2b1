import type {
  CloudPayApi,
  CloseOrderRequest,
  CloseOrderResult,
  QueryOrderRequest,
  QueryOrderResult,
  QueryRefundRequest,
  QueryRefundResult,
  RefundRequest,
  RefundResult,
  TradeState,
  UnifiedOrderRequest,
  UnifiedOrderResult,
} from '../../../server/cloudpay';

interface FakeOrder {
  request: UnifiedOrderRequest;
  state: TradeState;
  createdAt: number;
  transactionId?: string;
  refund?: {
    outRefundNo: string;
    refundFee: number;
    status: 'PROCESSING' | 'SUCCESS' | 'REFUNDCLOSE';
  };
}

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
    this.orders.set(request.outTradeNo, { request, state: 'NOTPAY', createdAt: this.now() });
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

  async queryOrder(request: QueryOrderRequest): Promise<QueryOrderResult> {
    this.enter('queryOrder', request);
    const order = request.outTradeNo ? this.orders.get(request.outTradeNo) : undefined;
    if (!order) return fail('订单不存在');
    return {
      ...ok,
      subMchId: order.request.subMchId,
      outTradeNo: order.request.outTradeNo,
      tradeState: order.state,
      totalFee: order.request.totalFee,
      transactionId: order.transactionId,
      timeEnd: order.transactionId ? '20261127120000' : undefined,
    };
  }

  async closeOrder(request: CloseOrderRequest): Promise<CloseOrderResult> {
    this.enter('closeOrder', request);
    const order = this.orders.get(request.outTradeNo);
    if (!order) return fail('订单不存在');
    if (order.state === 'SUCCESS') return fail('订单已支付');
    if (this.now() - order.createdAt < 5 * 60_000) return fail('订单创建后5分钟内不能关闭');
    order.state = 'CLOSED';
    return { ...ok };
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    this.enter('refund', request);
    const order = request.outTradeNo ? this.orders.get(request.outTradeNo) : undefined;
    if (!order || (order.state !== 'SUCCESS' && order.state !== 'REFUND'))
      return fail('订单未支付');
    if (order.refund && order.refund.outRefundNo !== request.outRefundNo)
      return fail('退款金额超过可退金额');
    order.refund ??= {
      outRefundNo: request.outRefundNo,
      refundFee: request.refundFee,
      status: 'PROCESSING',
    };
    return { ...ok, outRefundNo: request.outRefundNo, refundId: `50000${request.outRefundNo}` };
  }

  /** WeChat Pay finishes the refund. */
  settleRefund(outTradeNo: string, status: 'SUCCESS' | 'REFUNDCLOSE' = 'SUCCESS'): void {
    const order = this.orders.get(outTradeNo);
    if (!order?.refund) throw new Error(`no refund for ${outTradeNo}`);
    order.refund.status = status;
    if (status === 'SUCCESS') order.state = 'REFUND';
  }

  async queryRefund(request: QueryRefundRequest): Promise<QueryRefundResult> {
    this.enter('queryRefund', request);
    const order = request.outTradeNo ? this.orders.get(request.outTradeNo) : undefined;
    if (!order?.refund) return fail('退款不存在');
    return {
      ...ok,
      outTradeNo: order.request.outTradeNo,
      refundCount: 1,
      outRefundNo_0: order.refund.outRefundNo,
      refundStatus_0: order.refund.status,
      refundFee_0: order.refund.refundFee,
    };
  }
}
