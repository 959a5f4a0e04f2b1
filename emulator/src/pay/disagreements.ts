import { EmulatorError } from '../errors';
import type { RefundStatus } from './model';

/**
 * Ways the sandbox can disagree with the merchant's records, as WeChat Pay sometimes does (in the
 * spirit of Stripe's test cards): queryOrder reporting other facts than the order's, or not
 * knowing the order at all; refunds that end REFUNDCLOSE or CHANGE instead of SUCCESS, or stay
 * PROCESSING. Rules work like the callback faults: each matching call takes the first pending rule
 * that matches it (by outTradeNo when given) and decrements its count; at 0 the rule is gone.
 *
 * Field values are WeChat Pay v2's (pay.weixin.qq.com/wiki/doc/api/jsapi_sl.php): queryOrder's
 * `err_code` ORDERNOTEXIST (此交易订单号不存在, chapter 9_2); queryRefund's `refund_status_$n`
 * SUCCESS / REFUNDCLOSE (退款关闭) / PROCESSING (退款处理中) / CHANGE (退款异常, chapter 9_5), the
 * same values in the refund notification's `refund_status` (chapter 9_16).
 */

/** What a disagreeing queryOrder reports instead of the order's own facts. */
export interface QueryOrderRule {
  count: number;
  outTradeNo?: string;
  /** Answer ORDERNOTEXIST: WeChat Pay never saw this order. */
  notExist?: boolean;
  /** Reported as total_fee and cash_fee. */
  totalFee?: number;
  /** Reported as sub_mch_id. */
  subMchId?: string;
  /** Reported as transaction_id; an empty string leaves the field out. */
  transactionId?: string;
}

/** How a refund ends when its settle time comes (instead of SUCCESS). */
export interface RefundRule {
  count: number;
  outTradeNo?: string;
  status: RefundOutcome;
}

/** A refund's final status; PROCESSING here means it never settles. */
export type RefundOutcome = RefundStatus;
export const REFUND_OUTCOMES: readonly RefundOutcome[] = [
  'SUCCESS',
  'REFUNDCLOSE',
  'CHANGE',
  'PROCESSING',
];

export interface PendingDisagreements {
  queryOrder: QueryOrderRule[];
  refunds: RefundRule[];
}

const invalid = (message: string): EmulatorError => new EmulatorError('INVALID_PARAM', message);

function object(raw: unknown, where: string, example: string): Record<string, unknown> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalid(`${where} must be an object such as ${example}`);
  }
  return raw as Record<string, unknown>;
}

function common(
  r: Record<string, unknown>,
  where: string,
  known: string[],
): { count: number; outTradeNo?: string } {
  const unknown = Object.keys(r).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw invalid(
      `${where} has unknown field(s) ${unknown.join(', ')}; known: ${known.join(', ')}`,
    );
  }
  const count = r.count ?? 1;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000) {
    throw invalid(
      `${where}.count must be an integer from 1 to 1000, got ${JSON.stringify(r.count)}`,
    );
  }
  if (r.outTradeNo !== undefined && (typeof r.outTradeNo !== 'string' || !r.outTradeNo)) {
    throw invalid(`${where}.outTradeNo must be a non-empty string`);
  }
  return { count, ...(r.outTradeNo === undefined ? {} : { outTradeNo: r.outTradeNo as string }) };
}

/** `pay.queryOrder` of the faults route: `[{"totalFee": 1}, {"notExist": true, "count": 2}]`. */
export function parseQueryOrderRules(input: unknown): QueryOrderRule[] {
  if (!Array.isArray(input)) {
    throw invalid('pay faults: "queryOrder" must be an array such as [{"totalFee": 1}]');
  }
  return input.map((raw, i) => {
    const where = `pay faults: queryOrder[${i}]`;
    const r = object(raw, where, '{"totalFee": 1} or {"notExist": true}');
    const rule: QueryOrderRule = common(r, where, [
      'count',
      'outTradeNo',
      'notExist',
      'totalFee',
      'subMchId',
      'transactionId',
    ]);
    if (r.notExist !== undefined) {
      if (r.notExist !== true) throw invalid(`${where}.notExist must be true when given`);
      if (r.totalFee !== undefined || r.subMchId !== undefined || r.transactionId !== undefined) {
        throw invalid(`${where}: notExist reports no order, so it takes no reported facts`);
      }
      return { ...rule, notExist: true };
    }
    if (r.totalFee !== undefined) {
      if (typeof r.totalFee !== 'number' || !Number.isInteger(r.totalFee) || r.totalFee < 1) {
        throw invalid(
          `${where}.totalFee must be a positive integer number of fen, got ${JSON.stringify(r.totalFee)}`,
        );
      }
      rule.totalFee = r.totalFee;
    }
    for (const field of ['subMchId', 'transactionId'] as const) {
      if (r[field] === undefined) continue;
      if (typeof r[field] !== 'string') {
        throw invalid(`${where}.${field} must be a string, got ${JSON.stringify(r[field])}`);
      }
      rule[field] = r[field] as string;
    }
    if (rule.totalFee === undefined && rule.subMchId === undefined && !('transactionId' in rule)) {
      throw invalid(
        `${where} changes nothing: give notExist, totalFee, subMchId and/or transactionId`,
      );
    }
    return rule;
  });
}

/** `pay.refunds` of the faults route: `[{"status": "REFUNDCLOSE", "outTradeNo": "..."}]`. */
export function parseRefundRules(input: unknown): RefundRule[] {
  if (!Array.isArray(input)) {
    throw invalid('pay faults: "refunds" must be an array such as [{"status": "REFUNDCLOSE"}]');
  }
  return input.map((raw, i) => {
    const where = `pay faults: refunds[${i}]`;
    const r = object(raw, where, '{"status": "REFUNDCLOSE"}');
    const rule = common(r, where, ['count', 'outTradeNo', 'status']);
    return { ...rule, status: parseRefundOutcome(r.status, `${where}.status`) };
  });
}

export function parseRefundOutcome(value: unknown, where: string): RefundOutcome {
  if (!REFUND_OUTCOMES.includes(value as RefundOutcome)) {
    throw invalid(
      `${where} must be one of ${REFUND_OUTCOMES.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as RefundOutcome;
}

/** The pending rules; one per sandbox. */
export class Disagreements {
  private queryOrder: QueryOrderRule[] = [];
  private refunds: RefundRule[] = [];

  add(rules: { queryOrder?: QueryOrderRule[]; refunds?: RefundRule[] }): void {
    this.queryOrder.push(...(rules.queryOrder ?? []).map((r) => ({ ...r })));
    this.refunds.push(...(rules.refunds ?? []).map((r) => ({ ...r })));
  }

  /** The rule this queryOrder of `outTradeNo` takes, if any. */
  takeQueryOrder(outTradeNo: string): QueryOrderRule | undefined {
    return take(this.queryOrder, outTradeNo);
  }

  /** The rule a refund of `outTradeNo` takes when it is requested, if any. */
  takeRefund(outTradeNo: string): RefundRule | undefined {
    return take(this.refunds, outTradeNo);
  }

  pending(): PendingDisagreements {
    return {
      queryOrder: this.queryOrder.map((r) => ({ ...r })),
      refunds: this.refunds.map((r) => ({ ...r })),
    };
  }

  clear(): void {
    this.queryOrder = [];
    this.refunds = [];
  }
}

function take<R extends { count: number; outTradeNo?: string }>(
  rules: R[],
  outTradeNo: string,
): R | undefined {
  const i = rules.findIndex((r) => r.outTradeNo === undefined || r.outTradeNo === outTradeNo);
  if (i < 0) return undefined;
  const rule = rules[i] as R;
  rule.count--;
  if (rule.count <= 0) rules.splice(i, 1);
  return rule;
}
