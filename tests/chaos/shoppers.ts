import { createWx, type RunningEmulator } from '../../emulator/src';
import type { Decision, Shopper } from './engine';

/**
 * Simulated users for the chaos run: each one a `createWx` mini-program client acting as that
 * user (callFunction as wx_client, requestPayment through the sandbox's pay sheet), the same
 * client pages use. A user does one thing at a time, so the next decision is a plain field.
 */
export function createWxShoppers(emu: RunningEmulator): (openid: string) => Shopper {
  return (openid) => {
    let next: Decision = 'cancel';
    const wx = createWx({ url: emu.url, openid, decide: () => next });
    return {
      openid,
      async callFunction(name, data) {
        try {
          const res = (await wx.cloud.callFunction({
            name,
            data: data as Record<string, unknown>,
          })) as {
            result: Record<string, unknown>;
          };
          return res.result;
        } catch (err) {
          // The platform failed the call (e.g. an injected timeout): what a page would see.
          const e = err as { errCode?: number; errMsg?: string };
          return { errcode: e.errCode ?? -1, errmsg: e.errMsg ?? String(err) };
        }
      },
      async requestPayment(payment, decision) {
        next = decision;
        try {
          const res = (await wx.requestPayment(
            payment as Parameters<typeof wx.requestPayment>[0],
          )) as { errMsg: string };
          return res.errMsg;
        } catch (err) {
          return (err as { errMsg?: string }).errMsg ?? String(err);
        }
      },
    };
  };
}
