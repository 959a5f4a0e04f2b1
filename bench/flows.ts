// One user paying for one unlock, as a mini-program page does after the tap, through createWx
// (the real @cloudbase/database client for the watch, the emulator's pay sheet for
// requestPayment), the real functions and the real wx-server-sdk inside them.
//
//   watch:   userpay → watch the order → requestPayment → the watch reports paystatus 1
//   polling: userpay → requestPayment → payquery every second (from the confirm) until paid
//   recipe:  the watch design on the recipe-style pair (recipepay / recipenotify fixtures)
//
// The latency measured is the issue's: from the user's confirm on the pay sheet (the moment the
// sheet's decide function runs) to the page learning the order is paid.

import { performance } from 'node:perf_hooks';
import { createWx, type EmulatedWx } from '../emulator/src';
import type { Meter } from './meter';

export type Design = 'watch' | 'polling' | 'recipe';

export interface OrderSample {
  /** Confirm → the page knows it is paid (ms). */
  latencyMs: number;
  /** The tap → userpay's answer (ms): the order-placing part the latency does not include. */
  placeMs: number;
  /** payquery calls the polling page made for this order (0 for watching designs). */
  polls: number;
}

/** Polling page: ask once per second, counted from the confirm, at most this many times. */
export const POLL_INTERVAL_MS = 1000;
const MAX_POLLS = 15;
/** Every wait is bounded: a loop that has not closed by then is a failure, not a slow sample. */
const LOOP_TIMEOUT_MS = 60_000;

interface PlacedOrder {
  docid: string;
  payment: Record<string, unknown>;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function place(wx: EmulatedWx, name: string, openid: string): Promise<PlacedOrder> {
  const res = await wx.cloud.callFunction({ name, data: { itemId: 'demo-unlock' } });
  const result = res.result as Record<string, unknown> | undefined;
  if (!result || typeof result.docid !== 'string' || !result.payment) {
    throw new Error(`${name} for ${openid} answered ${JSON.stringify(result)}`);
  }
  return { docid: result.docid, payment: result.payment as Record<string, unknown> };
}

export async function payOnce(
  url: string,
  openid: string,
  design: Design,
  meter?: Meter,
): Promise<OrderSample> {
  let confirmedAt = NaN;
  const wx = createWx({
    url,
    openid,
    decide: () => {
      confirmedAt = performance.now();
      return 'confirm';
    },
  });
  const tapped = performance.now();
  const order = await place(wx, design === 'recipe' ? 'recipepay' : 'userpay', openid);
  const placeMs = performance.now() - tapped;
  const payment = order.payment as unknown as Parameters<EmulatedWx['requestPayment']>[0];

  if (design === 'polling') {
    await within(wx.requestPayment(payment), LOOP_TIMEOUT_MS, `requestPayment for ${openid}`);
    for (let poll = 1; poll <= MAX_POLLS; poll++) {
      await sleep(Math.max(0, confirmedAt + poll * POLL_INTERVAL_MS - performance.now()));
      const res = await wx.cloud.callFunction({ name: 'payquery', data: { docid: order.docid } });
      const answer = res.result as { paystatus?: unknown } | undefined;
      if (answer?.paystatus === 1) {
        return { latencyMs: performance.now() - confirmedAt, placeMs, polls: poll };
      }
    }
    throw new Error(`payquery never reported ${order.docid} paid after ${MAX_POLLS} polls`);
  }

  // Watch first, as the page does (the callback can land before requestPayment resolves). The
  // bench waits for the watch's first snapshot before paying, so the loop measured is the pushed
  // change, not the watch's set-up.
  let initialised!: () => void;
  let paid!: (at: number) => void;
  let failed!: (err: unknown) => void;
  const ready = new Promise<void>((resolve) => (initialised = resolve));
  const seen = new Promise<number>((resolve, reject) => {
    paid = resolve;
    failed = reject;
  });
  const watcher = wx.cloud
    .database()
    .collection('USERPAYLOG')
    .where({ _id: order.docid, _openid: '{openid}' })
    .watch({
      onChange: (snapshot: unknown) => {
        const at = performance.now();
        meter?.watchMessage();
        initialised();
        const docs = (snapshot as { docs?: unknown }).docs;
        if (
          Array.isArray(docs) &&
          docs.some((d: { _id?: unknown; paystatus?: unknown }) => {
            return d._id === order.docid && d.paystatus === 1;
          })
        ) {
          paid(at);
        }
      },
      onError: (err: unknown) => {
        failed(new Error(`watch of ${order.docid} for ${openid} failed: ${describe(err)}`));
      },
    });
  try {
    await within(Promise.race([ready, seen]), LOOP_TIMEOUT_MS, `watch init for ${openid}`);
    await within(wx.requestPayment(payment), LOOP_TIMEOUT_MS, `requestPayment for ${openid}`);
    const at = await within(seen, LOOP_TIMEOUT_MS, `watch seeing ${order.docid} paid`);
    return { latencyMs: at - confirmedAt, placeMs, polls: 0 };
  } finally {
    await watcher.close().catch(() => undefined);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
