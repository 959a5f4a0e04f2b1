import { loadConfig } from '../../../server/config';
import {
  ACK,
  createOrder,
  handlePaymentCallback,
  type PaymentDeps,
} from '../../../server/payments';
import { newTradeNo } from '../../../server/trade-no';
import { FakeCloudPay } from './fake-pay';
import { MemoryLedger } from './memory-ledger';

/** The payment flows wired to an in-memory ledger, the fake WeChat Pay and a hand-moved clock. */

export const ALICE = { openid: 'o_alice', clientIp: '10.1.2.3', source: 'wx_client' };
export const BOB = { openid: 'o_bob', clientIp: '10.1.2.4', source: 'wx_client' };
export const WECHAT = { openid: '', source: 'wx_paycallback' };
export const ADMIN = { openid: 'o_admin', source: 'wx_client' };

export function setup() {
  let now = Date.UTC(2026, 10, 27, 4, 0, 0);
  const ledger = new MemoryLedger();
  const pay = new FakeCloudPay(() => now);
  let nonce = 0;
  const deps: PaymentDeps = {
    ledger,
    pay,
    config: { ...loadConfig({}, {}, false), adminOpenids: ['o_admin'] },
    now: () => now,
    nonceStr: () => `nonce${++nonce}`,
    newTradeNo,
  };
  return {
    deps,
    ledger,
    pay,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

export async function paidOrder(t: ReturnType<typeof setup>) {
  const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
  if (!('tradeno' in reply)) throw new Error(`no order: ${JSON.stringify(reply)}`);
  t.pay.pay(reply.tradeno);
  expect(await handlePaymentCallback(t.deps, WECHAT, t.pay.callbackEvent(reply.tradeno))).toEqual(
    ACK,
  );
  return reply;
}
