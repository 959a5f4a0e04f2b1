/**
 * The phone preview: loads the project's app and page from /preview/app/ (WXML and WXSS made
 * browser-ready, TypeScript compiled by the server at request time), renders the page with
 * j-component, and gives it the emulator's `wx` (createWx) for the user picked. `wx.requestPayment`
 * opens a pay sheet styled after WeChat's; its buttons decide the sandbox payment.
 *
 * Like WeChat, and unlike j-component, the preview plays the page lifecycle: App's onLaunch,
 * then the page's onLoad(query), onShow and onReady; onUnload when the user changes or the tab
 * closes. Query parameters of the preview's own URL (other than `user` and `page`) become the
 * page's query.
 */
import { createWx, type EmulatedWx, type PayDecision, type PaySheet } from '../../client';
import type { PreviewUser } from '../users';
import { builtinComponents, jComponent, mapClicksToTaps, type RootComponent } from './engine';
import { onLangChange, startLang, t } from './lang';

type Definition = Record<string, unknown>;
type Lifecycle = (this: unknown, arg?: unknown) => unknown;

function el<T extends HTMLElement = HTMLElement>(role: string): T {
  const found = document.querySelector<T>(`[data-role="${role}"]`);
  if (!found) throw new Error(`preview: the page has no [data-role="${role}"]`);
  return found;
}

const globals = globalThis as unknown as Record<string, unknown>;
const errorBox = el<HTMLParagraphElement>('preview-error');

function showError(message: string): void {
  errorBox.hidden = false;
  errorBox.textContent = message;
}

// Anything the page throws is shown, not lost in a console nobody reads.
window.addEventListener('error', (event) => showError(t().pageError(event.message)));
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason as { errMsg?: string; message?: string } | undefined;
  showError(t().unhandledRejection(reason?.errMsg ?? reason?.message ?? String(event.reason)));
});

async function fetchText(path: string, optional = false): Promise<string | undefined> {
  const response = await fetch(`/preview/app/${path}`, { cache: 'no-store' });
  if (response.status === 404 && optional) return undefined;
  const text = await response.text();
  if (!response.ok) throw new Error(`/preview/app/${path}: ${text}`);
  return text;
}

function runScript(code: string): void {
  const script = document.createElement('script');
  script.textContent = code;
  document.head.append(script);
  script.remove();
}

function addStyle(css: string, name: string): void {
  const style = document.createElement('style');
  style.dataset.source = name;
  style.textContent = css;
  document.head.append(style);
}

// ---- the pay sheet ----------------------------------------------------------------------------

function formatFen(fen: number): string {
  return `¥${(fen / 100).toFixed(2)}`;
}

/** Opens the sheet for one payment; resolves with the payer's choice. */
async function openPaySheet(sheet: PaySheet): Promise<PayDecision> {
  const root = el('pay-sheet');
  el('sheet-body').textContent = sheet.body;
  el('sheet-amount').textContent = formatFen(sheet.totalFee);
  el('sheet-trade').textContent = sheet.outTradeNo;
  el('sheet-merchant').textContent = '…';
  // The merchant is the order's sub-merchant, from the sandbox's own record.
  void fetch(`/emulator/v1/pay/orders/${encodeURIComponent(sheet.outTradeNo)}`)
    .then((r) => r.json() as Promise<{ order?: { subMchId?: string } }>)
    .then((answer) => {
      el('sheet-merchant').textContent = `商户号 ${answer.order?.subMchId ?? '?'}`;
    })
    .catch(() => undefined);
  const previousFocus = document.activeElement as HTMLElement | null;
  root.hidden = false;
  el('sheet-pay').focus();
  return new Promise<PayDecision>((resolve) => {
    const choices: [string, PayDecision][] = [
      ['sheet-pay', 'confirm'],
      ['sheet-cancel', 'cancel'],
      ['sheet-close', 'cancel'],
      ['sheet-fail', 'fail'],
    ];
    const listeners: [HTMLElement, () => void][] = [];
    const done = (decision: PayDecision): void => {
      for (const [button, listener] of listeners) button.removeEventListener('click', listener);
      root.removeEventListener('keydown', onKey);
      root.hidden = true;
      previousFocus?.focus();
      resolve(decision);
    };
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') done('cancel');
    };
    for (const [role, decision] of choices) {
      const button = el(role);
      const listener = (): void => done(decision);
      button.addEventListener('click', listener);
      listeners.push([button, listener]);
    }
    root.addEventListener('keydown', onKey);
  });
}

// ---- users ------------------------------------------------------------------------------------

const users = JSON.parse(
  document.getElementById('preview-users')?.textContent ?? '[]',
) as PreviewUser[];
const params = new URLSearchParams(location.search);

function initialUser(): PreviewUser {
  const wanted = params.get('user');
  return users.find((u) => u.openid === wanted || u.name === wanted) ?? users[0];
}

/**
 * Each user's sandbox orders, from the control API: the picker's per-user state. The picker is
 * the emulator's widget, so it speaks the console's language (lang.ts), not the page's.
 */
let userOrders: { openid: string; tradeState: string }[] = [];
async function refreshUserStates(): Promise<void> {
  const answer = (await (await fetch('/emulator/v1/pay/orders')).json()) as {
    orders?: { openid: string; tradeState: string }[];
  };
  userOrders = answer.orders ?? [];
  showUserStates();
}

function showUserStates(): void {
  const s = t();
  for (const user of users) {
    const mine = userOrders.filter((o) => o.openid === user.openid);
    const paid = mine.filter((o) => o.tradeState === 'SUCCESS' || o.tradeState === 'REFUND');
    const state = document.querySelector(`[data-user-state="${user.openid}"]`);
    if (state) {
      state.textContent = mine.length ? s.userOrders(mine.length, paid.length) : s.noOrdersOfUser;
    }
  }
}

// ---- the app and the page ---------------------------------------------------------------------

interface LoadedApp {
  pageId: string;
  appDefinition: Definition | undefined;
  query: Record<string, string>;
}

async function loadApp(): Promise<LoadedApp> {
  const appJson = JSON.parse((await fetchText('app.json')) ?? '{}') as {
    pages?: string[];
    window?: { navigationBarTitleText?: string };
  };
  const pagePath = params.get('page') ?? appJson.pages?.[0];
  if (!pagePath) throw new Error('app.json lists no pages');
  const [pageJsonText, wxml, wxss, appWxss, pageJs, appJs] = await Promise.all([
    fetchText(`${pagePath}.json`, true),
    fetchText(`${pagePath}.wxml`),
    fetchText(`${pagePath}.wxss`, true),
    fetchText('app.wxss', true),
    fetchText(`${pagePath}.js`),
    fetchText('app.js', true),
  ]);
  const pageJson = JSON.parse(pageJsonText ?? '{}') as {
    navigationBarTitleText?: string;
    usingComponents?: Record<string, string>;
  };
  if (pageJson.usingComponents && Object.keys(pageJson.usingComponents).length) {
    throw new Error(
      `${pagePath}.json uses custom components (${Object.keys(pageJson.usingComponents).join(', ')}); the preview renders built-in components only`,
    );
  }
  el('nav-title').textContent =
    pageJson.navigationBarTitleText ?? appJson.window?.navigationBarTitleText ?? pagePath;
  if (appWxss) addStyle(appWxss, 'app.wxss');
  if (wxss) addStyle(wxss, `${pagePath}.wxss`);

  // The globals a mini-program's code calls at load time capture its definitions.
  let appDefinition: Definition | undefined;
  let pageDefinition: Definition | undefined;
  globals.App = (definition: Definition) => {
    appDefinition = definition;
  };
  globals.getApp = () => appDefinition;
  globals.Component = (definition: Definition) => {
    pageDefinition = definition;
  };
  // Page({...}): data stays data, every function becomes a method (lifecycles included).
  globals.Page = (definition: Definition) => {
    const methods: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(definition)) {
      if (typeof value === 'function') methods[key] = value;
    }
    pageDefinition = { data: definition.data ?? {}, methods };
  };
  if (appJs) runScript(appJs);
  if (pageJs) runScript(pageJs);
  if (!pageDefinition) throw new Error(`${pagePath} did not call Component() or Page()`);

  const pageId = jComponent.register({
    ...pageDefinition,
    tagName: 'wx-page',
    template: wxml,
    usingComponents: builtinComponents(),
  });
  const query: Record<string, string> = {};
  for (const [key, value] of params) if (key !== 'user' && key !== 'page') query[key] = value;
  return { pageId, appDefinition, query };
}

interface Mounted {
  component: RootComponent;
  wx: EmulatedWx;
}
let mounted: Mounted | undefined;

function callMethod(component: RootComponent, name: string, arg?: unknown): void {
  const method = component.instance[name];
  if (typeof method === 'function') (method as Lifecycle).call(component.instance, arg);
}

function unmount(): void {
  if (!mounted) return;
  callMethod(mounted.component, 'onUnload');
  mounted.component.detach();
  mounted = undefined;
}

function mount(app: LoadedApp, user: PreviewUser): void {
  unmount();
  const host = el('page-host');
  host.replaceChildren();
  host.dataset.openid = user.openid;
  const wx = createWx({
    url: location.origin,
    openid: user.openid,
    decide: openPaySheet,
    // wx.navigateTo('/pages/x/x?a=1'): load that page for the same user, its query as the page's.
    onNavigate: (target) => {
      const [pagePath, search = ''] = target.replace(/^\//, '').split('?');
      const next = new URL(location.href);
      next.search = search;
      next.searchParams.set('user', user.openid);
      next.searchParams.set('page', pagePath);
      location.assign(next.toString());
    },
    // wx.openDocument: the downloaded bytes in a new tab (the browser's own viewer for PDFs).
    onOpenDocument: (file) => {
      const blob = new Blob([file.bytes.slice().buffer], { type: file.contentType });
      window.open(URL.createObjectURL(blob), '_blank', 'noopener');
    },
  });
  // The page reads the global `wx`, as in the mini-program; each user is a fresh launch.
  globals.wx = wx;
  const onLaunch = app.appDefinition?.onLaunch;
  if (typeof onLaunch === 'function') {
    (onLaunch as Lifecycle).call(app.appDefinition, { path: '', query: app.query, scene: 1001 });
  }
  const component = jComponent.create(app.pageId);
  component.attach(host);
  mounted = { component, wx };
  callMethod(component, 'onLoad', { ...app.query });
  callMethod(component, 'onShow');
  callMethod(component, 'onReady');
}

function renderUserPicker(app: LoadedApp, current: PreviewUser): void {
  const list = el('user-list');
  list.replaceChildren();
  for (const user of users) {
    const label = document.createElement('label');
    label.className = 'user';
    label.title = user.openid; // the whole openid, where the picker has to shorten it
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'user';
    input.value = user.openid;
    input.checked = user.openid === current.openid;
    input.addEventListener('change', () => {
      if (!input.checked) return;
      const url = new URL(location.href);
      url.searchParams.set('user', user.openid);
      history.replaceState(null, '', url);
      mount(app, user);
    });
    const name = document.createElement('span');
    name.className = 'user__name';
    name.textContent = user.name;
    const openid = document.createElement('span');
    openid.className = 'user__openid';
    openid.textContent = user.openid;
    const state = document.createElement('span');
    state.className = 'user__state';
    state.dataset.userState = user.openid;
    label.append(input, name, openid, state);
    list.append(label);
  }
}

function watchPayments(): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const refresh = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void refreshUserStates().catch(() => undefined), 100);
  };
  const events = new EventSource('/emulator/v1/events?type=pay.order');
  events.addEventListener('pay.order', refresh);
  window.addEventListener('pagehide', () => events.close());
  refresh();
}

async function main(): Promise<void> {
  startLang();
  onLangChange(showUserStates);
  const host = el('page-host');
  mapClicksToTaps(host);
  const app = await loadApp();
  const user = initialUser();
  renderUserPicker(app, user);
  mount(app, user);
  watchPayments();
  window.addEventListener('pagehide', unmount);
  document.body.dataset.ready = 'true';
}

main().catch((err: unknown) => showError(err instanceof Error ? err.message : String(err)));
