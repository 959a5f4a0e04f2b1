import { Clock } from '../../clock';
import type { DeliveryOutcome, DeliveryRequest } from '../callbacks';
import { PaySandbox, type OrderView } from '../sandbox';

/**
 * A PaySandbox for the emulator's unit tests, with an injected delivery and the emulated clock:
 * every retry, settle and schedule step is driven by clock.advance, so nothing waits in real time.
 */

export const MCH = '1900000109';
export const ENV = 'local-env';

export interface Harness {
  clock: Clock;
  sandbox: PaySandbox;
  delivered: DeliveryRequest[];
  /** What the callback function answers, per call (default: acknowledge). */
  reply: (req: DeliveryRequest, n: number) => DeliveryOutcome;
  events: { type: string; data: Record<string, unknown> }[];
}

export function harness(): Harness {
  // Emulated time is real time plus an offset; freezing real time leaves clock.advance as the
  // only thing that moves it, so "not yet at 4999 ms, delivered at 5000 ms" holds exactly.
  jest.spyOn(Date, 'now').mockReturnValue(Date.UTC(2024, 0, 1, 4, 0, 0));
  const clock = new Clock();
  const h: Harness = {
    clock,
    delivered: [],
    reply: () => ({ result: { errcode: 0, errmsg: 'OK' } }),
    events: [],
    sandbox: undefined as unknown as PaySandbox,
  };
  h.sandbox = new PaySandbox({
    clock,
    config: { appid: 'wx0000000000000000', mchId: MCH, envId: ENV },
    functions: () => ['paynotify', 'refundnotify'],
    deliver: async (req) => {
      h.delivered.push(req);
      return h.reply(req, h.delivered.length);
    },
    emit: (type, data) => h.events.push({ type, data }),
    defaultOpenid: 'o_local_user_0001',
    signKey: 'test-key',
  });
  return h;
}

/** Stops a harness's sandbox and clock and restores Date.now (call from afterEach). */
export function stopHarness(h: Harness | undefined): void {
  h?.sandbox.reset();
  h?.clock.stop();
  jest.restoreAllMocks();
}

export function order(h: Harness, outTradeNo: string, extra: Record<string, unknown> = {}): void {
  const answer = h.sandbox.call('unifiedOrder', {
    body: '解锁全文',
    out_trade_no: outTradeNo,
    total_fee: 1,
    spbill_create_ip: '127.0.0.1',
    sub_mch_id: MCH,
    env_id: ENV,
    function_name: 'paynotify',
    nonce_str: 'n0nce',
    ...extra,
  });
  expect(answer.result_code).toBe('SUCCESS');
}

export async function pay(h: Harness, outTradeNo: string): Promise<OrderView> {
  h.sandbox.decide(outTradeNo, 'confirm');
  await h.sandbox.idle();
  return h.sandbox.get(outTradeNo) as OrderView;
}

/** Advances the clock in steps (each step runs what became due, then waits for deliveries). */
export async function advance(h: Harness, ms: number): Promise<void> {
  await h.clock.advance(ms);
  await h.sandbox.idle();
}
