// Renders the unlock page with miniprogram-simulate and plays the page lifecycle around it.
//
// How the page's TypeScript gets loaded: `simulate.load(path)` reads `<path>.json` and
// `<path>.wxml`, then runs the component's code with a plain `require(path)` (no extension) while
// its global `Component` constructor captures the definition. Under jest that `require` is
// jest's own: it resolves the extension-less path to `unlock.ts` (jest tries .ts before .json)
// and transforms it with ts-jest, so the page's real source is what runs, with its real imports.
// Two consequences: jest caches the module, so the definition is loaded ONCE per test file
// (then rendered as many times as needed); and the page and the tests share one instance of
// miniprogram/config.ts. We pass `compiler: 'simulate'` to parse WXML with j-component, the
// engine the browser preview uses, rather than the native official compiler.
//
// j-component has no page lifecycle: we call the page's onLoad/onUnload ourselves, as WeChat does.

import path from 'path';

/** The part of miniprogram-simulate (and of the j-component it returns) these tests use. */
interface SimulatedComponent {
  readonly data: Record<string, unknown>;
  readonly instance: unknown;
  querySelector(selector: string): SimulatedComponent | undefined;
  dispatchEvent(eventName: string): void;
  attach(parent: Element): void;
  detach(): void;
}
interface Simulate {
  load(componentPath: string, options: { compiler: 'simulate' }): string;
  render(componentId: string): SimulatedComponent;
}

// Not `import simulate from 'miniprogram-simulate'`: its type declarations import
// miniprogram-api-typings, whose globals (`require`, `wx`, `Component`...) would then leak into
// the whole root project and clash with Node's. The interface above is all we rely on.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulate = require('miniprogram-simulate') as Simulate;

const PAGE_PATH = path.join(
  __dirname,
  '..',
  '..',
  '..',
  'miniprogram',
  'pages',
  'unlock',
  'unlock',
);

let componentId: string | null = null;

function loadPage(): string {
  componentId ??= simulate.load(PAGE_PATH, { compiler: 'simulate' });
  return componentId;
}

const loadedPages = new Map<string, string>();

export interface RenderedPage {
  /** The page's data, as setData left it. */
  data(): Record<string, unknown>;
  /** Every element with this data-role, in document order. */
  all(role: string): Element[];
  text(role: string): string;
  /** Taps the n-th element with this class (j-component's querySelector knows classes only). */
  tap(className: string, n?: number): void;
  unload(): void;
}

/**
 * Opens any page of the mini-program (`pages/<name>/<name>`) with `wx` as its global, plays
 * onLoad(query) and onShow, and reads it through the DOM it renders.
 */
export function openPage(
  pagePath: string,
  wx: unknown,
  query: Record<string, string> = {},
): RenderedPage {
  const file = path.join(__dirname, '..', '..', '..', 'miniprogram', pagePath);
  let id = loadedPages.get(file);
  if (!id) {
    id = simulate.load(file, { compiler: 'simulate' });
    loadedPages.set(file, id);
  }
  (globalThis as { wx?: unknown }).wx = wx;
  const comp = simulate.render(id) as SimulatedComponent & {
    querySelectorAll(selector: string): SimulatedComponent[];
  };
  const parent = document.createElement('parent-wrapper');
  document.body.appendChild(parent);
  comp.attach(parent);
  const instance = comp.instance as unknown as PageMethods & { onShow?(): void };
  instance.onLoad(query);
  instance.onShow?.();
  return {
    data: () => comp.data,
    all: (role) => Array.from(parent.querySelectorAll(`[data-role="${role}"]`)),
    text: (role) => parent.querySelector(`[data-role="${role}"]`)?.textContent?.trim() ?? '',
    tap(className, n = 0) {
      const target = comp.querySelectorAll(`.${className}`)[n];
      if (!target) throw new Error(`no element .${className} #${n} on ${pagePath}`);
      target.dispatchEvent('tap');
    },
    unload() {
      instance.onUnload?.();
      comp.detach();
      parent.remove();
    },
  };
}

export interface UnlockPage {
  status(): string;
  /** The message shown to the user ('' when none). */
  message(): string;
  hasPayButton(): boolean;
  payButtonText(): string;
  hasContent(): boolean;
  tapPay(): void;
  unload(): void;
}

type PageMethods = {
  onLoad(query: Record<string, string>): void;
  onUnload?(): void;
};

/** Opens the page with `wx` as the global the page reads (createWx's, acting as one user). */
export function openUnlockPage(wx: unknown, query: Record<string, string> = {}): UnlockPage {
  const id = loadPage();
  // The page reads the global `wx` when it loads, as in the mini-program.
  (globalThis as { wx?: unknown }).wx = wx;
  const comp = simulate.render(id);
  const parent = document.createElement('parent-wrapper');
  document.body.appendChild(parent);
  comp.attach(parent);
  const instance = comp.instance as unknown as PageMethods;
  instance.onLoad(query);

  // j-component's own querySelector understands classes only; read through the DOM it renders.
  const role = (name: string) => parent.querySelector(`[data-role="${name}"]`);
  const textOf = (name: string) => role(name)?.textContent?.trim() ?? '';
  return {
    status: () => String(comp.data.status),
    message: () => textOf('message'),
    hasPayButton: () => role('pay') !== null,
    payButtonText: () => textOf('pay'),
    hasContent: () => role('content') !== null,
    tapPay() {
      const button = comp.querySelector('.pay-button');
      if (!button) throw new Error('no pay button on the page');
      button.dispatchEvent('tap');
    },
    unload() {
      instance.onUnload?.();
      comp.detach();
      parent.remove();
    },
  };
}
