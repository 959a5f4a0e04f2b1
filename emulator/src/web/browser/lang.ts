/**
 * The console's language in the browser: the one chosen last (localStorage, shared by the console
 * and the preview frame, which are one origin), else Chinese for a browser that asks for Chinese
 * (navigator.language) and English otherwise. Switching re-renders without a reload; the other
 * documents of the origin (the preview frame, other console tabs) follow through the `storage`
 * event.
 */
import { HTML_LANG, STRINGS, langOfLocale, type Lang, type Strings, type TextKey } from '../i18n';

const STORAGE_KEY = 'wxcloud-emulator.lang';

function stored(): Lang | undefined {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'zh' || value === 'en' ? value : undefined;
  } catch {
    return undefined; // storage disabled: the browser's language, not remembered
  }
}

let current: Lang = stored() ?? langOfLocale(navigator.language);
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

/** The strings of the current language. */
export function t(): Strings {
  return STRINGS[current];
}

/** A recorded value (an outcome, a decision) in the current language, or as recorded. */
export function recorded(value: unknown): string {
  return t().recorded[String(value)] ?? String(value);
}

function apply(next: Lang): void {
  current = next;
  document.documentElement.lang = HTML_LANG[next];
  translateShell();
  for (const listener of listeners) listener();
}

/** Switches and remembers the choice. */
export function setLang(next: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered, still switched.
  }
  if (next !== current) apply(next);
}

/** Calls `listener` after every switch (here or in another document of the origin). */
export function onLangChange(listener: () => void): void {
  listeners.add(listener);
}

window.addEventListener('storage', (event) => {
  if (event.key !== STORAGE_KEY) return;
  const next = stored();
  if (next && next !== current) apply(next);
});

/**
 * The page shell's fixed words: `data-i18n="key"` sets an element's text, `data-i18n-label` its
 * aria-label and `data-i18n-title` its title (keys of the strings table).
 */
export function translateShell(root: ParentNode = document): void {
  const strings = t();
  const text = (key: string | undefined): string | undefined =>
    key && typeof strings[key as TextKey] === 'string' ? strings[key as TextKey] : undefined;
  for (const node of Array.from(root.querySelectorAll<HTMLElement>('[data-i18n]'))) {
    const value = text(node.dataset.i18n);
    if (value !== undefined) node.textContent = value;
  }
  for (const node of Array.from(root.querySelectorAll<HTMLElement>('[data-i18n-label]'))) {
    const value = text(node.dataset.i18nLabel);
    if (value !== undefined) node.setAttribute('aria-label', value);
  }
  for (const node of Array.from(root.querySelectorAll<HTMLElement>('[data-i18n-title]'))) {
    const value = text(node.dataset.i18nTitle);
    if (value !== undefined) node.setAttribute('title', value);
  }
  const title = document.querySelector<HTMLElement>('title[data-i18n]');
  if (title) document.title = title.textContent ?? document.title;
}

/** Brings the shell to the current language once at load (the server guessed from its header). */
export function startLang(): void {
  apply(current);
}
