/**
 * j-component (the engine of miniprogram-simulate) in the browser: the built-in components a
 * page's WXML uses, and taps from mouse clicks and the keyboard.
 *
 * j-component has no built-in components and makes taps from touch events only (platform-facts
 * §5). Here `view`, `text`, ... are components whose host element is `wx-<name>` (as WeChat's
 * own web renderer names them) with a `<slot/>`; `button` reflects its properties onto its host
 * (`type`, `disabled`, `loading`: what WXSS and the preview's stylesheet select on) and is a
 * keyboard-focusable `role="button"`. Element ids do not reach the DOM; classes and data-* do.
 */
import { BUILTIN_TAGS, HTML_COLLISIONS } from '../wxss';

/** The part of j-component used here (its own typings pull in the mini-program globals). */
export interface JComponent {
  register(definition: Record<string, unknown>): string;
  create(id: string, properties?: Record<string, unknown>): RootComponent;
}
export interface RootComponent {
  readonly instance: Record<string, unknown>;
  readonly data: Record<string, unknown>;
  attach(parent: Node): void;
  detach(): void;
}
interface Exparser {
  Event: {
    create(name: string, detail: unknown, options: Record<string, unknown>): unknown;
    dispatchEvent(target: Node, event: unknown): void;
  };
}

// CommonJS packages without browser-safe typings; esbuild bundles these requires.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const jComponent = require('j-component') as JComponent;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const exparser = require('miniprogram-exparser') as Exparser;

/** `this` inside a built-in component's lifetimes and observers: the host is `$$`. */
interface BuiltinThis {
  $$?: HTMLElement;
  data: Record<string, unknown>;
}

const BUTTON_PROPS = ['type', 'size', 'plain', 'disabled', 'loading'] as const;

function reflectButton(self: BuiltinThis): void {
  const host = self.$$;
  if (!host) return;
  for (const name of BUTTON_PROPS) {
    const value = self.data[name];
    if (value === false || value === undefined || value === null || value === '') {
      host.removeAttribute(name);
    } else {
      host.setAttribute(name, value === true ? '' : String(value));
    }
  }
  host.setAttribute('role', 'button');
  const disabled = Boolean(self.data.disabled);
  host.setAttribute('tabindex', disabled ? '-1' : '0');
  host.setAttribute('aria-disabled', String(disabled));
  host.setAttribute('aria-busy', String(Boolean(self.data.loading)));
}

function reflectImage(self: BuiltinThis): void {
  const host = self.$$;
  if (!host) return;
  const src = typeof self.data.src === 'string' ? self.data.src : '';
  host.style.backgroundImage = src ? `url("${src.replace(/"/g, '%22')}")` : '';
  host.setAttribute('role', 'img');
}

/** Registers the built-in components once; answers the `usingComponents` map for pages. */
let builtins: Record<string, string> | undefined;
export function builtinComponents(): Record<string, string> {
  if (builtins) return builtins;
  const map: Record<string, string> = {};
  for (const tag of BUILTIN_TAGS) {
    if (tag === 'page') continue;
    // HTML-colliding tags are renamed wx-<tag> in the WXML the server sends (see ../wxss.ts).
    const key = (HTML_COLLISIONS as readonly string[]).includes(tag) ? `wx-${tag}` : tag;
    const tagName = `wx-${tag}`;
    if (tag === 'button') {
      map[key] = jComponent.register({
        tagName,
        template: '<span class="wx-button__spinner" wx:if="{{loading}}"></span><slot/>',
        properties: {
          type: { type: String, value: 'default' },
          size: { type: String, value: 'default' },
          plain: { type: Boolean, value: false },
          disabled: { type: Boolean, value: false },
          loading: { type: Boolean, value: false },
          formType: String,
          openType: String,
        },
        observers: {
          'type, size, plain, disabled, loading'(this: BuiltinThis) {
            reflectButton(this);
          },
        },
        lifetimes: {
          attached(this: BuiltinThis) {
            reflectButton(this);
          },
        },
      });
    } else if (tag === 'image') {
      map[key] = jComponent.register({
        tagName,
        template: '<slot/>',
        properties: { src: String, mode: String },
        observers: {
          src(this: BuiltinThis) {
            reflectImage(this);
          },
        },
        lifetimes: {
          attached(this: BuiltinThis) {
            reflectImage(this);
          },
        },
      });
    } else {
      map[key] = jComponent.register({ tagName, template: '<slot/>' });
    }
  }
  builtins = map;
  return map;
}

function dispatchTap(target: Element, x: number, y: number, original: Event): void {
  const touch = { identifier: 0, pageX: x, pageY: y, clientX: x, clientY: y };
  exparser.Event.dispatchEvent(
    target,
    exparser.Event.create(
      'tap',
      { x, y },
      {
        originalEvent: original,
        bubbles: true,
        capturePhase: true,
        composed: true,
        extraFields: { touches: [], changedTouches: [touch] },
      },
    ),
  );
}

/** A tap on a disabled button does nothing, as in WeChat. */
function insideDisabledButton(target: Element): boolean {
  const button = target.closest('wx-button');
  return button !== null && button.getAttribute('aria-disabled') === 'true';
}

/**
 * Makes a mouse click, and Enter or Space on a focused `role="button"`, a WXML `tap` inside
 * `root`. Real touches still go through j-component's own touch handling; the click a browser
 * synthesizes after a touch is cancelled so a touch taps once.
 */
export function mapClicksToTaps(root: HTMLElement): void {
  root.addEventListener(
    'touchend',
    (event) => {
      if (event.cancelable) event.preventDefault();
    },
    { passive: false },
  );
  root.addEventListener('click', (event) => {
    const target = event.target;
    if (!(target instanceof Element) || insideDisabledButton(target)) return;
    dispatchTap(target, event.pageX, event.pageY, event);
  });
  root.addEventListener('keydown', (event) => {
    const target = event.target;
    if (!(target instanceof HTMLElement) || target.getAttribute('role') !== 'button') return;
    if (event.key !== 'Enter' && event.key !== ' ') return;
    event.preventDefault();
    if (insideDisabledButton(target)) return;
    const box = target.getBoundingClientRect();
    dispatchTap(target, box.left + box.width / 2, box.top + box.height / 2, event);
  });
}
