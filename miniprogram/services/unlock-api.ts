// The page's only door to the cloud. It takes a `wx` (the real one in the mini-program, a test
// double or the emulator's `createWx` elsewhere) and turns the wire answers of the database and
// of the `userpay` / `payquery` functions into small typed results. Nothing here keeps state.

/** The fields `wx.requestPayment` takes, as `userpay` returns them in `payment`. */
export interface PaymentParams {
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'MD5' | 'HMAC-SHA256' | 'RSA';
  paySign: string;
}

export interface WatchSnapshot {
  docs: readonly Record<string, unknown>[] | Record<string, unknown>;
}

export interface WatchHandle {
  close(): Promise<unknown>;
}

export interface PageQuery {
  get(): Promise<{ data: Record<string, unknown>[] }>;
  watch(options: {
    onChange: (snapshot: WatchSnapshot) => void;
    onError: (error: unknown) => void;
  }): WatchHandle;
}

/**
 * The part of `wx` the page uses. The real `wx` satisfies it (the page passes the global `wx`,
 * so the mini-program's type-check proves it); so must every double.
 */
export interface PageWx {
  cloud: {
    callFunction(param: {
      name: string;
      data: Record<string, unknown>;
    }): Promise<{ result?: unknown }>;
    database(): {
      collection(name: string): { where(condition: Record<string, unknown>): PageQuery };
    };
  };
  /** Promise style (base library ≥ 2.10.2): rejects with `{errMsg}` on cancel or failure. */
  requestPayment(params: PaymentParams): Promise<unknown>;
  getDeviceInfo?: () => { platform: string };
  getSystemInfoSync?: () => { platform: string };
}

/** The database's magic string: the server substitutes the caller's openid (matches the platform). */
export const OPENID = '{openid}';

export type UserpayAnswer =
  | { kind: 'unlocked' }
  | { kind: 'order'; docid: string; tradeno: string; payment: PaymentParams }
  | { kind: 'error'; errcode: number; errmsg: string };

export type PayqueryAnswer =
  | { kind: 'order'; status: string; paystatus: number }
  | { kind: 'error'; errcode: number; errmsg: string };

export type PaymentOutcome = { kind: 'ok' } | { kind: 'cancel' } | { kind: 'fail'; errMsg: string };

/** What the watch tells about the order: enough to decide paid / ended / still open. */
export interface OrderSighting {
  paystatus: unknown;
  status: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorAnswer(
  value: Record<string, unknown>,
): { kind: 'error'; errcode: number; errmsg: string } | null {
  if (typeof value.errcode === 'number' && value.errcode !== 0) {
    return { kind: 'error', errcode: value.errcode, errmsg: String(value.errmsg ?? '') };
  }
  return null;
}

function parsePayment(value: unknown): PaymentParams | null {
  if (!isRecord(value)) return null;
  const { timeStamp, nonceStr, signType, paySign } = value;
  const pkg = value.package;
  if (
    typeof timeStamp !== 'string' ||
    typeof nonceStr !== 'string' ||
    typeof pkg !== 'string' ||
    typeof paySign !== 'string' ||
    (signType !== 'MD5' && signType !== 'HMAC-SHA256' && signType !== 'RSA')
  ) {
    return null;
  }
  // Only the fields requestPayment takes: CloudPay's `payment` also carries appId, which it ignores.
  return { timeStamp, nonceStr, package: pkg, signType, paySign };
}

export function parseUserpayAnswer(result: unknown): UserpayAnswer {
  if (!isRecord(result)) {
    return { kind: 'error', errcode: -1, errmsg: 'userpay answered nothing usable' };
  }
  const error = errorAnswer(result);
  if (error) return error;
  if (result.unlocked === true) return { kind: 'unlocked' };
  const payment = parsePayment(result.payment);
  if (typeof result.docid === 'string' && typeof result.tradeno === 'string' && payment) {
    return { kind: 'order', docid: result.docid, tradeno: result.tradeno, payment };
  }
  return {
    kind: 'error',
    errcode: -1,
    errmsg: 'userpay answered without docid, tradeno or payment',
  };
}

export function parsePayqueryAnswer(result: unknown): PayqueryAnswer {
  if (!isRecord(result))
    return { kind: 'error', errcode: -1, errmsg: 'payquery answered nothing usable' };
  const error = errorAnswer(result);
  if (error) return error;
  if (typeof result.status === 'string' && typeof result.paystatus === 'number') {
    return { kind: 'order', status: result.status, paystatus: result.paystatus };
  }
  return { kind: 'error', errcode: -1, errmsg: 'payquery answered without status or paystatus' };
}

function errMsgOf(error: unknown): string {
  if (isRecord(error) && typeof error.errMsg === 'string') return error.errMsg;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function classifyPaymentError(error: unknown): PaymentOutcome {
  const errMsg = errMsgOf(error);
  // 'requestPayment:fail cancel' is the user closing the sheet (also reported for some signature
  // errors, which we cannot tell apart here).
  if (/fail cancel$/.test(errMsg)) return { kind: 'cancel' };
  return { kind: 'fail', errMsg };
}

function docsOf(snapshot: WatchSnapshot): Record<string, unknown>[] {
  const docs = snapshot.docs;
  return Array.isArray(docs) ? docs.filter(isRecord) : [];
}

export interface UnlockApi {
  hasUnlock(itemId: string): Promise<boolean>;
  /** The id of one of the user's pending orders for the item, if any. */
  findPendingOrder(itemId: string): Promise<string | null>;
  userpay(itemId: string): Promise<UserpayAnswer>;
  payquery(docid: string): Promise<PayqueryAnswer>;
  requestPayment(payment: PaymentParams): Promise<PaymentOutcome>;
  /** Watches one order; `onOrder` gets the record each time the watch reports it. */
  watchOrder(
    docid: string,
    handlers: { onOrder: (order: OrderSighting) => void; onError: (error: unknown) => void },
  ): WatchHandle;
  platform(): string;
}

export function createUnlockApi(wx: PageWx): UnlockApi {
  const db = () => wx.cloud.database();

  async function callFunction(name: string, data: Record<string, unknown>): Promise<unknown> {
    // A platform failure (no network, function crashed or timed out) rejects; callers treat it
    // like a server error.
    const answer = await wx.cloud.callFunction({ name, data });
    return answer.result;
  }

  return {
    async hasUnlock(itemId) {
      // Matches USERUNLOCK's rule (owner reads): the query names '{openid}' so it is a subset of it.
      const res = await db().collection('USERUNLOCK').where({ _openid: OPENID, itemId }).get();
      return res.data.length > 0;
    },
    async findPendingOrder(itemId) {
      const res = await db()
        .collection('USERPAYLOG')
        .where({ _openid: OPENID, itemId, status: 'pending' })
        .get();
      const first = res.data.find((doc) => typeof doc._id === 'string');
      return first ? (first._id as string) : null;
    },
    async userpay(itemId) {
      return parseUserpayAnswer(await callFunction('userpay', { itemId }));
    },
    async payquery(docid) {
      return parsePayqueryAnswer(await callFunction('payquery', { docid }));
    },
    async requestPayment(payment) {
      try {
        await wx.requestPayment({ ...payment });
        return { kind: 'ok' };
      } catch (error) {
        return classifyPaymentError(error);
      }
    },
    watchOrder(docid, handlers) {
      return db()
        .collection('USERPAYLOG')
        .where({ _id: docid, _openid: OPENID })
        .watch({
          onChange: (snapshot) => {
            for (const doc of docsOf(snapshot)) {
              if (doc._id === docid)
                handlers.onOrder({ paystatus: doc.paystatus, status: doc.status });
            }
          },
          onError: handlers.onError,
        });
    },
    platform() {
      if (wx.getDeviceInfo) return wx.getDeviceInfo().platform;
      if (wx.getSystemInfoSync) return wx.getSystemInfoSync().platform;
      return 'unknown';
    },
  };
}
