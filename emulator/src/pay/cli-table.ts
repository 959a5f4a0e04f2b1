import type { CallbacksView, OrderView } from './model';

/**
 * `pay list` and `pay status` for a person at a terminal: one row per payment, or one payment's
 * story, instead of the control API's JSON (`--json` prints that). Emulator wording throughout.
 */

const yuan = (fen: number): string => `¥${(fen / 100).toFixed(2)}`;

/** ISO time as "2026-12-01 16:20:01Z" (the control API's times are UTC). */
const when = (iso: string | undefined): string =>
  iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : '-';

function callbackSummary(callbacks: CallbacksView | undefined): string {
  if (!callbacks) return '-';
  const n = callbacks.attempts.length;
  const attempts = `${n} attempt${n === 1 ? '' : 's'}`;
  if (callbacks.acknowledged) return `acknowledged (${attempts})`;
  if (callbacks.gaveUp) return `gave up (${attempts})`;
  if (callbacks.lost) return `lost (${attempts})`;
  return `pending (${attempts}${callbacks.nextAttemptAt ? `, next ${when(callbacks.nextAttemptAt)}` : ''})`;
}

function amount(order: OrderView): string {
  return order.refundedFee > 0
    ? `${yuan(order.totalFee)} (refunded ${yuan(order.refundedFee)})`
    : yuan(order.totalFee);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatOrderList(orders: OrderView[]): string {
  if (orders.length === 0) return 'no orders yet';
  const rows = orders.map((o) => [
    o.outTradeNo,
    o.expired ? `${o.tradeState} (expired)` : o.tradeState,
    amount(o),
    o.openid,
    callbackSummary(o.callbacks),
    when(o.createdAt),
  ]);
  return `${table(['OUT TRADE NO', 'STATE', 'AMOUNT', 'OPENID', 'CALLBACK', 'CREATED'], rows)}\n${orders.length} order${orders.length === 1 ? '' : 's'}`;
}

export function formatOrder(order: OrderView): string {
  const lines = [
    `${order.outTradeNo}  ${order.tradeState}${order.expired ? ' (expired)' : ''}  ${amount(order)}  ${order.body}`,
    `  payer ${order.openid}, callback function ${order.functionName}, env ${order.envId}`,
    `  created ${when(order.createdAt)}, expires ${when(order.expiresAt)}${order.paidAt ? `, paid ${when(order.paidAt)}` : ''}`,
  ];
  const attempts = order.callbacks?.attempts ?? [];
  lines.push(`  payment callback: ${callbackSummary(order.callbacks)}`);
  for (const a of attempts) {
    lines.push(
      `    #${a.attempt} ${when(a.time)} ${a.trigger}${a.fault ? ` fault=${a.fault}` : ''} → ${a.outcome}`,
    );
  }
  for (const r of order.refunds) {
    lines.push(
      `  refund ${r.outRefundNo} ${yuan(r.refundFee)} ${r.status}, callback: ${callbackSummary(r.callbacks)}`,
    );
  }
  return lines.join('\n');
}
