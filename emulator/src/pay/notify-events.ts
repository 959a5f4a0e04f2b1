import crypto from 'node:crypto';
import type { PayBook } from './book';
import { SP_APPID, type Order, type Refund } from './model';
import { nonce } from './sign';
import { formatPayDateTime, formatPayTime } from './time';

/** The events the sandbox sends to the callback function: payment and (assumed) refund notify. */

/** The payer's openid under the service provider's appid: not the mini-program's openid. */
export function spOpenid(openid: string): string {
  const digest = crypto.createHash('sha256').update(`${SP_APPID}:${openid}`).digest('base64url');
  return `o${digest.slice(0, 27)}`;
}

/** The documented CloudPay payment notification (platform-facts §3). */
export function paymentEvent(book: PayBook, order: Order): Record<string, unknown> {
  return {
    appid: SP_APPID,
    bankType: 'OTHERS',
    cashFee: order.totalFee,
    feeType: 'CNY',
    isSubscribe: 'N',
    mchId: book.spMchId,
    nonceStr: nonce(),
    openid: spOpenid(order.openid),
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
export function refundEvent(book: PayBook, order: Order, refund: Refund): Record<string, unknown> {
  return {
    returnCode: 'SUCCESS',
    appid: SP_APPID,
    mchId: book.spMchId,
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
      // The notification goes out for every final status: SUCCESS, CHANGE or REFUNDCLOSE.
      refundStatus: refund.status,
      ...(refund.successAt === undefined
        ? {}
        : { successTime: formatPayDateTime(refund.successAt) }),
      refundRecvAccout: '支付用户的零钱',
      refundAccount: 'REFUND_SOURCE_UNSETTLED_FUNDS',
      refundRequestSource: refund.source,
    },
  };
}
