/**
 * The emulator console: plain DOM over the control API only (/emulator/v1/...). The events stream
 * says when something changed; each panel then re-reads its inspection route, so what is shown is
 * always the emulator's own record, never a copy rebuilt from events. Rule denials exist only as
 * events, so that panel is built from the stream (the server keeps the last 5000 events and
 * replays them to a new connection).
 */

import { chooseEnv, chosenEnv, withEnv } from './env-choice';
import { recordStorageDenial, renderStorage } from './storage-panel';

type Json = Record<string, unknown>;
type Child = Node | string | null | undefined | false;

/** Builds an element; text goes in as text, never as HTML. */
function h(tag: string, attrs: Record<string, string | undefined> = {}, ...children: Child[]) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

function el(role: string): HTMLElement {
  const found = document.querySelector<HTMLElement>(`[data-role="${role}"]`);
  if (!found) throw new Error(`console: no [data-role="${role}"]`);
  return found;
}

async function api<T = Json>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  const response = await fetch(`/emulator/v1${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T & { error?: { message?: string } };
  if (!response.ok)
    throw new Error(json.error?.message ?? `${method} ${route}: ${response.status}`);
  return json;
}

const pretty = (value: unknown): string => JSON.stringify(value, null, 2) ?? String(value);
const short = (value: unknown): string => {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};
const time = (iso: unknown): string =>
  typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
const fen = (n: unknown): string => (typeof n === 'number' ? `¥${(n / 100).toFixed(2)}` : '?');
const badge = (text: string, tone: string): HTMLElement =>
  h('span', { class: `badge badge--${tone}` }, text);
const empty = (text: string): HTMLElement => h('p', { class: 'empty' }, text);

/** Keeps a <details> open across re-renders, keyed by what it shows. */
const openDetails = new Set<string>();
function details(key: string, summary: Child[], ...body: Child[]): HTMLElement {
  const node = h(
    'details',
    { 'data-key': key },
    h('summary', {}, ...summary),
    ...body,
  ) as HTMLDetailsElement;
  node.open = openDetails.has(key);
  node.addEventListener('toggle', () => {
    if (node.open) openDetails.add(key);
    else openDetails.delete(key);
  });
  return node;
}

// ---- status and clock -------------------------------------------------------------------------

async function renderHealth(): Promise<void> {
  const health = await api<{
    envId: string;
    envIds: string[];
    appid: string;
    mchId: string;
    clock: { now: string; offsetMs: number };
  }>('GET', '/health');
  el('env').replaceChildren(
    'env ',
    envSelect(health.envId, health.envIds),
    ` · appid ${health.appid} · 商户号 ${health.mchId}`,
  );
  clockReading = {
    emulated: Date.parse(health.clock.now),
    at: Date.now(),
    offset: health.clock.offsetMs,
  };
  showClock();
  const pending = await api<{ callbacks: { action: string; count: number }[] }>(
    'GET',
    '/pay/faults',
  );
  el('faults').textContent = pending.callbacks.length
    ? pending.callbacks.map((f) => `${f.action} ×${f.count}`).join(', ')
    : 'none pending';
}

/**
 * The env the data panels show: the default env's id alone, or, when the emulator hosts several,
 * a select that switches collections, documents, files and invocations to another env.
 */
function envSelect(defaultEnv: string, envIds: string[]): Node {
  if (envIds.length < 2) return document.createTextNode(defaultEnv);
  const select = h(
    'select',
    { 'data-role': 'env-select', 'aria-label': 'env shown' },
    ...envIds.map((id) => h('option', { value: id === defaultEnv ? '' : id }, id)),
  ) as HTMLSelectElement;
  select.value = chosenEnv();
  select.addEventListener('change', () => {
    chooseEnv(select.value);
    selected = undefined;
    refresh('invocations', 'collections', 'storage');
  });
  return select;
}

/**
 * The emulated clock keeps moving with real time between reads (emulated = real + an offset that
 * changes only on advance), so the label ticks every second from the last reading.
 */
let clockReading: { emulated: number; at: number; offset: number } | undefined;
function showClock(): void {
  if (!clockReading) return;
  const now = new Date(clockReading.emulated + (Date.now() - clockReading.at)).toISOString();
  const { offset } = clockReading;
  el('clock').textContent =
    `${time(now.replace(/\.\d+Z$/, 'Z'))}${offset ? ` (+${formatMs(offset)})` : ' (real time)'}`;
}
setInterval(showClock, 1000);

function formatMs(ms: number): string {
  if (ms < 60e3) return `${Math.round(ms / 1000)} s`;
  if (ms < 3600e3) return `${Math.round(ms / 60e3)} min`;
  if (ms < 86400e3) return `${(ms / 3600e3).toFixed(1)} h`;
  return `${(ms / 86400e3).toFixed(1)} d`;
}

// ---- payments ---------------------------------------------------------------------------------

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
      h(
        'tr',
        {},
        ...['#', 'Trigger', 'Time (emulated)', 'Fault', 'Outcome', 'Why'].map((t) =>
          h('th', { scope: 'col' }, t),
        ),
      ),
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
              String(a.outcome),
              a.outcome === 'acknowledged' ? 'ok' : a.outcome === 'dropped' ? 'muted' : 'bad',
            ),
          ),
          h('td', { class: 'why' }, String(a.verdict ?? '')),
        ),
      ),
    ),
  );
}

async function renderPayments(): Promise<void> {
  const { orders } = await api<{ orders: Json[] }>('GET', '/pay/orders');
  const box = el('payments');
  if (!orders.length) {
    box.replaceChildren(empty('No orders yet.'));
    return;
  }
  const sorted = [...orders].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
  box.replaceChildren(
    ...sorted.map((order) => {
      const state = String(order.tradeState);
      const callbacks = order.callbacks as Json | undefined;
      const attempts = (callbacks?.attempts as Json[] | undefined) ?? [];
      const decisions = (order.decisions as Json[] | undefined) ?? [];
      const callbackState = !callbacks
        ? badge('no callback', 'muted')
        : callbacks.acknowledged
          ? badge('callback acknowledged', 'ok')
          : callbacks.gaveUp
            ? badge('callback given up', 'bad')
            : badge(
                `callback pending${callbacks.nextAttemptAt ? ` (next ${time(callbacks.nextAttemptAt)})` : ''}`,
                'wait',
              );
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
            order.expired && state === 'NOTPAY' ? 'NOTPAY (expired)' : state,
            STATE_TONES[state] ?? 'info',
          ),
          callbackState,
        ),
        h(
          'p',
          { class: 'order__meta' },
          `${fen(order.totalFee)} · ${String(order.body)} · payer ${String(order.openid)} · created ${time(order.createdAt)}`,
          order.paidAt ? ` · paid ${time(order.paidAt)}` : '',
        ),
        decisions.length
          ? h(
              'p',
              { class: 'order__meta' },
              `Pay sheet: ${decisions.map((d) => `${String(d.decision)} → ${String(d.result)}`).join(', ')}`,
            )
          : null,
        state === 'SUCCESS' || state === 'REFUND' ? platformRefundButton(order) : null,
        attempts.length
          ? details(
              `attempts-${String(order.outTradeNo)}`,
              [`Callback attempts to ${String(callbacks?.functionName)} (${attempts.length})`],
              attemptsTable(attempts),
            )
          : null,
      );
    }),
  );
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
    'Refund on merchant platform',
  ) as HTMLButtonElement;
  button.addEventListener(
    'click',
    () =>
      void control(
        `Merchant-platform refund of ${outTradeNo}`,
        () => api('POST', `/pay/orders/${encodeURIComponent(outTradeNo)}/refund`, {}),
        button,
      ),
  );
  return button;
}

// ---- invocations ------------------------------------------------------------------------------

/** The invocations filter: one function and/or one source ('' = all). */
const invocationFilter = { name: '', source: '' };

const isOk = (inv: Json): boolean =>
  inv.outcome === 'ok' || inv.outcome === 'returned' || inv.outcome === 'success';

function invocationRow(inv: Json): HTMLElement {
  const logs = (inv.logs as Json[] | undefined) ?? [];
  const warnings = (inv.warnings as string[] | undefined) ?? [];
  return h(
    'li',
    { 'data-role': 'invocation', 'data-name': String(inv.name) },
    details(
      String(inv.invocationId),
      [
        h('strong', {}, String(inv.name)),
        ' ',
        badge(String(inv.outcome), isOk(inv) ? 'ok' : 'bad'),
        ' ',
        badge(inv.coldStart ? 'cold' : 'warm', inv.coldStart ? 'info' : 'muted'),
        ` ${Number(inv.durationMs).toFixed(0)} ms · ${String(inv.source)} · ${String(inv.openid) || '—'} · ${time(inv.startedAt)}`,
      ],
      h('h4', {}, 'Event'),
      h('pre', {}, pretty(inv.event)),
      h('h4', {}, inv.error ? 'Error' : 'Result'),
      h('pre', {}, pretty(inv.error ?? inv.result)),
      logs.length ? h('h4', {}, 'Logs') : null,
      logs.length
        ? h('pre', {}, logs.map((l) => `[${String(l.level)}] ${String(l.message)}`).join('\n'))
        : null,
      warnings.length ? h('h4', {}, 'Warnings') : null,
      warnings.length ? h('pre', {}, warnings.join('\n')) : null,
    ),
  );
}

/**
 * Runs of the same function from the same source, newest first: three or more in a row (a timer
 * after "advance 1 day") collapse into one row, "payexpire ×288 · wx_trigger · all ok", that
 * opens onto its runs, so they do not bury everything else.
 */
const COLLAPSE_AT = 3;
function groupRuns(invocations: Json[]): Json[][] {
  const groups: Json[][] = [];
  for (const inv of invocations) {
    const last = groups[groups.length - 1];
    if (last && last[0].name === inv.name && last[0].source === inv.source) last.push(inv);
    else groups.push([inv]);
  }
  return groups;
}

function groupRow(runs: Json[]): HTMLElement {
  const failed = runs.filter((inv) => !isOk(inv)).length;
  const first = runs[runs.length - 1];
  const last = runs[0];
  return h(
    'li',
    {
      'data-role': 'invocation-group',
      'data-name': String(last.name),
      'data-count': String(runs.length),
    },
    details(
      `group:${String(last.invocationId)}`,
      [
        h('strong', {}, `${String(last.name)} ×${runs.length}`),
        ' ',
        badge(failed ? `${failed} failed` : 'all ok', failed ? 'bad' : 'ok'),
        ` · ${String(last.source)} · ${time(first.startedAt)} – ${time(last.startedAt)}`,
      ],
      h('ul', { class: 'list' }, ...runs.slice(0, 20).map(invocationRow)),
      runs.length > 20 ? h('p', { class: 'empty' }, `…and ${runs.length - 20} earlier runs`) : null,
    ),
  );
}

function filterSelect(role: string, label: string, values: string[], current: string) {
  const select = h(
    'select',
    { 'data-role': role, 'aria-label': label },
    h('option', { value: '' }, `all ${label}s`),
    ...values.map((v) => h('option', { value: v }, v)),
  ) as HTMLSelectElement;
  select.value = current;
  return select;
}

async function renderInvocations(): Promise<void> {
  const { invocations } = await api<{ invocations: Json[] }>(
    'GET',
    withEnv('/functions/invocations'),
  );
  const box = el('invocations');
  if (!invocations.length) {
    box.replaceChildren(empty('No invocations yet.'));
    return;
  }
  const distinct = (key: string): string[] =>
    [...new Set(invocations.map((inv) => String(inv[key])))].sort();
  const byName = filterSelect(
    'invocation-filter-name',
    'function',
    distinct('name'),
    invocationFilter.name,
  );
  const bySource = filterSelect(
    'invocation-filter-source',
    'source',
    distinct('source'),
    invocationFilter.source,
  );
  for (const [select, key] of [
    [byName, 'name'],
    [bySource, 'source'],
  ] as const) {
    select.addEventListener('change', () => {
      invocationFilter[key] = select.value;
      void renderInvocations();
    });
  }
  const shown = invocations
    .filter(
      (inv) =>
        (!invocationFilter.name || inv.name === invocationFilter.name) &&
        (!invocationFilter.source || inv.source === invocationFilter.source),
    )
    .reverse();
  const groups = groupRuns(shown).slice(0, 50);
  box.replaceChildren(
    h('div', { class: 'filters' }, byName, bySource),
    h(
      'ul',
      { class: 'list' },
      ...groups.flatMap((runs) =>
        runs.length >= COLLAPSE_AT ? [groupRow(runs)] : runs.map(invocationRow),
      ),
    ),
  );
}

// ---- collections ------------------------------------------------------------------------------

let selected: string | undefined;

async function renderCollections(): Promise<void> {
  const { collections } = await api<{
    collections: { name: string; count: number; permission: string }[];
  }>('GET', withEnv('/collections'));
  if (!selected || !collections.some((c) => c.name === selected)) selected = collections[0]?.name;
  el('collections').replaceChildren(
    ...collections.map((c) => {
      const button = h(
        'button',
        { type: 'button', 'aria-pressed': String(c.name === selected), 'data-collection': c.name },
        `${c.name} `,
        h('span', { class: 'count' }, String(c.count)),
        ' ',
        // What a mini-program meets: a basic permission or CUSTOM security rules.
        h('span', { class: 'permission', title: 'client permission' }, c.permission),
      );
      button.addEventListener('click', () => {
        selected = c.name;
        void renderCollections();
      });
      return button;
    }),
  );
  await renderDocuments();
}

async function renderDocuments(): Promise<void> {
  const box = el('documents');
  if (!selected) {
    box.replaceChildren(empty('No collections.'));
    return;
  }
  const { documents } = await api<{ documents: Json[] }>(
    'GET',
    withEnv(`/collections/${encodeURIComponent(selected)}/documents`),
  );
  if (!documents.length) {
    box.replaceChildren(empty(`${selected} is empty.`));
    return;
  }
  const keys: string[] = [];
  for (const doc of documents)
    for (const key of Object.keys(doc)) if (!keys.includes(key)) keys.push(key);
  const shown = keys.slice(0, 9);
  box.replaceChildren(
    h(
      'div',
      { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `${selected} documents` },
      h(
        'table',
        { class: 'docs', 'data-collection': selected },
        h('thead', {}, h('tr', {}, ...shown.map((k) => h('th', { scope: 'col' }, k)))),
        h(
          'tbody',
          {},
          ...documents.map((doc) =>
            h(
              'tr',
              { 'data-role': 'document', 'data-id': String(doc._id) },
              ...shown.map((k) =>
                h('td', { title: pretty(doc[k]) }, k in doc ? short(doc[k]) : ''),
              ),
            ),
          ),
        ),
      ),
    ),
    keys.length > shown.length
      ? h(
          'p',
          { class: 'empty' },
          `${keys.length - shown.length} more fields: hover a cell for its value.`,
        )
      : '',
  );
}

// ---- rule denials -----------------------------------------------------------------------------

const denials: Json[] = [];
function renderDenials(): void {
  const box = el('denials');
  if (!denials.length) {
    box.replaceChildren(empty('No client request was denied.'));
    return;
  }
  box.replaceChildren(
    h(
      'ul',
      { class: 'list' },
      ...denials
        .slice(-50)
        .reverse()
        .map((d) =>
          h(
            'li',
            { 'data-role': 'denial' },
            h('strong', {}, `${String(d.collection)} ${String(d.action ?? d.operation ?? '')}`),
            ` by ${String(d.openid)} · rule `,
            h(
              'code',
              {},
              `${String(d.rule)}: ${d.expression === null || d.expression === undefined ? 'none (default deny)' : short(d.expression)}`,
            ),
            h('div', { class: 'why' }, String(d.reason ?? '')),
          ),
        ),
    ),
  );
}

// ---- live updates -----------------------------------------------------------------------------

const panels = {
  health: renderHealth,
  payments: renderPayments,
  invocations: renderInvocations,
  collections: renderCollections,
  storage: renderStorage,
};
type Panel = keyof typeof panels;
const dirty = new Set<Panel>();
let flushTimer: ReturnType<typeof setTimeout> | undefined;

/** Re-reads the named panels soon, coalescing bursts of events into one read each. */
function refresh(...names: Panel[]): void {
  for (const name of names) dirty.add(name);
  clearTimeout(flushTimer);
  flushTimer = setTimeout(() => {
    const now = [...dirty];
    dirty.clear();
    for (const name of now) {
      panels[name]().catch((err: unknown) =>
        notice(`Could not read ${name}: ${(err as Error).message}`),
      );
    }
  }, 120);
}

const EVENT_PANELS: Record<string, Panel[]> = {
  'database.operation': ['collections'],
  'function.invocation': ['invocations'],
  'function.log': ['invocations'],
  'pay.order': ['payments', 'health'],
  'pay.callback': ['payments', 'health'],
  'pay.refund': ['payments'],
  'clock.advanced': ['health', 'payments'],
  'storage.operation': ['storage'],
  'emulator.reset': ['health', 'payments', 'invocations', 'collections', 'storage'],
};

function connect(): void {
  const live = el('live');
  const source = new EventSource('/emulator/v1/events');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.dataset.state = 'live';
  });
  source.addEventListener('error', () => {
    // EventSource reconnects by itself (with Last-Event-ID); say so meanwhile.
    live.textContent = 'reconnecting…';
    live.dataset.state = 'down';
  });
  for (const [type, names] of Object.entries(EVENT_PANELS)) {
    source.addEventListener(type, () => refresh(...names));
  }
  source.addEventListener('database.denied', (event) => {
    denials.push((JSON.parse((event as MessageEvent<string>).data) as { data: Json }).data);
    renderDenials();
  });
  source.addEventListener('storage.denied', (event) => {
    recordStorageDenial((JSON.parse((event as MessageEvent<string>).data) as { data: Json }).data);
  });
  source.addEventListener('emulator.reset', () => {
    denials.length = 0;
    renderDenials();
    recordStorageDenial(null);
  });
  window.addEventListener('pagehide', () => source.close());
}

// ---- controls ---------------------------------------------------------------------------------

function notice(text: string): void {
  el('control-result').textContent = text;
}

async function control(
  label: string,
  run: () => Promise<unknown>,
  button: HTMLButtonElement,
): Promise<void> {
  button.disabled = true;
  try {
    await run();
    notice(`${label}: done`);
  } catch (err) {
    notice(`${label} failed: ${(err as Error).message}`);
  } finally {
    button.disabled = false;
    refresh('health', 'payments');
  }
}

function wireControls(): void {
  for (const button of Array.from(
    document.querySelectorAll<HTMLButtonElement>('[data-role="advance"]'),
  )) {
    const ms = Number(button.dataset.ms);
    button.addEventListener(
      'click',
      () =>
        void control(
          `Advance ${formatMs(ms)}`,
          () => api('POST', '/clock/advance', { ms }),
          button,
        ),
    );
  }
  for (const button of Array.from(
    document.querySelectorAll<HTMLButtonElement>('[data-role="fault"]'),
  )) {
    const action = String(button.dataset.action);
    const fault = action === 'delay' ? { action, count: 1, delayMs: 30e3 } : { action, count: 1 };
    button.addEventListener(
      'click',
      () =>
        void control(
          `Fault "${action}" for the next callback`,
          () => api('POST', '/faults', { pay: { callbacks: [fault] } }),
          button,
        ),
    );
  }
  const clear = el('fault-clear') as HTMLButtonElement;
  clear.addEventListener(
    'click',
    () =>
      void control('Clear faults', () => api('POST', '/faults', { pay: { clear: true } }), clear),
  );
  const reset = el('reset') as HTMLButtonElement;
  reset.addEventListener('click', () => void control('Reset', () => api('POST', '/reset'), reset));
}

wireControls();
connect();
refresh('health', 'payments', 'invocations', 'collections', 'storage');
renderDenials();
document.body.dataset.ready = 'true';
