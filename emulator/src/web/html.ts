/**
 * The two HTML documents: static shells; the scripts in ./browser fill them in. Everything a
 * control does is a real <button> or form control with a label, so the keyboard reaches it.
 */
import { PREVIEW_USERS } from './users';

const head = (title: string, css: string): string => `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${css}">
</head>`;

/** JSON inside a <script> element: `<` escaped so no text can close the element. */
const inlineJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

export function previewHtml(): string {
  return `${head('Preview · wxcloud-emulator', 'preview.css')}
<body>
<main class="preview">
  <fieldset class="users" aria-describedby="users-help">
    <legend>WeChat user</legend>
    <div class="users__list" data-role="user-list"></div>
    <p id="users-help" class="users__help">Each simulated user has an own openid; the page reloads as that user.</p>
  </fieldset>
  <div class="phone" role="region" aria-label="Phone">
    <div class="phone__status" aria-hidden="true"><span>9:41</span><span>WeChat</span><span>100%</span></div>
    <header class="phone__nav"><h1 class="phone__title" data-role="nav-title">&nbsp;</h1></header>
    <div class="phone__screen" data-role="page-host" aria-live="polite"></div>
    <div class="sheet" data-role="pay-sheet" hidden>
      <div class="sheet__backdrop"></div>
      <div class="sheet__panel" role="dialog" aria-modal="true" aria-labelledby="sheet-title">
        <button type="button" class="sheet__close" data-role="sheet-close" aria-label="Close (cancel payment)">×</button>
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
        <p class="sheet__note">Sandbox: no money moves. 支付 confirms, 取消 cancels, 模拟支付失败 fails the payment.</p>
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

export function consoleHtml(): string {
  const clockSteps = [
    ['15 s', 15e3],
    ['5 min', 300e3],
    ['1 h', 3600e3],
    ['1 day', 86400e3],
  ] as const;
  return `${head('wxcloud-emulator console', 'console.css')}
<body>
<header class="top">
  <h1>wxcloud-emulator</h1>
  <p class="top__env" data-role="env">connecting…</p>
  <p class="top__live" data-role="live" role="status">offline</p>
  <a class="top__link" href="/preview/" target="_blank" rel="noopener">Open the preview alone</a>
</header>
<div class="layout">
  <section class="col-phone" aria-labelledby="h-preview">
    <h2 id="h-preview" class="visually-hidden">Preview</h2>
    <iframe class="phone-frame" src="/preview/" title="Mini-program preview"></iframe>
  </section>
  <div class="col-panels">
    <section class="panel" aria-labelledby="h-controls">
      <h2 id="h-controls">Controls</h2>
      <div class="controls">
        <div class="group" role="group" aria-labelledby="clock-label">
          <p id="clock-label" class="group__label">Emulated clock <output data-role="clock">…</output></p>
          ${clockSteps
            .map(
              ([label, ms]) =>
                `<button type="button" data-role="advance" data-ms="${ms}">Advance ${label}</button>`,
            )
            .join('\n          ')}
        </div>
        <div class="group" role="group" aria-labelledby="faults-label">
          <p id="faults-label" class="group__label">Next pay callback <output data-role="faults">none pending</output></p>
          <button type="button" data-role="fault" data-action="drop">Drop it</button>
          <button type="button" data-role="fault" data-action="lose">Lose all attempts</button>
          <button type="button" data-role="fault" data-action="duplicate">Duplicate</button>
          <button type="button" data-role="fault" data-action="delay">Delay 30 s</button>
          <button type="button" data-role="fault-clear">Clear faults</button>
        </div>
        <div class="group">
          <button type="button" data-role="reset" class="danger">Reset emulator data</button>
        </div>
      </div>
      <p class="notice" data-role="control-result" role="status"></p>
    </section>
    <section class="panel" aria-labelledby="h-payments">
      <h2 id="h-payments">Payments</h2>
      <div data-role="payments"><p class="empty">No orders yet.</p></div>
    </section>
    <section class="panel" aria-labelledby="h-invocations">
      <h2 id="h-invocations">Function invocations</h2>
      <div data-role="invocations"><p class="empty">No invocations yet.</p></div>
    </section>
    <section class="panel" aria-labelledby="h-collections">
      <h2 id="h-collections">Database</h2>
      <div class="tabs" role="group" aria-label="Collections" data-role="collections"></div>
      <div data-role="documents"></div>
    </section>
    <section class="panel" aria-labelledby="h-storage">
      <h2 id="h-storage">Cloud storage</h2>
      <div data-role="storage-files"><p class="empty">No files in cloud storage.</p></div>
      <ul class="list" data-role="storage-denials"></ul>
    </section>
    <section class="panel" aria-labelledby="h-denials">
      <h2 id="h-denials">Rule denials</h2>
      <div data-role="denials"><p class="empty">No client request was denied.</p></div>
    </section>
  </div>
</div>
<script src="/assets/console.js" defer></script>
</body>
</html>
`;
}
