/**
 * POST /admin/client is the mini-program's door: it takes what the mini-program SDK can send
 * (database operations under rules, callFunction, the realtime sign-in) and nothing else.
 * Source: the mini-program API has no CloudPay call (CloudPay is `cloud.cloudPay` of
 * wx-server-sdk, cloud functions only, platform-facts §3); wx.cloud.callFunction runs the function with SOURCE wx_client and
 * the caller's OPENID (Cloud.getWXContext). The refusal's code and wording are the emulator's.
 */
import path from 'node:path';
import type { RunningEmulator } from '../../emulator/src/emulator';
import { startProjectEmulator } from '../support/emulator';
import { runWithSdk } from '../support/sdk';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/platform-functions');

type Answer = Record<string, unknown>;

describe('the client door takes client actions only', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startProjectEmulator({
      functionsDir: FIXTURES,
    });
  });
  afterAll(() => emulator.stop());

  const asClient = async (openid: string, body: FormData | Answer): Promise<Answer> => {
    const res = await fetch(`${emulator.url}/admin/client`, {
      method: 'POST',
      headers: {
        'x-wxcloud-openid': openid,
        ...(body instanceof FormData ? {} : { 'content-type': 'application/json' }),
      },
      body: body instanceof FormData ? body : JSON.stringify(body),
    });
    return (await res.json()) as Answer;
  };

  test("a client cannot refund someone else's paid order through wx.wxPayApi", async () => {
    const outTradeNo = `door${Date.now()}`;
    const order = {
      body: 'unlock',
      outTradeNo,
      spbillCreateIp: '127.0.0.1',
      subMchId: '1900000109',
      totalFee: 100,
      envId: 'local-env',
      functionName: 'context-probe',
      nonceStr: 'n-door',
    };
    const placed = await runWithSdk<Answer>(
      emulator.url,
      `return await cloud.cloudPay.unifiedOrder(${JSON.stringify(order)});`,
    );
    expect(placed.resultCode).toBe('SUCCESS');
    await fetch(`${emulator.url}/emulator/v1/pay/orders/${outTradeNo}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ wait: false }),
    });

    // What the server SDK would post for cloudPay.refund, sent by a mini-program user instead.
    const form = new FormData();
    form.set('action', 'wx.wxPayApi');
    form.set('apiName', 'refund');
    form.set(
      'requestData',
      JSON.stringify({
        sub_mch_id: '1900000109',
        nonce_str: 'n-evil',
        out_trade_no: outTradeNo,
        out_refund_no: `r${outTradeNo}`,
        total_fee: 100,
        refund_fee: 100,
      }),
    );
    const answer = await asClient('o-mallory', form);
    expect(answer.code).toBe('PERMISSION_DENIED');
    expect(answer.message).toContain('wx.wxPayApi is a server-only action');

    const view = async (): Promise<{ tradeState: string; refundedFee: number }> => {
      const res = await fetch(`${emulator.url}/emulator/v1/pay/orders/${outTradeNo}`);
      return ((await res.json()) as { order: { tradeState: string; refundedFee: number } }).order;
    };
    expect(await view()).toMatchObject({ tradeState: 'SUCCESS', refundedFee: 0 });

    // The very same request through the server door (/admin, what a cloud function uses) is a
    // valid refund: the client door refused the sender, not the request.
    const server = await fetch(`${emulator.url}/admin`, { method: 'POST', body: form });
    expect(((await server.json()) as Answer).result_code).toBe('SUCCESS');
    expect(await view()).toMatchObject({ tradeState: 'REFUND', refundedFee: 100 });
  });

  test("callFunction through the door runs as wx_client with the caller's OPENID", async () => {
    const answer = await asClient('o-frank', {
      action: 'functions.invokeFunction',
      function_name: 'context-probe',
      request_data: JSON.stringify({ q: 1 }),
    });
    const result = JSON.parse((answer.data as { response_data: string }).response_data) as {
      wxContext: Answer;
      event: Answer;
    };
    expect(result.wxContext).toMatchObject({ OPENID: 'o-frank', SOURCE: 'wx_client' });
    expect(result.event).toMatchObject({ q: 1, userInfo: { openId: 'o-frank' } });
  });

  test('the server door keeps every action: a function-less SDK call runs as scf', async () => {
    const answer = await runWithSdk<{ result: { wxContext: Answer } }>(
      emulator.url,
      `return await cloud.callFunction({ name: 'context-probe', data: {} });`,
    );
    expect(answer.result.wxContext).toMatchObject({ SOURCE: 'scf' });
  });
});
