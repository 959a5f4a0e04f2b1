import crypto from 'node:crypto';
import type { ScheduledTask } from '../clock';
import { EmulatorError } from '../errors';
import { CallbackDispatcher } from './callbacks';
import { Disagreements } from './disagreements';
import type { PayLedger } from './ledger';
import { SP_APPID, SP_MCH_ID, type Order, type SandboxDeps } from './model';
import { nonce, signFields } from './sign';
import { PayFailure, requireString, type Wire } from './validate';

/**
 * The sandbox's state and the pieces every CloudPay call shares: the order book, the notification
 * dispatcher, signed answers in WeChat Pay's two shapes, and the merchant / callback-target checks.
 * The calls themselves live in orders.ts, refunds.ts and pay-sheet.ts.
 */
export class PayBook {
  readonly orders = new Map<string, Order>();
  readonly byPrepayId = new Map<string, Order>();
  readonly refundTasks = new Set<ScheduledTask>();
  readonly callbacks: CallbackDispatcher;
  /** Pending ways to disagree with the merchant (queryOrder facts, refund outcomes). */
  readonly disagreements = new Disagreements();
  /** Set from the pay journal at start when the key was not given (ledger.ts). */
  signKey: string;
  readonly spMchId: string;
  /** Where changes are journaled; none with --in-memory. */
  ledger: PayLedger | undefined;

  constructor(readonly deps: SandboxDeps) {
    this.signKey = deps.signKey ?? crypto.randomBytes(16).toString('hex');
    // The notification's mch_id is the service provider's, never the merchant's own id.
    this.spMchId = deps.config.mchId === SP_MCH_ID ? '1230000110' : SP_MCH_ID;
    this.callbacks = new CallbackDispatcher({
      clock: deps.clock,
      deliver: deps.deliver,
      // An attempt's outcome and the retry it scheduled are journaled with the order.
      onChange: (n) => {
        const order = this.orders.get(n.outTradeNo);
        if (order) this.saveQuietly(order);
      },
      onAttempt: (n, attempt) =>
        deps.emit('pay.callback', {
          kind: n.kind,
          outTradeNo: n.outTradeNo,
          ...(n.outRefundNo === undefined ? {} : { outRefundNo: n.outRefundNo }),
          functionName: n.functionName,
          ...attempt,
          acknowledged: n.acknowledged,
          ...(n.nextAttemptAt ? { nextAttemptAt: n.nextAttemptAt } : {}),
        }),
    });
  }

  // ---- persistence (ledger.ts) -------------------------------------------------------------

  /** Journals `order` as it is now; throws the journal's error (disk full) if it cannot. */
  save(order: Order): void {
    this.ledger?.save([order], { signKey: this.signKey, clockAt: this.now() });
  }

  /**
   * Runs `change` on `order` and journals the result before anyone is answered. If the journal
   * refuses (disk full), the order's fields are put back as they were and the caller gets the
   * error, so nothing was done that a restart would forget.
   */
  commit<T>(order: Order, change: () => T): T {
    const undo = snapshot(order);
    const result = change();
    try {
      this.save(order);
    } catch (err) {
      undo();
      throw err;
    }
    return result;
  }

  /** For changes nobody waits on (a clock task, a delivery): a failed journal write is reported. */
  saveQuietly(order: Order): void {
    try {
      this.save(order);
    } catch (err) {
      this.deps.warn?.(
        `the pay sandbox could not journal order "${order.outTradeNo}" (${(err as Error).message}); it is kept in memory and journaled with its next change`,
      );
    }
  }

  // ---- the SDK's wx.wxPayApi -------------------------------------------------------------

  now(): number {
    return this.deps.clock.now();
  }

  signed(answer: Wire): Wire {
    return { ...answer, sign: signFields(answer, this.signKey) };
  }

  common(subMchId: string): Wire {
    return {
      return_code: 'SUCCESS',
      return_msg: 'OK',
      appid: SP_APPID,
      mch_id: this.spMchId,
      sub_appid: this.deps.config.appid,
      sub_mch_id: subMchId,
      nonce_str: nonce(),
    };
  }

  success(subMchId: string, fields: Wire): Wire {
    return this.signed({ ...this.common(subMchId), result_code: 'SUCCESS', ...fields });
  }

  refused(subMchId: string, errCode: string, description: string): PayFailure {
    return new PayFailure(
      this.signed({
        ...this.common(subMchId),
        result_code: 'FAIL',
        err_code: errCode,
        err_code_des: description,
      }),
    );
  }

  /** sub_mch_id and nonce_str: every CloudPay call needs both. */
  merchant(data: Wire): string {
    const subMchId = requireString(
      data,
      'sub_mch_id',
      32,
      'the merchant id bound to the environment',
    );
    requireString(
      data,
      'nonce_str',
      32,
      'a random string of at most 32 characters (the SDK does not add one)',
    );
    if (subMchId !== this.deps.config.mchId) {
      throw this.refused(
        subMchId,
        'NOAUTH',
        `商户未授权: sub_mch_id (subMchId) "${subMchId}" is not bound to this environment; the sandbox merchant is "${this.deps.config.mchId}" (set with --mch-id)`,
      );
    }
    return subMchId;
  }

  callbackTarget(
    data: Wire,
    subMchId: string,
    what: string,
  ): { envId: string; functionName: string } {
    const envId = requireString(data, 'env_id', 64, `the environment of the ${what} function`);
    const functionName = requireString(data, 'function_name', 64, `the ${what} function`);
    const hosted = this.deps.config.envIds ?? [this.deps.config.envId];
    if (!hosted.includes(envId)) {
      throw this.refused(
        subMchId,
        'PARAM_ERROR',
        `env_id (envId) "${envId}" is not this environment ("${hosted.join('", "')}"), more can be hosted with --env-id a,b; the real platform accepts the order and the ${what} never arrives (a short env alias instead of the full env id is the usual cause)`,
      );
    }
    const functions = this.deps.functions();
    if (!functions.includes(functionName)) {
      throw this.refused(
        subMchId,
        'PARAM_ERROR',
        `function_name (functionName) "${functionName}" is not a function of this environment (functions: ${functions.join(', ') || 'none'}); the real platform accepts the order and the ${what} is lost`,
      );
    }
    return { envId, functionName };
  }

  mustFind(outTradeNo: string): Order {
    const order = this.orders.get(outTradeNo);
    if (!order) {
      throw new EmulatorError(
        'ORDER_NOT_FOUND',
        `no sandbox order with outTradeNo "${outTradeNo}"`,
        404,
      );
    }
    return order;
  }

  orderEvent(order: Order, event: string): void {
    this.deps.emit('pay.order', {
      event,
      outTradeNo: order.outTradeNo,
      tradeState: order.state,
      totalFee: order.totalFee,
      openid: order.openid,
      ...(order.transactionId ? { transactionId: order.transactionId } : {}),
    });
  }
}

/** A way back to the order as it is now: its own fields and its refunds' (changes are shallow). */
function snapshot(order: Order): () => void {
  const top = { ...order, decisions: [...order.decisions], refunds: [...order.refunds] };
  const refunds = order.refunds.map((r) => ({ refund: r, fields: { ...r } }));
  const restore = <T extends object>(target: T, fields: T): void => {
    // Fields the change added (paidAt, a notification...) go; Reflect, as the keys are dynamic.
    for (const key of Object.keys(target))
      if (!(key in fields)) Reflect.deleteProperty(target, key);
    Object.assign(target, fields);
  };
  return () => {
    restore(order, top);
    for (const { refund, fields } of refunds) restore(refund, fields);
  };
}
