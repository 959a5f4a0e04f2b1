/**
 * The console's and the preview frame's own words, in Chinese and English: one table, shared by
 * the server (which renders the page shells in the browser's language) and the browser code
 * (which switches without a reload). The mini-program page itself is not translated: it shows
 * what the app shows, in the app's language. Values from the emulator's record (trade states such
 * as SUCCESS, function names, openids, a callback's `verdict`) are shown as recorded.
 */

export type Lang = 'zh' | 'en';
export const LANGS: readonly Lang[] = ['zh', 'en'];
/** Each language's name in itself, for the switch. */
export const LANG_NAMES: Record<Lang, string> = { zh: '中文', en: 'English' };
/** The `lang` attribute of a page shown in that language. */
export const HTML_LANG: Record<Lang, string> = { zh: 'zh-CN', en: 'en' };

/**
 * Chinese for a browser that asks for Simplified Chinese first (zh-CN, zh-SG, zh-Hans, or plain
 * zh), English otherwise: the strings are Simplified Chinese.
 */
export function langOfLocale(tag: string | undefined | null): Lang {
  const lower = (tag ?? '').trim().toLowerCase();
  return /^zh($|-cn|-sg|-hans)/.test(lower) ? 'zh' : 'en';
}

/** The language an Accept-Language header asks for first (quality order as sent). */
export function langOfAcceptLanguage(header: string | undefined): Lang {
  const first = (header ?? '')
    .split(',')
    .map((part) => {
      const [tag, ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find(Boolean);
      return { tag, q: q === undefined ? 1 : Number(q) };
    })
    .filter((entry) => entry.tag)
    .sort((a, b) => b.q - a.q)[0];
  return langOfLocale(first?.tag);
}

const en = {
  // page shells
  consoleTitle: 'wxcloud-emulator console',
  previewTitle: 'Preview · wxcloud-emulator',
  connecting: 'connecting…',
  offline: 'offline',
  live: 'live',
  reconnecting: 'reconnecting…',
  openPreviewAlone: 'Open the preview alone',
  language: 'Language',
  preview: 'Preview',
  previewFrameTitle: 'Mini-program preview',
  env: 'env',
  envShown: 'env shown',
  merchant: 'merchant',
  couldNotRead: (panel: string, message: string) => `Could not read ${panel}: ${message}`,

  // controls
  controls: 'Controls',
  emulatedClock: 'Emulated clock',
  realTime: 'real time',
  aside: (text: string) => ` (${text})`,
  advance: (step: string) => `Advance ${step}`,
  nextPayCallback: 'Next pay callback',
  nonePending: 'none pending',
  faultDrop: 'Drop it',
  faultLose: 'Lose all attempts',
  faultDuplicate: 'Duplicate',
  faultDelay: 'Delay 30 s',
  clearFaults: 'Clear faults',
  resetData: 'Reset emulator data',
  faultFor: (action: string) => `Fault "${action}" for the next callback`,
  reset: 'Reset',
  done: (label: string) => `${label}: done`,
  failed: (label: string, message: string) => `${label} failed: ${message}`,
  units: { s: 's', min: 'min', h: 'h', d: 'day' },

  // payments
  payments: 'Payments',
  noOrders: 'No orders yet.',
  expired: (state: string) => `${state} (expired)`,
  noCallback: 'no callback',
  callbackAcknowledged: 'callback acknowledged',
  callbackGivenUp: 'callback given up',
  callbackPending: (next: string) => `callback pending${next ? ` (next ${next})` : ''}`,
  orderMeta: (fee: string, body: string, payer: string, created: string) =>
    `${fee} · ${body} · payer ${payer} · created ${created}`,
  paidAt: (at: string) => ` · paid ${at}`,
  paySheet: (decisions: string) => `Pay sheet: ${decisions}`,
  platformRefund: 'Refund on merchant platform',
  platformRefundOf: (outTradeNo: string) => `Merchant-platform refund of ${outTradeNo}`,
  callbackAttempts: (fn: string, count: number) => `Callback attempts to ${fn} (${count})`,
  attemptColumns: ['#', 'Trigger', 'Time (emulated)', 'Fault', 'Outcome', 'Why'],
  /**
   * Words for recorded values the console shows as badges (a callback attempt's outcome, an
   * invocation's outcome, a pay-sheet decision); a value not listed is shown as recorded.
   */
  recorded: {} as Record<string, string>,

  // invocations
  invocations: 'Function invocations',
  noInvocations: 'No invocations yet.',
  cold: 'cold',
  warm: 'warm',
  event: 'Event',
  error: 'Error',
  result: 'Result',
  logs: 'Logs',
  warnings: 'Warnings',
  allOk: 'all ok',
  nFailed: (n: number) => `${n} failed`,
  earlierRuns: (n: number) => `…and ${n} earlier runs`,
  allFunctions: 'all functions',
  allSources: 'all sources',
  filterFunction: 'Function',
  filterSource: 'Source',

  // database
  database: 'Database',
  collections: 'Collections',
  clientPermission: 'client permission',
  noCollections: 'No collections.',
  emptyCollection: (name: string) => `${name} is empty.`,
  documentsOf: (name: string) => `${name} documents`,
  moreFields: (n: number) => `${n} more fields: open a document to see them all.`,
  open: 'Open',
  openDocument: (id: string) => `Open ${id}`,
  addDocument: 'Add document',
  exportData: 'Export',
  importData: 'Import…',
  editing: (collection: string, id: string) => `${collection} / ${id}`,
  adding: (collection: string) => `New document in ${collection}`,
  documentText: 'Document (relaxed EJSON)',
  editorHint:
    'Dates as {"$date": "2024-01-01T00:00:00Z"}. The whole document is saved; _id cannot change. Security rules do not apply here, as in the cloud console.',
  save: 'Save',
  close: 'Close',
  delete: 'Delete',
  confirmDelete: (collection: string, id: string) =>
    `Delete ${id} from ${collection}? This cannot be undone.`,
  deleteForGood: 'Delete for good',
  keep: 'Keep it',
  invalidJson: (message: string) => `Not valid JSON, nothing was saved: ${message}`,
  notAnObject: 'A document must be a JSON object { ... }; nothing was saved.',
  saveFailed: (message: string) => `Not saved: ${message}`,
  saved: (collection: string, id: string) => `Saved ${collection} / ${id}.`,
  added: (collection: string, id: string) => `Added ${collection} / ${id}.`,
  deleted: (collection: string, id: string) => `Deleted ${collection} / ${id}.`,
  confirmImport: (file: string, counts: string) =>
    `Import ${file}? It replaces every document of ${counts}; other collections stay.`,
  importNow: 'Import',
  cancel: 'Cancel',
  importNotJson: (file: string, message: string) =>
    `${file} is not valid JSON, nothing was imported: ${message}`,
  importFailed: (message: string) => `Nothing was imported: ${message}`,
  imported: (documents: number, collections: number) =>
    `Imported ${documents} documents into ${collections} collections.`,
  countDocuments: (name: string, n: number) => `${name} (${n} documents)`,

  // storage
  storage: 'Cloud storage',
  noFiles: 'No files in cloud storage.',
  storageFiles: 'cloud storage files',
  storageColumns: ['', 'path', 'size', 'owner', 'uploaded'],
  openFile: 'open',
  admin: '(admin)',
  by: (who: string) => ` by ${who}`,
  linkHolder: 'a link holder',

  // rule denials
  denials: 'Rule denials',
  noDenials: 'No client request was denied.',
  rule: ' · rule ',
  defaultDeny: 'none (default deny)',

  // preview frame
  wechatUser: 'WeChat user',
  usersHelp: 'Each simulated user has their own openid; the page reloads as that user.',
  noOrdersOfUser: 'no orders',
  userOrders: (orders: number, paid: number) =>
    `${orders} ${orders === 1 ? 'order' : 'orders'} · ${paid} paid`,
  phone: 'Phone',
  closeSheet: 'Close (cancel payment)',
  sheetNote:
    'Sandbox: no money moves. 支付 pays, 取消 cancels, 模拟支付失败 makes the payment fail.',
  pageError: (message: string) => `Page error: ${message}`,
  unhandledRejection: (message: string) => `Unhandled rejection: ${message}`,
};

export type Strings = typeof en;

const zh: Strings = {
  consoleTitle: 'wxcloud-emulator 控制台',
  previewTitle: '预览 · wxcloud-emulator',
  connecting: '连接中…',
  offline: '未连接',
  live: '实时',
  reconnecting: '重新连接中…',
  openPreviewAlone: '单独打开预览',
  language: '语言',
  preview: '预览',
  previewFrameTitle: '小程序预览',
  env: '环境',
  envShown: '显示的环境',
  merchant: '商户号',
  couldNotRead: (panel, message) => `无法读取 ${panel}：${message}`,

  controls: '控制',
  emulatedClock: '模拟时钟',
  realTime: '实时',
  aside: (text) => `（${text}）`,
  advance: (step) => `快进 ${step}`,
  nextPayCallback: '下一次支付回调',
  nonePending: '无待生效故障',
  faultDrop: '丢弃一次',
  faultLose: '全部丢失',
  faultDuplicate: '重复发送',
  faultDelay: '延迟 30 秒',
  clearFaults: '清除故障',
  resetData: '重置模拟器数据',
  faultFor: (action) => `下一次回调设置故障 "${action}"`,
  reset: '重置',
  done: (label) => `${label}：完成`,
  failed: (label, message) => `${label}失败：${message}`,
  units: { s: '秒', min: '分钟', h: '小时', d: '天' },

  payments: '支付',
  noOrders: '还没有订单。',
  expired: (state) => `${state}（已过期）`,
  noCallback: '无回调',
  callbackAcknowledged: '回调已确认',
  callbackGivenUp: '回调已放弃',
  callbackPending: (next) => `回调待送达${next ? `（下次 ${next}）` : ''}`,
  orderMeta: (fee, body, payer, created) =>
    `${fee} · ${body} · 付款人 ${payer} · 创建于 ${created}`,
  paidAt: (at) => ` · 支付于 ${at}`,
  paySheet: (decisions) => `支付面板：${decisions}`,
  platformRefund: '在商户平台退款',
  platformRefundOf: (outTradeNo) => `商户平台退款 ${outTradeNo}`,
  callbackAttempts: (fn, count) => `回调 ${fn} 的尝试（${count}）`,
  // The reason is the emulator's own diagnosis, recorded in English.
  attemptColumns: ['#', '触发', '时间（模拟）', '故障', '结果', '原因（模拟器原文）'],
  recorded: {
    acknowledged: '已确认',
    dropped: '已丢弃',
    failed: '调用失败',
    rejected: '被拒绝',
    ok: '成功',
    threw: '抛出异常',
    timeout: '超时',
    not_found: '函数不存在',
    crashed: '崩溃',
    fault: '注入故障',
    confirm: '支付',
    cancel: '取消',
    fail: '模拟支付失败',
  },

  invocations: '云函数调用',
  noInvocations: '还没有调用。',
  cold: '冷启动',
  warm: '热启动',
  event: '事件',
  error: '错误',
  result: '返回值',
  logs: '日志',
  warnings: '警告',
  allOk: '全部成功',
  nFailed: (n) => `${n} 次失败`,
  earlierRuns: (n) => `……以及更早的 ${n} 次`,
  allFunctions: '全部函数',
  allSources: '全部来源',
  filterFunction: '函数',
  filterSource: '来源',

  database: '数据库',
  collections: '集合',
  clientPermission: '客户端权限',
  noCollections: '没有集合。',
  emptyCollection: (name) => `${name} 没有记录。`,
  documentsOf: (name) => `${name} 的记录`,
  moreFields: (n) => `另有 ${n} 个字段：打开记录查看全部。`,
  open: '打开',
  openDocument: (id) => `打开 ${id}`,
  addDocument: '添加记录',
  exportData: '导出',
  importData: '导入…',
  editing: (collection, id) => `${collection} / ${id}`,
  adding: (collection) => `${collection} 的新记录`,
  documentText: '记录（宽松 EJSON）',
  editorHint:
    '日期写作 {"$date": "2024-01-01T00:00:00Z"}。保存整条记录；_id 不可修改。此处不受安全规则限制，与云开发控制台相同。',
  save: '保存',
  close: '关闭',
  delete: '删除',
  confirmDelete: (collection, id) => `从 ${collection} 删除 ${id}？删除后无法恢复。`,
  deleteForGood: '确认删除',
  keep: '保留',
  invalidJson: (message) => `不是有效的 JSON，未保存任何内容：${message}`,
  notAnObject: '记录必须是一个 JSON 对象 { ... }；未保存任何内容。',
  saveFailed: (message) => `未保存：${message}`,
  saved: (collection, id) => `已保存 ${collection} / ${id}。`,
  added: (collection, id) => `已添加 ${collection} / ${id}。`,
  deleted: (collection, id) => `已删除 ${collection} / ${id}。`,
  confirmImport: (file, counts) => `导入 ${file}？将替换 ${counts} 的全部记录；其他集合不变。`,
  importNow: '导入',
  cancel: '取消',
  importNotJson: (file, message) => `${file} 不是有效的 JSON，未导入任何内容：${message}`,
  importFailed: (message) => `未导入任何内容：${message}`,
  imported: (documents, collections) => `已导入 ${collections} 个集合的 ${documents} 条记录。`,
  countDocuments: (name, n) => `${name}（${n} 条记录）`,

  storage: '云存储',
  noFiles: '云存储中没有文件。',
  storageFiles: '云存储文件',
  storageColumns: ['', '路径', '大小', '所有者', '上传时间'],
  openFile: '打开',
  admin: '（管理员）',
  by: (who) => `（${who}）`,
  linkHolder: '持有链接者',

  denials: '规则拒绝',
  noDenials: '没有被拒绝的客户端请求。',
  rule: ' · 规则 ',
  defaultDeny: '无（默认拒绝）',

  wechatUser: '微信用户',
  usersHelp: '每个模拟用户有自己的 openid；切换后页面以该用户身份重新加载。',
  noOrdersOfUser: '无订单',
  userOrders: (orders, paid) => `${orders} 单 · ${paid} 已付`,
  phone: '手机',
  closeSheet: '关闭（取消支付）',
  sheetNote: '沙箱环境：不会真的扣款。支付 确认付款，取消 取消付款，模拟支付失败 让这次支付失败。',
  pageError: (message) => `页面错误：${message}`,
  unhandledRejection: (message) => `未处理的 Promise 拒绝：${message}`,
};

export const STRINGS: Record<Lang, Strings> = { en, zh };

/** The keys whose value is plain text: what a `data-i18n` attribute in a page shell may name. */
export type TextKey = {
  [K in keyof Strings]: Strings[K] extends string ? K : never;
}[keyof Strings];
