import {
  CloudPayError,
  ensureSuccess,
  refundAt,
  type CloudPayResultBase,
  type QueryRefundResult,
} from '../../server/cloudpay';

/**
 * ensureSuccess is how every WeChat Pay answer is judged before any money decision. The three
 * layers are wx-server-sdk's `errCode`/`errMsg` (the call itself, e.g. a network failure) and
 * WeChat Pay v2's `return_code` (communication) and `result_code` (business), each SUCCESS or
 * FAIL (pay.weixin.qq.com/wiki/doc/api/jsapi_sl.php, 公共返回参数). The thrown message's wording is
 * this project's own.
 */
const ok: CloudPayResultBase = {
  errCode: 0,
  errMsg: 'ok',
  returnCode: 'SUCCESS',
  resultCode: 'SUCCESS',
};

function thrown(run: () => unknown): CloudPayError {
  try {
    run();
  } catch (err) {
    if (err instanceof CloudPayError) return err;
    throw err;
  }
  throw new Error('expected a CloudPayError');
}

describe('ensureSuccess', () => {
  it('returns an answer that succeeded on every layer', () => {
    const answer = { ...ok, prepayId: 'p' };
    expect(ensureSuccess('unifiedOrder', answer)).toBe(answer);
    const noErrCode = { returnCode: 'SUCCESS', resultCode: 'SUCCESS' } as CloudPayResultBase;
    expect(ensureSuccess('closeOrder', noErrCode)).toBe(noErrCode);
  });

  it('an SDK-level failure (errCode not 0) names the call and keeps errMsg', () => {
    const err = thrown(() =>
      ensureSuccess('queryOrder', { ...ok, errCode: -501001, errMsg: 'cloudPay.queryOrder:fail' }),
    );
    expect(err.message).toBe('cloudPay.queryOrder failed: cloudPay.queryOrder:fail');
    expect([err.apiName, err.returnCode, err.resultCode]).toEqual([
      'queryOrder',
      '-501001',
      undefined,
    ]);
  });

  it('return_code FAIL: returnMsg, or a plain note when WeChat gave none', () => {
    const withMsg = thrown(() =>
      ensureSuccess('refund', { ...ok, returnCode: 'FAIL', returnMsg: '签名错误' }),
    );
    expect(withMsg.message).toBe('cloudPay.refund failed: 签名错误');
    expect(withMsg.returnCode).toBe('FAIL');
    const bare = thrown(() => ensureSuccess('refund', { ...ok, returnCode: 'FAIL' }));
    expect(bare.message).toBe('cloudPay.refund failed: returnCode FAIL');
  });

  it('result_code FAIL: err_code_des first, then returnMsg, then a plain note', () => {
    const des = thrown(() =>
      ensureSuccess('closeOrder', { ...ok, resultCode: 'FAIL', errCodeDes: '订单已支付' }),
    );
    expect(des.message).toBe('cloudPay.closeOrder failed: 订单已支付');
    expect([des.returnCode, des.resultCode, des.errCodeDes]).toEqual([
      'SUCCESS',
      'FAIL',
      '订单已支付',
    ]);
    const msg = thrown(() =>
      ensureSuccess('closeOrder', { ...ok, resultCode: 'FAIL', returnMsg: 'OK' }),
    );
    expect(msg.message).toBe('cloudPay.closeOrder failed: OK');
    const bare = thrown(() => ensureSuccess('closeOrder', { ...ok, resultCode: 'FAIL' }));
    expect(bare.message).toBe('cloudPay.closeOrder failed: resultCode FAIL');
  });
});

it('refundAt reads the n-th refund of a queryRefund answer', () => {
  const answer: QueryRefundResult = {
    ...ok,
    refundCount: 2,
    outRefundNo_1: 'RF2',
    refundStatus_1: 'CHANGE',
    refundFee_1: 3,
    refundId_1: '50002',
  };
  expect(refundAt(answer, 1)).toEqual({
    outRefundNo: 'RF2',
    refundStatus: 'CHANGE',
    refundFee: 3,
    refundId: '50002',
  });
  expect(refundAt(answer, 0)).toEqual({
    outRefundNo: undefined,
    refundStatus: undefined,
    refundFee: undefined,
    refundId: undefined,
  });
});
