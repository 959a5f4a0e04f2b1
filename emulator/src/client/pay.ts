// wx.requestPayment against the pay sandbox: the payment object opens a pay sheet
// (POST /emulator/v1/pay/requests, which checks the paySign and finds the order by its prepay
// id), then the call waits for the payer's decision. A `decide` function given to createWx makes
// the decision at once through the order's confirm/cancel/fail route; without one, the decision
// comes from outside (the preview's pay sheet, or a test calling that route) and the call long
// polls the sheet, for at most `timeoutMs` in all.
//
// As on the platform, success means the payer confirmed, NOT that the order is paid: the server
// learns that from the payment callback.

import { wxError } from './callbacks';
import { controlErrorMessage, type HttpClient, isRecord } from './http';

export type PayDecision = 'confirm' | 'cancel' | 'fail';

/** What the pay sheet shows; passed to a `decide` function. */
export interface PaySheet {
  id: string;
  outTradeNo: string;
  openid: string;
  body: string;
  totalFee: number;
  state: 'open' | PayDecision;
  detail?: string;
}

export type DecideFn = (sheet: PaySheet) => PayDecision | Promise<PayDecision>;

export interface PaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: string;
  paySign: string;
}

const API = 'requestPayment';
/** One long poll's length; the server caps it too. */
const POLL_MS = 20_000;

function sheetOf(body: unknown): PaySheet {
  const request = isRecord(body) ? body.request : undefined;
  if (!isRecord(request) || typeof request.id !== 'string' || typeof request.state !== 'string') {
    throw wxError(API, 'the emulator answered without a pay sheet');
  }
  return request as unknown as PaySheet;
}

export async function requestPayment(
  http: HttpClient,
  openid: string,
  params: PaymentParams,
  opts: { decide: DecideFn | undefined; timeoutMs: number; now: () => number },
): Promise<{ errMsg: string }> {
  if (!isRecord(params)) throw wxError(API, 'parameter should be an object');
  // Only the fields requestPayment takes (callbacks and extra fields stay here).
  const payment = {
    timeStamp: params.timeStamp,
    nonceStr: params.nonceStr,
    package: params.package,
    signType: params.signType,
    paySign: params.paySign,
  };
  const opened = await http.request('POST', '/emulator/v1/pay/requests', { payment, openid });
  if (opened.status !== 201) throw wxError(API, controlErrorMessage(opened));
  let sheet = sheetOf(opened.body);

  if (opts.decide) {
    const decision = await opts.decide(sheet);
    if (decision !== 'confirm' && decision !== 'cancel' && decision !== 'fail') {
      throw wxError(
        API,
        `decide() must return 'confirm', 'cancel' or 'fail', got ${String(decision)}`,
      );
    }
    const path = `/emulator/v1/pay/orders/${encodeURIComponent(sheet.outTradeNo)}/${decision}`;
    // wait:false: the pay sheet closes before the payment callback is delivered, as on the platform.
    const decided = await http.request('POST', path, { openid, wait: false });
    if (decided.status !== 200) throw wxError(API, controlErrorMessage(decided));
  }

  const deadline = opts.now() + opts.timeoutMs;
  while (sheet.state === 'open') {
    const left = deadline - opts.now();
    if (left <= 0) {
      throw wxError(
        API,
        `no decision on the pay sheet within ${opts.timeoutMs} ms (sandbox order ${sheet.outTradeNo})`,
      );
    }
    const waitMs = Math.min(left, POLL_MS);
    const polled = await http.request(
      'GET',
      `/emulator/v1/pay/requests/${encodeURIComponent(sheet.id)}?waitMs=${waitMs}`,
    );
    if (polled.status !== 200) throw wxError(API, controlErrorMessage(polled));
    sheet = sheetOf(polled.body);
  }

  if (sheet.state === 'confirm') return { errMsg: 'requestPayment:ok' };
  if (sheet.state === 'cancel') throw wxError(API, 'cancel');
  throw wxError(API, sheet.detail ?? 'payment failed (the sandbox pay sheet recorded PAYERROR)');
}
