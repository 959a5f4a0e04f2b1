/**
 * The two HTML documents: static shells; the scripts in ./browser fill them in. Everything a
 * control does is a real <button> or form control with a label, so the keyboard reaches it.
 * The shells are rendered in the language the browser asks for (Accept-Language); each fixed
 * word carries its key (`data-i18n`, i18n.ts) so the browser can switch without a reload. The
 * phone itself (`lang="zh-CN"`) shows the mini-program as it is, in its own language.
 */
import { HTML_LANG, STRINGS, type Lang, type TextKey } from './i18n';
import { PREVIEW_USERS } from './users';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"]/g, (c) => ENTITIES[c] ?? c);

/** One fixed word: its text in `lang` and its key, for the switch. */
function word(lang: Lang) {
  return (key: TextKey, tag = 'span', attrs = ''): string =>
    `<${tag}${attrs ? ` ${attrs}` : ''} data-i18n="${key}">${escapeHtml(STRINGS[lang][key])}</${tag}>`;
}

/** An attribute in `lang` with its key (`data-i18n-label` / `data-i18n-title`). */
function attr(lang: Lang) {
  return (name: 'aria-label' | 'title', key: TextKey): string =>
    `${name}="${escapeHtml(STRINGS[lang][key])}" data-i18n-${name === 'title' ? 'title' : 'label'}="${key}"`;
}

const head = (lang: Lang, titleKey: TextKey, css: string): string => `<!doctype html>
<html lang="${HTML_LANG[lang]}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${word(lang)(titleKey, 'title')}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${css}">
</head>`;

/** JSON inside a <script> element: `<` escaped so no text can close the element. */
const inlineJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

export function previewHtml(lang: Lang = 'en'): string {
  const w = word(lang);
  const a = attr(lang);
  return `${head(lang, 'previewTitle', 'preview.css')}
<body>
<main class="preview">
  <fieldset class="users" aria-describedby="users-help">
    ${w('wechatUser', 'legend')}
    <div class="users__list" data-role="user-list"></div>
    ${w('usersHelp', 'p', 'id="users-help" class="users__help"')}
  </fieldset>
  <div class="phone" role="region" ${a('aria-label', 'phone')} lang="zh-CN">
    <div class="phone__status" aria-hidden="true"><span>9:41</span><span>微信</span><span>100%</span></div>
    <header class="phone__nav"><h1 class="phone__title" data-role="nav-title">&nbsp;</h1></header>
    <div class="phone__screen" data-role="page-host" aria-live="polite"></div>
    <div class="sheet" data-role="pay-sheet" hidden>
      <div class="sheet__backdrop"></div>
      <div class="sheet__panel" role="dialog" aria-modal="true" aria-labelledby="sheet-title">
        <button type="button" class="sheet__close" data-role="sheet-close" ${a('aria-label', 'closeSheet')}>×</button>
        <h2 id="sheet-title" class="sheet__title">微信支付</h2>
        <p class="sheet__body" data-role="sheet-body"></p>
        <p class="sheet__amount" data-role="sheet-amount"></p>
        <dl class="sheet__rows">
          <div><dt>收款方</dt><dd data-role="sheet-merchant"></dd></div>
          <div><dt>付款方式</dt><dd>零钱 (sandbox)</dd></div>
          <div><dt>订单号</dt><dd data-role="sheet-trade"></dd></div>
        </dl>
        <button type="button" class="sheet__pay" data-role="sheet-pay">支付</button>
        <div class="sheet__more">
          <button type="button" data-role="sheet-cancel">取消</button>
          <button type="button" data-role="sheet-fail">模拟支付失败</button>
        </div>
        ${w('sheetNote', 'p', `class="sheet__note" lang="${HTML_LANG[lang]}"`)}
      </div>
    </div>
  </div>
  <p class="preview__error" data-role="preview-error" role="alert" hidden></p>
</main>
<script id="preview-users" type="application/json">${inlineJson(PREVIEW_USERS)}</script>
<script src="/assets/preview.js" defer></script>
</body>
</html>
`;
}

export function consoleHtml(lang: Lang = 'en'): string {
  const w = word(lang);
  const a = attr(lang);
  const s = STRINGS[lang];
  const clockSteps = [
    [`15 ${s.units.s}`, 15e3],
    [`5 ${s.units.min}`, 300e3],
    [`1 ${s.units.h}`, 3600e3],
    [`1 ${s.units.d}`, 86400e3],
  ] as const;
  return `${head(lang, 'consoleTitle', 'console.css')}
<body>
<header class="top">
  <h1>wxcloud-emulator</h1>
  ${w('connecting', 'p', 'class="top__env" data-role="env"')}
  ${w('offline', 'p', 'class="top__live" data-role="live" role="status"')}
  <div class="top__lang" role="group" ${a('aria-label', 'language')} data-role="lang-switch"></div>
  ${w('openPreviewAlone', 'a', 'class="top__link" href="/preview/" target="_blank" rel="noopener"')}
</header>
<div class="layout">
  <section class="col-phone" aria-labelledby="h-preview">
    ${w('preview', 'h2', 'id="h-preview" class="visually-hidden"')}
    <iframe class="phone-frame" src="/preview/" ${a('title', 'previewFrameTitle')}></iframe>
  </section>
  <div class="col-panels">
    <section class="panel" aria-labelledby="h-controls">
      ${w('controls', 'h2', 'id="h-controls"')}
      <div class="controls">
        <div class="group" role="group" aria-labelledby="clock-label">
          <p id="clock-label" class="group__label">${w('emulatedClock')} <output data-role="clock">…</output></p>
          ${clockSteps
            .map(
              ([label, ms]) =>
                `<button type="button" data-role="advance" data-ms="${ms}">${escapeHtml(s.advance(label))}</button>`,
            )
            .join('\n          ')}
        </div>
        <div class="group" role="group" aria-labelledby="faults-label">
          <p id="faults-label" class="group__label">${w('nextPayCallback')} <output data-role="faults">${escapeHtml(s.nonePending)}</output></p>
          ${w('faultDrop', 'button', 'type="button" data-role="fault" data-action="drop"')}
          ${w('faultLose', 'button', 'type="button" data-role="fault" data-action="lose"')}
          ${w('faultDuplicate', 'button', 'type="button" data-role="fault" data-action="duplicate"')}
          ${w('faultDelay', 'button', 'type="button" data-role="fault" data-action="delay"')}
          ${w('clearFaults', 'button', 'type="button" data-role="fault-clear"')}
        </div>
        <div class="group">
          ${w('resetData', 'button', 'type="button" data-role="reset" class="danger"')}
        </div>
      </div>
      <p class="notice" data-role="control-result" role="status"></p>
    </section>
    <section class="panel" aria-labelledby="h-payments">
      ${w('payments', 'h2', 'id="h-payments"')}
      <div data-role="payments">${w('noOrders', 'p', 'class="empty"')}</div>
    </section>
    <section class="panel" aria-labelledby="h-invocations">
      ${w('invocations', 'h2', 'id="h-invocations"')}
      <div data-role="invocations">${w('noInvocations', 'p', 'class="empty"')}</div>
    </section>
    <section class="panel" aria-labelledby="h-collections" data-role="data-panel">
      ${w('database', 'h2', 'id="h-collections"')}
      <div class="tabs" role="group" ${a('aria-label', 'collections')} data-role="collections"></div>
      <div class="data-actions">
        ${w('addDocument', 'button', 'type="button" data-role="doc-add"')}
        ${w('exportData', 'a', 'class="button" data-role="db-export" href="/emulator/v1/database/export" download="wxcloud-emulator-database.json"')}
        ${w('importData', 'button', 'type="button" data-role="db-import"')}
        <input type="file" accept=".json,application/json" data-role="db-import-file" hidden>
      </div>
      <div data-role="import-confirm"></div>
      <p class="notice" data-role="data-result" role="status"></p>
      <div data-role="doc-editor"></div>
      <div data-role="documents"></div>
    </section>
    <section class="panel" aria-labelledby="h-storage">
      ${w('storage', 'h2', 'id="h-storage"')}
      <div data-role="storage-files">${w('noFiles', 'p', 'class="empty"')}</div>
      <ul class="list" data-role="storage-denials"></ul>
    </section>
    <section class="panel" aria-labelledby="h-denials">
      ${w('denials', 'h2', 'id="h-denials"')}
      <div data-role="denials">${w('noDenials', 'p', 'class="empty"')}</div>
    </section>
  </div>
</div>
<script src="/assets/console.js" defer></script>
</body>
</html>
`;
}
