/**
 * What every console panel builds with: elements from data (text always as text, never as HTML),
 * the control API, and the few formats the panels share.
 */

export type Json = Record<string, unknown>;
export type Child = Node | string | null | undefined | false;

/** Builds an element; text goes in as text, never as HTML. */
export function h(
  tag: string,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
) {
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

export function el(role: string): HTMLElement {
  const found = document.querySelector<HTMLElement>(`[data-role="${role}"]`);
  if (!found) throw new Error(`console: no [data-role="${role}"]`);
  return found;
}

export function button(
  attrs: Record<string, string | undefined>,
  label: string,
  onClick: (button: HTMLButtonElement) => void,
): HTMLButtonElement {
  const node = h('button', { type: 'button', ...attrs }, label) as HTMLButtonElement;
  node.addEventListener('click', () => onClick(node));
  return node;
}

/** A control-API call; a non-2xx answer throws with the emulator's own message. */
export async function api<T = Json>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  route: string,
  body?: unknown,
): Promise<T> {
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

export const pretty = (value: unknown): string => JSON.stringify(value, null, 2) ?? String(value);
export const short = (value: unknown): string => {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};
export const time = (iso: unknown): string =>
  typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
export const fen = (n: unknown): string =>
  typeof n === 'number' ? `¥${(n / 100).toFixed(2)}` : '?';
export const badge = (text: string, tone: string): HTMLElement =>
  h('span', { class: `badge badge--${tone}` }, text);
export const empty = (text: string): HTMLElement => h('p', { class: 'empty' }, text);

/** Keeps a <details> open across re-renders, keyed by what it shows. */
const openDetails = new Set<string>();
export function details(key: string, summary: Child[], ...body: Child[]): HTMLElement {
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
