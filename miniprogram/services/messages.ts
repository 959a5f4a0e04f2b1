// Every user-facing text of the unlock page, in one place. The recipe's users read Chinese.

export const messages = {
  confirming: '正在确认支付结果…',
  cancelled: '支付已取消',
  failed: '支付失败，请重试',
  serverError: '服务器繁忙，请稍后重试',
  loadFailed: '加载失败，请检查网络后重试',
  orderEnded: '订单已关闭，请重新支付',
  unconfirmed: '暂未确认到支付结果。如已付款，请稍后重新进入本页查看，无需重复支付',
  unsupported: '根据微信平台规定，iOS 暂不支持购买虚拟商品，请在安卓或电脑端微信中解锁',
  unlocked: '已解锁',
} as const;

export type MessageKey = keyof typeof messages;

export const labels = {
  loading: '加载中…',
  pay: '付费解锁',
  paying: '支付中…',
  confirming: '确认中…',
  unlocked: '已解锁',
} as const;

export const contentTexts = {
  loadFailed: '内容加载失败，请稍后重试',
  openFailed: '文件打开失败，已刷新链接，请再试一次',
} as const;

export const catalogTexts = {
  locked: '未解锁',
  unlocked: '已解锁',
  failed: '列表加载失败，请稍后重试',
  empty: '暂无内容',
  noPurchases: '还没有购买任何内容',
} as const;

/** A file size for people: 916 -> '916 B', 20480 -> '20.0 KB'. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Formats an amount in fen (WeChat Pay's unit) as yuan for display: 1 -> '¥0.01'. */
export function formatFen(fen: number): string {
  if (!Number.isInteger(fen) || fen < 0) {
    throw new Error(`formatFen: expected a non-negative integer number of fen, got ${String(fen)}`);
  }
  const yuan = Math.floor(fen / 100);
  const rest = fen % 100;
  return `¥${yuan}.${rest < 10 ? '0' : ''}${rest}`;
}

/** The server error text, with the server's code so a user can quote it to support. */
export function serverErrorText(errcode: number | undefined): string {
  return errcode === undefined
    ? messages.serverError
    : `${messages.serverError}（错误码 ${errcode}）`;
}
