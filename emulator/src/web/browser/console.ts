/**
 * The emulator console: plain DOM over the control API only (/emulator/v1/...). The events stream
 * says when something changed; each panel then re-reads its inspection route, so what is shown is
 * always the emulator's own record, never a copy rebuilt from events. Rule denials exist only as
 * events, so that panel is built from the stream (the server keeps the last 5000 events and
 * replays them to a new connection). Each panel lives in its own module; this one holds the
 * status line, the clock, the controls, the language switch and the live updates.
 */
import { LANGS, LANG_NAMES, type Lang } from '../i18n';
import { control, notice, setAfterControl } from './actions';
import { dataEnvChanged, renderCollections, translateDataPanel, wireDataPanel } from './data-panel';
import { api, el, empty, h, short, time, type Json } from './dom';
import { chooseEnv, chosenEnv } from './env-choice';
import { renderInvocations } from './invocations-panel';
import { lang, onLangChange, setLang, startLang, t } from './lang';
import { renderPayments } from './payments-panel';
import { recordStorageDenial, renderStorage, renderStorageDenials } from './storage-panel';

// ---- status and clock -------------------------------------------------------------------------

let health: { envId: string; envIds: string[]; appid: string; mchId: string } | undefined;
let pendingFaults: { action: string; count: number }[] = [];

async function renderHealth(): Promise<void> {
  const answer = await api<{
    envId: string;
    envIds: string[];
    appid: string;
    mchId: string;
    clock: { now: string; offsetMs: number };
  }>('GET', '/health');
  health = answer;
  clockReading = {
    emulated: Date.parse(answer.clock.now),
    at: Date.now(),
    offset: answer.clock.offsetMs,
  };
  const pending = await api<{ callbacks: { action: string; count: number }[] }>(
    'GET',
    '/pay/faults',
  );
  pendingFaults = pending.callbacks;
  showHealth();
}

function showHealth(): void {
  const s = t();
  if (health) {
    el('env').replaceChildren(
      `${s.env} `,
      envSelect(health.envId, health.envIds),
      ` · appid ${health.appid} · ${s.merchant} ${health.mchId}`,
    );
  }
  el('faults').textContent = pendingFaults.length
    ? pendingFaults.map((f) => `${f.action} ×${f.count}`).join(', ')
    : s.nonePending;
  showClock();
}

/**
 * The env the data panels show: the default env's id alone, or, when the emulator hosts several,
 * a select that switches collections, documents, files and invocations to another env.
 */
function envSelect(defaultEnv: string, envIds: string[]): Node {
  if (envIds.length < 2) return document.createTextNode(defaultEnv);
  const select = h(
    'select',
    { 'data-role': 'env-select', 'aria-label': t().envShown },
    ...envIds.map((id) => h('option', { value: id === defaultEnv ? '' : id }, id)),
  ) as HTMLSelectElement;
  select.value = chosenEnv();
  select.addEventListener('change', () => {
    chooseEnv(select.value);
    dataEnvChanged();
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
    time(now.replace(/\.\d+Z$/, 'Z')) + t().aside(offset ? `+${formatMs(offset)}` : t().realTime);
}
setInterval(showClock, 1000);

function formatMs(ms: number): string {
  const { units } = t();
  if (ms < 60e3) return `${Math.round(ms / 1000)} ${units.s}`;
  if (ms < 3600e3) return `${Math.round(ms / 60e3)} ${units.min}`;
  if (ms < 86400e3) return `${+(ms / 3600e3).toFixed(1)} ${units.h}`;
  return `${+(ms / 86400e3).toFixed(1)} ${units.d}`;
}

// ---- rule denials -----------------------------------------------------------------------------

const denials: Json[] = [];
function renderDenials(): void {
  const s = t();
  const box = el('denials');
  if (!denials.length) {
    box.replaceChildren(empty(s.noDenials));
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
            s.by(String(d.openid)),
            s.rule,
            h(
              'code',
              {},
              `${String(d.rule)}: ${d.expression === null || d.expression === undefined ? s.defaultDeny : short(d.expression)}`,
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
const ALL_PANELS = Object.keys(panels) as Panel[];
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
        notice(t().couldNotRead(name, (err as Error).message)),
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
  'emulator.reset': ALL_PANELS,
};

let connection: 'offline' | 'live' | 'reconnecting' = 'offline';
function showConnection(): void {
  const live = el('live');
  live.textContent = t()[connection];
  live.dataset.state = connection === 'live' ? 'live' : 'down';
}

function connect(): void {
  const source = new EventSource('/emulator/v1/events');
  source.addEventListener('open', () => {
    connection = 'live';
    showConnection();
  });
  source.addEventListener('error', () => {
    // EventSource reconnects by itself (with Last-Event-ID); say so meanwhile.
    connection = 'reconnecting';
    showConnection();
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

function labelControls(): void {
  for (const button of Array.from(
    document.querySelectorAll<HTMLButtonElement>('[data-role="advance"]'),
  )) {
    button.textContent = t().advance(formatMs(Number(button.dataset.ms)));
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
          t().advance(formatMs(ms)),
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
          t().faultFor(action),
          () => api('POST', '/faults', { pay: { callbacks: [fault] } }),
          button,
        ),
    );
  }
  const clear = el('fault-clear') as HTMLButtonElement;
  clear.addEventListener(
    'click',
    () =>
      void control(t().clearFaults, () => api('POST', '/faults', { pay: { clear: true } }), clear),
  );
  const reset = el('reset') as HTMLButtonElement;
  reset.addEventListener(
    'click',
    () => void control(t().reset, () => api('POST', '/reset'), reset),
  );
  setAfterControl(() => refresh('health', 'payments'));
}

// ---- the language switch ----------------------------------------------------------------------

function renderLangSwitch(): void {
  el('lang-switch').replaceChildren(
    ...LANGS.map((code: Lang) => {
      const button = h(
        'button',
        {
          type: 'button',
          lang: code === 'zh' ? 'zh-CN' : 'en',
          'data-lang': code,
          'aria-pressed': String(code === lang()),
        },
        LANG_NAMES[code],
      );
      button.addEventListener('click', () => setLang(code));
      return button;
    }),
  );
}

/** After a switch: the words the shell does not carry, then every panel in the new language. */
function relabel(): void {
  renderLangSwitch();
  labelControls();
  showHealth();
  showConnection();
  renderDenials();
  renderStorageDenials();
  translateDataPanel();
  refresh(...ALL_PANELS.filter((name) => name !== 'health'));
}

startLang();
onLangChange(relabel);
renderLangSwitch();
labelControls();
showConnection();
wireControls();
wireDataPanel();
connect();
refresh(...ALL_PANELS);
renderDenials();
document.body.dataset.ready = 'true';
