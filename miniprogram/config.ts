// The one place to configure the mini-program. Everything here is read by the page at run time;
// nothing here is a secret (the mini-program's code is public).

/** How the page treats iOS, where WeChat restricts paying for virtual goods in mini-programs. */
export type IosPolicy =
  /** Show a clear notice instead of the pay button (the safe default). */
  | 'notice'
  /** Offer payment on iOS as everywhere else (only if your category and WeChat's rules allow it). */
  | 'allow';

export interface AppConfig {
  /**
   * Your cloud environment id. Put the FULL env id here, as the cloud console shows it
   * (for example 'prod-4g5h6j7k8l9m0n1p'), not its short alias: CloudPay callbacks are routed by
   * the full id. 'local-env' is the local emulator's default env id.
   */
  envId: string;
  /** The item this page sells when the page is opened without an `itemId` query. */
  itemId: string;
  /** Shown to the user only. The price actually charged is decided by the server's catalog. */
  itemTitle: string;
  displayPriceFen: number;
  iosPolicy: IosPolicy;
  /**
   * After `wx.requestPayment` succeeds, how long to wait for the watch to report the payment
   * before asking the server (`payquery`). WeChat's callback normally lands within a second or two.
   */
  confirmFallbackMs: number;
  /** Delays between successive `payquery` attempts (bounded: one attempt per entry). */
  payqueryBackoffMs: readonly number[];
}

export const config: AppConfig = {
  envId: 'local-env',
  itemId: 'demo-unlock',
  itemTitle: '解锁全文',
  displayPriceFen: 1,
  iosPolicy: 'notice',
  confirmFallbackMs: 3000,
  payqueryBackoffMs: [0, 2000, 4000, 8000],
};
