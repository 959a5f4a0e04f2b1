import type { QueryOrderResult, TradeState } from '../../../server/cloudpay';
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

// Helpers for the payment-edge tests: the order as recorded, WeChat Pay's side moving on its own.

export type World = ReturnType<typeof setup>;

export async function openOrder(t: World) {
  const reply = await createOrder(t.deps, ALICE, { itemId: 'demo-unlock' });
  if (!('tradeno' in reply)) throw new Error(`no order: ${JSON.stringify(reply)}`);
  return reply;
}

export function recorded(t: World, tradeno: string) {
  const order = t.ledger.orders.get(tradeno);
  if (!order) throw new Error(`no order ${tradeno}`);
  return order;
}

/** WeChat Pay's side of the order moves on its own (the user in the pay sheet, a reversal). */
export function wechatState(t: World, tradeno: string, state: TradeState) {
  const order = t.pay.orders.get(tradeno);
  if (!order) throw new Error(`WeChat Pay has no ${tradeno}`);
  order.state = state;
  if (state === 'SUCCESS' || state === 'REFUND') order.transactionId = `42000${tradeno}`;
}

/** The next queryOrder answers FAIL with WeChat Pay's description. */
export function queryOrderFails(t: World, errCodeDes: string) {
  const answer: QueryOrderResult = {
    errCode: 0,
    errMsg: 'ok',
    returnCode: 'SUCCESS',
    resultCode: 'FAIL',
    errCodeDes,
  };
  jest.spyOn(t.pay, 'queryOrder').mockResolvedValueOnce(answer);
}
