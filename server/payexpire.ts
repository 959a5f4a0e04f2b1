import { closeAtWeChat, reconcile, type PaymentDeps } from './order-events';

export interface ExpireReport {
  checked: number;
  paid: number;
  closed: number;
  failed: number;
  /** Not yet closable (WeChat's 5-minute rule) or WeChat Pay unreachable: tried again next run. */
  deferred: number;
}

/** Ends unpaid orders past their lifetime: a payment that landed without a callback is honoured. */
export async function expireOrders(deps: PaymentDeps, limit = 100): Promise<ExpireReport> {
  const report: ExpireReport = { checked: 0, paid: 0, closed: 0, failed: 0, deferred: 0 };
  const expired = await deps.ledger.listExpiredPending(deps.now(), limit);
  for (const order of expired) {
    report.checked++;
    try {
      const state = await reconcile(deps, order, 'expire');
      if (state === 'SUCCESS' || state === 'REFUND') report.paid++;
      else if (state === 'ORDERNOTEXIST') report.failed++;
      else if (state === 'CLOSED' || state === 'REVOKED') report.closed++;
      else if (await closeAtWeChat(deps, order, 'expire')) report.closed++;
      else report.deferred++;
    } catch {
      report.deferred++;
    }
  }
  return report;
}
