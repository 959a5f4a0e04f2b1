// A small, honest stand-in for the page's backend: the cloud database (with the owner-read
// security rule and realtime watch), the `userpay` and `payquery` functions, WeChat Pay's pay
// sheet and its callback. It keeps the contract of docs/architecture.md so that a later issue can
// swap it for the emulator's real `createWx` without touching the tests' expectations: tests use
// only the `PageBackend` interface below.

import type {
  PageWx,
  PaymentParams,
  WatchSnapshot,
} from '../../../miniprogram/services/unlock-api';

/** How the user ends the pay sheet. */
export type PaySheetOutcome =
  | 'confirm'
  | 'cancel'
  | 'fail'
  /** The sheet says ok but WeChat Pay has not recorded the payment yet (still USERPAYING). */
  | 'processing'
  /** The sheet stays open until the test calls `endPaySheet`. */
  | 'open';

/** What happens to WeChat Pay's callback after a confirmed payment. */
export type CallbackDelivery =
  /** It reaches userpaynotify at once (before requestPayment resolves, as can happen). */
  | 'immediate'
  /** It waits until the test calls `deliverCallbacks()` (the usual: it lands after the sheet). */
  | 'held'
  /** It is lost: only payquery (which asks WeChat Pay) can find the payment. */
  | 'dropped';

/** What page tests may do to the backend. Keep it small: the emulator must be able to play it. */
export interface PageBackend {
  readonly wx: PageWx;
  readonly openid: string;
  setPlatform(platform: string): void;
  setPaySheet(outcome: PaySheetOutcome): void;
  /** Ends the pay sheets left 'open' with this outcome. */
  endPaySheet(outcome: Exclude<PaySheetOutcome, 'open'>): Promise<void>;
  setCallbackDelivery(delivery: CallbackDelivery): void;
  /** The next userpay calls answer this business error. */
  failUserpay(errcode: number, errmsg: string): void;
  /** While down, every database read and function call fails as with no network. */
  setNetworkDown(down: boolean): void;
  /** A paid unlock record for the user, as a previous visit would have left. */
  grantUnlock(itemId: string): void;
  /**
   * A pending order left by an earlier visit; `paidAtWeChat` when the user paid it but the
   * callback never arrived. Returns its doc id.
   */
  addPendingOrder(itemId: string, options: { paidAtWeChat: boolean }): string;
  deliverCallbacks(): void;
  /** WeChat Pay completes the 'processing' payments and its callback lands. */
  completeProcessingPayments(): void;
  /** Closes every unpaid pending order, as `payexpire` does once their lifetime is over. */
  expireOrders(): void;
  /** Every open watch gets onError (as when the socket drops and cannot recover). */
  breakWatches(error: unknown): void;
  /**
   * What the page asked of the backend, in order: 'get USERUNLOCK', 'call userpay {"itemId":...}',
   * 'watch USERPAYLOG', 'requestPayment', ...
   */
  interactions(): string[];
  /** How many times a function was called. */
  callCount(name: string): number;
  openWatchCount(): number;
  watchesOpened(): number;
  order(docid: string): Readonly<Record<string, unknown>> | undefined;
  isUnlocked(itemId: string): boolean;
}

type Doc = Record<string, unknown> & { _id: string };

interface Watcher {
  collection: string;
  where: Record<string, unknown>;
  onChange: (snapshot: WatchSnapshot) => void;
  onError: (error: unknown) => void;
  open: boolean;
}

const OPENID_MARK = '{openid}';

function permissionDenied(collection: string): Error & { errCode: number; errMsg: string } {
  const errMsg = `database permission denied: a query on ${collection} must include _openid: '{openid}'`;
  return Object.assign(new Error(errMsg), { errCode: -502003, errMsg });
}

export function createFakeCloud(options: { openid?: string } = {}): PageBackend {
  const openid = options.openid ?? 'o-test-user';
  const collections: Record<string, Doc[]> = { USERPAYLOG: [], USERUNLOCK: [] };
  /** WeChat Pay's own view: trade numbers paid at the pay sheet. */
  const paidAtWeChat = new Set<string>();
  const heldCallbacks: string[] = [];
  const processing: string[] = [];
  const openSheets: {
    tradeno: string;
    end: (outcome: Exclude<PaySheetOutcome, 'open'>) => void;
  }[] = [];
  const watchers: Watcher[] = [];
  const log: string[] = [];
  let opened = 0;
  let seq = 0;
  let platform = 'android';
  let paySheet: PaySheetOutcome = 'confirm';
  let delivery: CallbackDelivery = 'held';
  let userpayFault: { errcode: number; errmsg: string } | null = null;
  let networkDown = false;
  const offline = (api: string) => ({ errMsg: `${api}:fail network error` });

  const resolveMarks = (where: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(where).map(([k, v]) => [k, v === OPENID_MARK ? openid : v]));

  function matching(collection: string, where: Record<string, unknown>): Doc[] {
    // The rule of both collections is "owner reads": like the real database, a query that is not
    // a subset of it is refused rather than filtered.
    if (where._openid !== OPENID_MARK) throw permissionDenied(collection);
    const resolved = resolveMarks(where);
    return (collections[collection] ?? []).filter((doc) =>
      Object.entries(resolved).every(([k, v]) => doc[k] === v),
    );
  }

  function notify(collection: string): void {
    for (const w of watchers) {
      if (!w.open || w.collection !== collection) continue;
      const docs = matching(collection, w.where).map((d) => ({ ...d }));
      w.onChange({ docs });
    }
  }

  function markPaid(tradeno: string): void {
    const order = collections.USERPAYLOG.find((d) => d.tradeno === tradeno);
    if (!order || order.paystatus === 1) return; // idempotent, as the real callback must be
    Object.assign(order, { status: 'paid', paystatus: 1 });
    collections.USERUNLOCK.push({
      _id: `unlock-${++seq}`,
      _openid: openid,
      itemId: order.itemId,
      tradeno,
    });
    notify('USERPAYLOG');
  }

  function newOrder(itemId: string): Doc {
    seq += 1;
    const order: Doc = {
      _id: `order-${seq}`,
      _openid: openid,
      openid,
      itemId,
      tradeno: `T${String(seq).padStart(8, '0')}`,
      totalfee: 1,
      status: 'pending',
      paystatus: 0,
    };
    collections.USERPAYLOG.push(order);
    return order;
  }

  const functions: Record<string, (data: Record<string, unknown>) => unknown> = {
    userpay(data) {
      if (typeof data.itemId !== 'string')
        return { errcode: 40001, errmsg: 'itemId must be a string' };
      if (userpayFault) return userpayFault;
      if (collections.USERUNLOCK.some((d) => d.itemId === data.itemId)) return { unlocked: true };
      const order = newOrder(data.itemId);
      const payment: PaymentParams = {
        timeStamp: '1700000000',
        nonceStr: `n${seq}`,
        package: `prepay_id=${String(order.tradeno)}`,
        signType: 'MD5',
        paySign: 'SIGN',
      };
      return {
        docid: order._id,
        tradeno: order.tradeno,
        payment: { appId: 'wx0000000000000000', ...payment },
      };
    },
    payquery(data) {
      const order = collections.USERPAYLOG.find((d) => d._id === data.docid);
      if (!order) return { errcode: 40004, errmsg: 'no such order' };
      // Asks WeChat Pay and applies the answer, as the real payquery does.
      if (paidAtWeChat.has(String(order.tradeno))) markPaid(String(order.tradeno));
      return {
        docid: order._id,
        tradeno: order.tradeno,
        status: order.status,
        paystatus: order.paystatus,
      };
    },
  };

  const wx: PageWx = {
    cloud: {
      async callFunction({ name, data }) {
        log.push(`call ${name} ${JSON.stringify(data)}`);
        if (networkDown) throw offline('cloud.callFunction');
        const fn = functions[name];
        if (!fn)
          throw { errMsg: `cloud.callFunction:fail FunctionName parameter could not be found` };
        return { result: fn(data) };
      },
      database() {
        return {
          collection(name: string) {
            return {
              where(where: Record<string, unknown>) {
                return {
                  async get() {
                    log.push(`get ${name}`);
                    if (networkDown) throw offline('collection.get');
                    return { data: matching(name, where).map((d) => ({ ...d })) };
                  },
                  watch({ onChange, onError }) {
                    log.push(`watch ${name}`);
                    matching(name, where); // the rule applies to watches too
                    const watcher: Watcher = {
                      collection: name,
                      where,
                      onChange,
                      onError,
                      open: true,
                    };
                    watchers.push(watcher);
                    opened += 1;
                    // The init snapshot arrives asynchronously, as over the real socket.
                    void Promise.resolve().then(() => {
                      if (watcher.open)
                        onChange({ docs: matching(name, where).map((d) => ({ ...d })) });
                    });
                    return {
                      async close() {
                        watcher.open = false;
                      },
                    };
                  },
                };
              },
            };
          },
        };
      },
    },
    async requestPayment(params) {
      log.push('requestPayment');
      const tradeno = params.package.replace(/^prepay_id=/, '');
      if (!collections.USERPAYLOG.some((d) => d.tradeno === tradeno)) {
        throw { errMsg: 'requestPayment:fail invalid package' };
      }
      const outcome =
        paySheet === 'open'
          ? await new Promise<Exclude<PaySheetOutcome, 'open'>>((end) =>
              openSheets.push({ tradeno, end }),
            )
          : paySheet;
      if (outcome === 'cancel') throw { errMsg: 'requestPayment:fail cancel' };
      if (outcome === 'fail') throw { errMsg: 'requestPayment:fail system error' };
      if (outcome === 'processing') {
        processing.push(tradeno);
        return { errMsg: 'requestPayment:ok' };
      }
      paidAtWeChat.add(tradeno);
      if (delivery === 'immediate') markPaid(tradeno);
      if (delivery === 'held') heldCallbacks.push(tradeno);
      return { errMsg: 'requestPayment:ok' };
    },
    getDeviceInfo: () => ({ platform }),
  };

  return {
    wx,
    openid,
    setPlatform: (p) => void (platform = p),
    setPaySheet: (o) => void (paySheet = o),
    setNetworkDown: (down) => void (networkDown = down),
    async endPaySheet(outcome) {
      if (openSheets.length === 0) throw new Error('endPaySheet: no pay sheet is open');
      for (const sheet of openSheets.splice(0)) sheet.end(outcome);
    },
    setCallbackDelivery: (d) => void (delivery = d),
    failUserpay: (errcode, errmsg) => void (userpayFault = { errcode, errmsg }),
    grantUnlock(itemId) {
      collections.USERUNLOCK.push({
        _id: `unlock-${++seq}`,
        _openid: openid,
        itemId,
        tradeno: 'T-earlier',
      });
    },
    addPendingOrder(itemId, { paidAtWeChat: paid }) {
      const order = newOrder(itemId);
      if (paid) paidAtWeChat.add(String(order.tradeno));
      return order._id;
    },
    deliverCallbacks() {
      for (const tradeno of heldCallbacks.splice(0)) markPaid(tradeno);
    },
    completeProcessingPayments() {
      for (const tradeno of processing.splice(0)) {
        paidAtWeChat.add(tradeno);
        markPaid(tradeno);
      }
    },
    expireOrders() {
      for (const order of collections.USERPAYLOG) {
        if (order.status === 'pending' && !paidAtWeChat.has(String(order.tradeno)))
          order.status = 'closed';
      }
      notify('USERPAYLOG');
    },
    breakWatches(error) {
      // Only the watches open now: one the page re-opens from onError is a new connection.
      for (const w of watchers.filter((x) => x.open)) {
        w.open = false; // a watch that reported an error is dead
        w.onError(error);
      }
    },
    interactions: () => [...log],
    callCount: (name) => log.filter((line) => line.startsWith(`call ${name} `)).length,
    openWatchCount: () => watchers.filter((w) => w.open).length,
    watchesOpened: () => opened,
    order: (docid) => collections.USERPAYLOG.find((d) => d._id === docid),
    isUnlocked: (itemId) => collections.USERUNLOCK.some((d) => d.itemId === itemId),
  };
}
