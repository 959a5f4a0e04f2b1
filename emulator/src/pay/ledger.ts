import path from 'node:path';
import { Journal, type JournalOptions } from '../database/journal';
import type { JournalEntry } from '../database/store';
import type { Order } from './model';

/**
 * The pay sandbox's persistence: WeChat Pay's side of the data (orders, their refunds, the
 * notifications still to deliver and their retry schedule) kept beside the database's journal, in
 * `<dataDir>/database/pay-journal.jsonl`, with the database's journal (database/journal.ts) and
 * its discipline: each change is one line written with checked, synchronous write(2) calls before
 * anyone is answered (a SIGKILL loses nothing acknowledged), a torn tail is dropped with a warning,
 * the file is compacted at start and in the background, and `reset` journals a clear. The data
 * dir's LOCK, taken by the database service before this opens, covers both files; `--in-memory`
 * keeps neither; `--fresh` removes both (they live in `database/`).
 *
 * Each order is stored whole, as one JSON string (not as EJSON: a callback's reply may hold any
 * keys, `$`-prefixed ones included), so replaying the file in order leaves each order as last
 * written.
 */
export const PAY_JOURNAL_FILE = 'pay-journal.jsonl';

/** What the sandbox needs back after a restart. */
export interface LedgerState {
  orders: Order[];
  /** The paySign key, so payment objects handed out before the restart still verify. */
  signKey?: string;
  /** Emulated time of the last write: the clock resumes from there, never earlier. */
  clockAt?: number;
}

const ORDERS = 'orders';
const META = 'sandbox';

export class PayLedger {
  private readonly journal: Journal;

  constructor(
    dataDir: string,
    private readonly warn: (message: string) => void,
    /** The write(2) seam, for tests that inject a full disk. */
    writeSync?: JournalOptions['writeSync'],
  ) {
    this.journal = new Journal(dataDir, {
      warn,
      ...(writeSync ? { writeSync } : {}),
      file: path.join(dataDir, 'database', PAY_JOURNAL_FILE),
    });
  }

  /**
   * Reads the journal (streamed), then rewrites it compacted and opens it for appending; `live`
   * produces the sandbox's state for later background compactions.
   */
  open(live: () => LedgerState): LedgerState {
    const orders = new Map<string, Order>();
    let meta: { signKey?: string; clockAt?: number } = {};
    for (const entry of this.journal.read()) {
      if (entry.op === 'clear') {
        orders.clear();
        meta = {};
      }
      if (entry.op !== 'write') continue;
      for (const w of entry.writes) {
        const json = w.doc?.json;
        if (typeof json !== 'string') continue;
        if (w.collection === ORDERS) orders.set(String(w.id), JSON.parse(json) as Order);
        if (w.collection === META) meta = JSON.parse(json) as typeof meta;
      }
    }
    const state: LedgerState = { orders: [...orders.values()], ...meta };
    try {
      this.journal.rewrite(entriesOf(state));
    } catch (err) {
      // No room for a compacted copy (disk full): carry on with the journal as it is.
      this.warn(
        `could not compact the pay journal at start, carrying on with it as it is: ${(err as Error).message}`,
      );
      this.journal.resume();
    }
    this.journal.liveEntries = () => entriesOf(live());
    return state;
  }

  /** Journals `orders` as they are now; throws (the journal's clear error) if it cannot. */
  save(orders: Order[], meta: { signKey: string; clockAt: number }): void {
    this.journal.append({
      op: 'write',
      writes: [...orders.map(orderWrite), metaWrite(meta)],
    });
  }

  /** `reset`: the sandbox starts over, and so does its record. */
  clear(): void {
    this.journal.append({ op: 'clear' });
  }

  close(): Promise<void> {
    this.journal.close();
    return this.journal.settled();
  }
}

function orderWrite(order: Order): { collection: string; id: string; doc: { json: string } } {
  // The expiry task is the running process's; a restart schedules a new one.
  const json = JSON.stringify(order, (key, value: unknown) =>
    key === 'expiryTask' ? undefined : value,
  );
  return { collection: ORDERS, id: order.outTradeNo, doc: { json } };
}

function metaWrite(meta: { signKey?: string; clockAt?: number }): {
  collection: string;
  id: string;
  doc: { json: string };
} {
  return { collection: META, id: 'meta', doc: { json: JSON.stringify(meta) } };
}

function* entriesOf(state: LedgerState): Generator<JournalEntry> {
  for (const order of state.orders) yield { op: 'write', writes: [orderWrite(order)] };
  yield { op: 'write', writes: [metaWrite({ signKey: state.signKey, clockAt: state.clockAt })] };
}
