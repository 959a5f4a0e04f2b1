import type { Hono } from 'hono';
import { EmulatorError } from '../errors';
import { LOCAL_OPENID } from '../functions';
import type { ActionContext, EmulatorContext, EmulatorService } from '../service';
import {
  parseCallbackFaults,
  type CallbackFault,
  type CallbackStats,
  type DeliveryOutcome,
  type DeliveryRequest,
} from './callbacks';
import {
  parseQueryOrderRules,
  parseRefundOutcome,
  parseRefundRules,
  type PendingDisagreements,
} from './disagreements';
import { PayLedger } from './ledger';
import { PaySandbox, type Decision, type OrderView, type VerifyResult } from './sandbox';
import type { Wire } from './validate';

export type { CallbackFault, CallbackStats, OrderView, VerifyResult, Decision };
export { RETRY_DELAYS_MS } from './callbacks';

const DECISIONS: readonly Decision[] = ['confirm', 'cancel', 'fail'];

/**
 * The CloudPay sandbox as an emulator service: the SDK's `wx.wxPayApi` action, the control
 * routes under /emulator/v1/pay, the `pay` key of POST /emulator/v1/faults, and a JS API for the
 * mini-program side (`wx.requestPayment`). The behaviour lives in PaySandbox (sandbox.ts).
 */
export class PayService implements EmulatorService {
  readonly name = 'pay' as const;
  readonly actions = {
    'wx.wxPayApi': (body: Record<string, unknown>, actx: ActionContext) =>
      this.wxPayApi(body, actx),
  };
  readonly sandbox: PaySandbox;

  constructor(readonly ctx: EmulatorContext) {
    this.sandbox = new PaySandbox({
      clock: ctx.clock,
      config: {
        get appid() {
          return ctx.config.appid;
        },
        get mchId() {
          return ctx.config.mchId;
        },
        get envId() {
          return ctx.config.envId;
        },
        get envIds() {
          return ctx.config.envIds;
        },
      },
      functions: () => ctx.services.functions.list(),
      deliver: (request) => this.deliver(request),
      emit: (type, data) => ctx.events.emit(type, data),
      warn: (message) => this.warn(message),
      defaultOpenid: LOCAL_OPENID,
    });
    // advance returns only once the deliveries under way (e.g. the first attempt of a payment
    // decided just before) have been answered: README, "The control API" and the JS API.
    ctx.clock.onSettle(() => this.sandbox.idle());
  }

  /** Notifications go to the callback function as the platform calls it: SOURCE wx_paycallback. */
  private async deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
    return this.ctx.services.functions.invoke({
      name: request.functionName,
      data: request.event,
      source: 'wx_paycallback',
      openid: request.openid,
      appid: this.ctx.config.appid,
      // The callback runs in the env the order named (unifiedOrder's envId).
      envId: this.sandbox.get(request.outTradeNo)?.envId,
    });
  }

  /**
   * The user whose invocation made the call: CloudPay binds the order to the user the calling
   * function runs for. An instance serves one invocation at a time, so it is that instance's
   * latest invocation.
   */
  private callerOpenid(actx: ActionContext): string | undefined {
    if (!actx.instanceId) return undefined;
    const mine = this.ctx.services.functions
      .invocations()
      .filter((r) => r.instanceId === actx.instanceId);
    const record = mine.filter((r) => !r.returned).at(-1) ?? mine.at(-1);
    return record?.openid || undefined;
  }

  private async wxPayApi(body: Record<string, unknown>, actx: ActionContext): Promise<Wire> {
    const apiName = body.apiName;
    if (typeof apiName !== 'string' || !apiName) {
      throw new EmulatorError('INVALID_PARAM', 'wx.wxPayApi needs an apiName field');
    }
    const raw = body.requestData;
    const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      throw new EmulatorError('INVALID_PARAM', `cloudPay.${apiName}: requestData is not JSON`);
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `cloudPay.${apiName}: requestData must be a JSON object`,
      );
    }
    const openid = this.callerOpenid(actx);
    return this.sandbox.call(apiName, data as Wire, openid === undefined ? {} : { openid });
  }

  // ---- JS API (the mini-program side and tests) -------------------------------------------

  /** The order whose payment object carries `package: 'prepay_id=<prepayId>'`. */
  findByPrepayId(prepayId: string): OrderView | undefined {
    return this.sandbox.findByPrepayId(prepayId);
  }

  /** Checks a payment object as wx.requestPayment gets it (fields, known prepay id, paySign). */
  verifyPayment(payment: unknown): VerifyResult {
    return this.sandbox.verifyPayment(payment);
  }

  /**
   * The payer's decision on the pay sheet. Resolves once recorded; with `waitForCallback` only
   * after the first notification attempt (a real requestPayment success does not wait for it).
   */
  async decide(
    outTradeNo: string,
    decision: Decision,
    opts: { openid?: string; waitForCallback?: boolean } = {},
  ): Promise<OrderView> {
    const view = this.sandbox.decide(
      outTradeNo,
      decision,
      opts.openid === undefined ? {} : { openid: opts.openid },
    );
    if (!opts.waitForCallback) return view;
    await this.sandbox.idle();
    return this.sandbox.get(outTradeNo) as OrderView;
  }

  resend(outTradeNo: string): Promise<OrderView> {
    return this.sandbox.resend(outTradeNo);
  }

  getOrder(outTradeNo: string): OrderView | undefined {
    return this.sandbox.get(outTradeNo);
  }

  listOrders(): OrderView[] {
    return this.sandbox.list();
  }

  /** Appends callback fault rules (the same shape as the faults route's `pay.callbacks`). */
  injectCallbackFaults(faults: unknown): void {
    this.sandbox.callbacks.injectFaults(parseCallbackFaults(faults));
  }

  clearCallbackFaults(): void {
    this.sandbox.callbacks.clearFaults();
  }

  callbackStats(): CallbackStats {
    return this.sandbox.callbacks.stats();
  }

  /** Resolves once no callback delivery is running. */
  idle(): Promise<void> {
    return this.sandbox.idle();
  }

  /**
   * `POST /emulator/v1/faults` `{"pay": {"callbacks": [...], "queryOrder": [...], "refunds": [...],
   * "clear": true}}`: notification faults, and the ways WeChat Pay disagrees (disagreements.ts).
   * Everything is checked before anything changes.
   */
  applyFaults(spec: unknown): void {
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new EmulatorError(
        'INVALID_PARAM',
        'pay faults must be an object such as {"callbacks": [{"action": "drop", "count": 1}]}, {"queryOrder": [{"totalFee": 1}]}, {"refunds": [{"status": "REFUNDCLOSE"}]} or {"clear": true}',
      );
    }
    const s = spec as Record<string, unknown>;
    const known = ['callbacks', 'queryOrder', 'refunds', 'clear'];
    const unknown = Object.keys(s).filter((k) => !known.includes(k));
    if (unknown.length) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `pay faults: unknown key(s) ${unknown.join(', ')}; use ${known.map((k) => `"${k}"`).join(', ')}`,
      );
    }
    if (s.clear !== undefined && typeof s.clear !== 'boolean') {
      throw new EmulatorError('INVALID_PARAM', 'pay faults: "clear" must be true or false');
    }
    const faults = s.callbacks === undefined ? [] : parseCallbackFaults(s.callbacks);
    const queryOrder = s.queryOrder === undefined ? [] : parseQueryOrderRules(s.queryOrder);
    const refunds = s.refunds === undefined ? [] : parseRefundRules(s.refunds);
    if (s.clear) {
      this.clearCallbackFaults();
      this.sandbox.clearDisagreements();
    }
    this.sandbox.callbacks.injectFaults(faults);
    this.sandbox.disagree({ queryOrder, refunds });
    this.ctx.events.emit('pay.callback', {
      event: 'faults',
      pending: this.sandbox.callbacks.pendingFaults(),
      ...this.sandbox.pendingDisagreements(),
    });
  }

  /** The pending faults: notification rules and disagreement rules. */
  pendingFaults(): { callbacks: CallbackFault[] } & PendingDisagreements {
    return {
      callbacks: this.sandbox.callbacks.pendingFaults(),
      ...this.sandbox.pendingDisagreements(),
    };
  }

  /** `POST /pay/orders/{outTradeNo}/refund`: a refund made on the merchant platform. */
  private async refundOnPlatform(
    outTradeNo: string,
    opts: Record<string, unknown>,
  ): Promise<OrderView> {
    const known = ['refundFee', 'functionName', 'status', 'wait'];
    const unknown = Object.keys(opts).filter((k) => !known.includes(k));
    if (unknown.length) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `pay refund: unknown field(s) ${unknown.join(', ')}; known: ${known.join(', ')}`,
      );
    }
    if (opts.refundFee !== undefined && typeof opts.refundFee !== 'number') {
      throw new EmulatorError(
        'INVALID_PARAM',
        `pay refund: "refundFee" must be a number of fen, got ${JSON.stringify(opts.refundFee)}`,
      );
    }
    if (
      opts.functionName !== undefined &&
      (typeof opts.functionName !== 'string' || !opts.functionName)
    ) {
      throw new EmulatorError(
        'INVALID_PARAM',
        'pay refund: "functionName" must be a function name',
      );
    }
    const status =
      opts.status === undefined
        ? undefined
        : parseRefundOutcome(opts.status, 'pay refund: "status"');
    return this.sandbox.refundOnPlatform(outTradeNo, {
      ...(opts.refundFee === undefined ? {} : { refundFee: opts.refundFee as number }),
      ...(opts.functionName === undefined ? {} : { functionName: opts.functionName as string }),
      ...(status === undefined ? {} : { status }),
    });
  }

  routes(app: Hono): void {
    app.get('/pay/orders', (c) => c.json({ orders: this.sandbox.list() }));
    app.get('/pay/orders/:outTradeNo', (c) => {
      const outTradeNo = c.req.param('outTradeNo');
      const order = this.sandbox.get(outTradeNo);
      if (!order) {
        throw new EmulatorError(
          'ORDER_NOT_FOUND',
          `no sandbox order with outTradeNo "${outTradeNo}"`,
          404,
        );
      }
      return c.json({ order });
    });
    app.post('/pay/orders/:outTradeNo/:decision', async (c) => {
      const outTradeNo = c.req.param('outTradeNo');
      const action = c.req.param('decision');
      const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown> | null;
      const opts = body && typeof body === 'object' ? body : {};
      // Control calls wait for the first callback attempt by default, so a script or test that
      // confirms can read the outcome right away; {"wait": false} returns at once.
      const wait = opts.wait !== false;
      if (action === 'resend') {
        const order = await this.sandbox.resend(outTradeNo);
        return c.json({ order });
      }
      if (action === 'refund') {
        // "wait" is accepted and means nothing here: the refund settles later on the clock.
        return c.json({ order: await this.refundOnPlatform(outTradeNo, opts) });
      }
      if (!DECISIONS.includes(action as Decision)) {
        throw new EmulatorError(
          'NOT_FOUND',
          `no pay action "${action}"; use confirm, cancel, fail, resend or refund`,
          404,
        );
      }
      if (opts.openid !== undefined && typeof opts.openid !== 'string') {
        throw new EmulatorError('INVALID_PARAM', '"openid" must be a string');
      }
      const order = await this.decide(outTradeNo, action as Decision, {
        ...(typeof opts.openid === 'string' ? { openid: opts.openid } : {}),
        waitForCallback: wait,
      });
      return c.json({ order });
    });
    app.get('/pay/faults', (c) => c.json(this.pendingFaults()));
    app.get('/pay/stats', (c) => c.json({ callbacks: this.sandbox.callbacks.stats() }));
  }

  private warn(message: string): void {
    process.stderr.write(`wxcloud-emulator: ${message}\n`);
    this.ctx.events.emit('emulator.warning', { service: 'pay', message });
  }

  /**
   * Reopens the sandbox's journal (ledger.ts) unless --in-memory. It runs after the database
   * service, which holds the data dir's lock by then. The clock resumes from the emulated time
   * of the last journaled change, so nothing the sandbox recorded lies in the future.
   */
  async start(): Promise<void> {
    if (this.ctx.config.inMemory) return;
    const ledger = new PayLedger(this.ctx.config.dataDir, (message) => this.warn(message));
    const state = ledger.open(() => this.sandbox.ledgerState());
    if (state.clockAt !== undefined) this.ctx.clock.catchUp(state.clockAt);
    this.sandbox.restore(ledger, state);
  }

  storedRecords(): number {
    return this.sandbox.orderCount();
  }

  async reset(): Promise<void> {
    this.sandbox.reset();
  }

  async stop(): Promise<void> {
    const ledger = this.sandbox.detachLedger();
    this.sandbox.forget();
    await ledger?.close();
  }
}
