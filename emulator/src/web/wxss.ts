/**
 * WXSS and WXML as a browser can use them. WeChat's own compiler does this work in DevTools; the
 * preview does the few parts a page's look depends on:
 * - `rpx` becomes `px` for a 375 px wide phone (750 rpx is the screen width, so 1 rpx = 0.5 px);
 * - type selectors of built-in components (`view`, `text`, `button`, `page`...) become the custom
 *   element names the preview renders (`wx-view`, `wx-page`...), as WeChat's own web renderer names
 *   them; class, id and attribute selectors are left alone;
 * - WXML tags that are also HTML tags (`button`, `input`, `form`...) are renamed `wx-<tag>`, because
 *   j-component renders an HTML tag name as a plain HTML element, never as a component.
 * Knowingly not done: `@import` of other files, `rpx` inside values j-component computes at run
 * time (a `style="{{...}}"` binding; j-component turns those into px one to one).
 */

/** The phone width the preview emulates, in CSS px (iPhone 6/7/8, WeChat's design reference). */
export const PHONE_WIDTH_PX = 375;

/** Built-in components the preview registers; their type selectors become `wx-<name>`. */
export const BUILTIN_TAGS = [
  'page',
  'view',
  'text',
  'button',
  'image',
  'icon',
  'scroll-view',
  'swiper',
  'swiper-item',
  'navigator',
  'rich-text',
  'progress',
  'input',
  'textarea',
  'form',
  'label',
  'checkbox',
  'radio',
  'switch',
  'slider',
  'picker',
  'cover-view',
  'cover-image',
  'movable-area',
  'movable-view',
] as const;

/** WXML tags j-component would render as plain HTML elements (its HTML tag list ∩ built-ins). */
export const HTML_COLLISIONS = [
  'button',
  'input',
  'textarea',
  'form',
  'label',
  'progress',
] as const;

function rpxToPx(text: string): string {
  return text.replace(/(-?\d*\.?\d+)rpx\b/g, (_m, n: string) => {
    const px = (Number(n) * PHONE_WIDTH_PX) / 750;
    return `${Number(px.toFixed(3))}px`;
  });
}

const TAG_ALTERNATION = [...BUILTIN_TAGS].sort((a, b) => b.length - a.length).join('|');
// A type selector: the tag at a compound selector's start (after a combinator, a comma, an opening
// parenthesis or the selector's start), not part of a class, id or longer name.
const TYPE_SELECTOR = new RegExp(`(^|[\\s>+~,(])(${TAG_ALTERNATION})(?![\\w-])`, 'g');

function convertSelector(prelude: string): string {
  return prelude.replace(TYPE_SELECTOR, (_m, before: string, tag: string) => `${before}wx-${tag}`);
}

/**
 * Converts a WXSS text to CSS (see the module comment). Comments are dropped; at-rule preludes
 * (`@media (...)`) and declarations keep their text, with rpx converted. Keyframe selectors
 * (`from`, `50%`) pass through the selector conversion unchanged: they are not tag names.
 */
export function convertWxss(source: string): string {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '');
  let out = '';
  // Per open block: does it hold declarations (a style rule, @font-face) or rules (@media)?
  const holdsDeclarations: boolean[] = [];
  let i = 0;
  while (i < text.length) {
    const next = text.slice(i).search(/[{};]/);
    if (next === -1) {
      out += rpxToPx(text.slice(i));
      break;
    }
    const chunk = text.slice(i, i + next);
    const ch = text[i + next];
    if (ch === '{') {
      const prelude = chunk.trim();
      const inDeclarations = holdsDeclarations.at(-1) === true;
      if (prelude.startsWith('@')) {
        out += `${chunk}{`;
        holdsDeclarations.push(
          !/^@(media|supports|layer|container|(-\w+-)?keyframes)\b/.test(prelude),
        );
      } else {
        out += `${inDeclarations ? chunk : convertSelector(chunk)}{`;
        holdsDeclarations.push(true);
      }
    } else if (ch === '}') {
      out += `${rpxToPx(chunk)}}`;
      holdsDeclarations.pop();
    } else {
      out += `${rpxToPx(chunk)};`;
    }
    i += next + 1;
  }
  return out;
}

/**
 * Prepares WXML for j-component: HTML-colliding built-in tags renamed `wx-<tag>`, and static rpx
 * lengths in `style` attributes converted (j-component's own conversion is one to one).
 */
export function prepareWxml(source: string): string {
  const collisions = HTML_COLLISIONS.join('|');
  const tags = new RegExp(`<(/?)(${collisions})(?=[\\s/>])`, 'g');
  return source
    .replace(tags, (_m, slash: string, tag: string) => `<${slash}wx-${tag}`)
    .replace(/\bstyle="([^"]*)"/g, (_m, style: string) => `style="${rpxToPx(style)}"`);
}
