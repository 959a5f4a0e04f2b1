/**
 * The payments panel: every sandbox order (`GET /pay/orders`) with its state, the pay sheet's
 * decisions, the callback's state and every attempt, and a merchant-platform refund button.
 */
import { control } from './actions';
import { api, badge, details, el, empty, fen, h, time, type Json } from './dom';
import { recorded, t } from './lang';

const STATE_TONES: Record<string, string> = {
  SUCCESS: 'ok',
  NOTPAY: 'wait',
  CLOSED: 'muted',
  REFUND: 'info',
  PAYERROR: 'bad',
};

function attemptsTable(attempts: Json[]): HTMLElement {
  return h(
    'table',
    { class: 'attempts' },
    h(
      'thead',
      {},
      h('tr', {}, ...t().attemptColumns.map((label) => h('th', { scope: 'col' }, label))),
    ),
    h(
      'tbody',
      {},
      ...attempts.map((a) =>
        h(
          'tr',
          { 'data-role': 'attempt', 'data-outcome': String(a.outcome) },
          h('td', {}, String(a.attempt)),
          h('td', {}, String(a.trigger ?? '')),
          h('td', {}, time(a.time)),
          h('td', {}, a.fault ? String(a.fault) : ''),
          h(
            'td',
            {},
            badge(
              recorded(a.outcome),
              a.outcome === 'acknowledged' ? 'ok' : a.outcome === 'dropped' ? 'muted' : 'bad',
            ),
          ),
          h('td', { class: 'why' }, String(a.verdict ?? '')),
        ),
      ),
    ),
  );
}

function callbackBadge(callbacks: Json | undefined): HTMLElement {
  const s = t();
  if (!callbacks) return badge(s.noCallback, 'muted');
  if (callbacks.acknowledged) return badge(s.callbackAcknowledged, 'ok');
  if (callbacks.gaveUp) return badge(s.callbackGivenUp, 'bad');
  return badge(
    s.callbackPending(callbacks.nextAttemptAt ? time(callbacks.nextAttemptAt) : ''),
    'wait',
  );
}

function orderCard(order: Json): HTMLElement {
  const s = t();
  const state = String(order.tradeState);
  const callbacks = order.callbacks as Json | undefined;
  const attempts = (callbacks?.attempts as Json[] | undefined) ?? [];
  const decisions = (order.decisions as Json[] | undefined) ?? [];
  return h(
    'article',
    {
      class: 'order',
      'data-role': 'order',
      'data-trade-state': state,
      'data-out-trade-no': String(order.outTradeNo),
    },
    h(
      'header',
      { class: 'order__head' },
      h('strong', {}, String(order.outTradeNo)),
      badge(
        order.expired && state === 'NOTPAY' ? s.expired(state) : state,
        STATE_TONES[state] ?? 'info',
      ),
      callbackBadge(callbacks),
    ),
    h(
      'p',
      { class: 'order__meta' },
      s.orderMeta(
        fen(order.totalFee),
        String(order.body),
        String(order.openid),
        time(order.createdAt),
      ),
      order.paidAt ? s.paidAt(time(order.paidAt)) : '',
    ),
    decisions.length
      ? h(
          'p',
          { class: 'order__meta' },
          s.paySheet(
            decisions.map((d) => `${recorded(d.decision)} → ${String(d.result)}`).join(', '),
          ),
        )
      : null,
    state === 'SUCCESS' || state === 'REFUND' ? platformRefundButton(order) : null,
    attempts.length
      ? details(
          `attempts-${String(order.outTradeNo)}`,
          [s.callbackAttempts(String(callbacks?.functionName), attempts.length)],
          attemptsTable(attempts),
        )
      : null,
  );
}

export async function renderPayments(): Promise<void> {
  const { orders } = await api<{ orders: Json[] }>('GET', '/pay/orders');
  const box = el('payments');
  if (!orders.length) {
    box.replaceChildren(empty(t().noOrders));
    return;
  }
  const sorted = [...orders].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  box.replaceChildren(...sorted.map(orderCard));
}

/**
 * A refund made by hand on the merchant platform, outside the app (docs/pay.md, "WeChat Pay
 * disagreeing"): everything left to refund; only queryRefund knows of it (no function named).
 */
function platformRefundButton(order: Json): HTMLElement {
  const outTradeNo = String(order.outTradeNo);
  const button = h(
    'button',
    { type: 'button', class: 'small', 'data-role': 'platform-refund' },
    t().platformRefund,
  ) as HTMLButtonElement;
  button.addEventListener(
    'click',
    () =>
      void control(
        t().platformRefundOf(outTradeNo),
        () => api('POST', `/pay/orders/${encodeURIComponent(outTradeNo)}/refund`, {}),
        button,
      ),
  );
  return button;
}
