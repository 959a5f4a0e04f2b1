// The pay sheet `wx.requestPayment` opens, as control routes: a client (createWx, the browser
// preview) registers the payment object it was given, then waits for the payer's decision.
//
//   POST /emulator/v1/pay/requests {payment, openid}       -> 201 {request}
//   GET  /emulator/v1/pay/requests                          -> {requests} (open sheets first)
//   GET  /emulator/v1/pay/requests/{id}?waitMs=N            -> {request}, after up to N ms (long poll)
//
// The decision itself is made through the existing order routes
// (/emulator/v1/pay/orders/{outTradeNo}/confirm|cancel|fail) or the preview's pay sheet; this
// module only watches the order's decisions, so there is one place where a payment is decided.
// A sheet ends with the first decision recorded after it was opened; an order that stops being
// payable (closed, expired, paid elsewhere) ends it as a failure.

import crypto from 'node:crypto';
import type { Hono } from 'hono';
import { EmulatorError } from '../errors';
import type { EmulatorContext } from '../service';
import type { Decision, OrderView } from './sandbox';

/** Longest single long poll; clients ask again (bounded on their side) for longer waits. */
export const MAX_WAIT_MS = 25_000;
/** Sheets kept for inspection; the oldest ended ones go first. */
const MAX_REQUESTS = 500;

export type SheetState = 'open' | Decision;

export interface PayRequestView {
  id: string;
  outTradeNo: string;
  openid: string;
  /** What the sheet shows: the order's description and amount (fen). */
  body: string;
  totalFee: number;
  openedAt: string;
  state: SheetState;
  /** Why a sheet ended as 'fail' when no payer decided it (order closed, expired, ...). */
  detail?: string;
  endedAt?: string;
}

interface PayRequest extends PayRequestView {
  /** Decisions the order had when the sheet opened: later ones belong to this sheet. */
  decisionsBefore: number;
}

export class PayRequests {
  private readonly requests = new Map<string, PayRequest>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly ctx: EmulatorContext) {
    // Every decision and order change is a 'pay.order' event: re-check open sheets then, rather
    // than polling. A reset forgets every sheet (their orders are gone).
    ctx.events.subscribe((event) => {
      if (event.type === 'emulator.reset') this.requests.clear();
      if (event.type === 'pay.order' || event.type === 'emulator.reset') this.wakeAll();
    });
  }

  open(payment: unknown, openid: unknown): PayRequestView {
    if (typeof openid !== 'string' || !openid) {
      throw new EmulatorError('INVALID_PARAM', 'pay/requests needs {"openid": "<the payer>"}');
    }
    const pay = this.ctx.services.pay;
    const verified = pay.verifyPayment(payment);
    if (!verified.ok) throw new EmulatorError('INVALID_PAYMENT', verified.reason);
    const order = verified.order;
    if (order.openid && order.openid !== openid) {
      // The platform's pay sheet refuses a payment made for another user.
      throw new EmulatorError(
        'WRONG_PAYER',
        `requestPayment: order "${order.outTradeNo}" was placed for another user, not "${openid}"`,
        403,
      );
    }
    const request: PayRequest = {
      id: crypto.randomUUID(),
      outTradeNo: order.outTradeNo,
      openid,
      body: order.body,
      totalFee: order.totalFee,
      openedAt: new Date(this.ctx.clock.now()).toISOString(),
      state: 'open',
      decisionsBefore: order.decisions.length,
    };
    this.requests.set(request.id, request);
    this.prune();
    this.refresh(request);
    this.ctx.events.emit('pay.order', {
      event: 'sheet_opened',
      outTradeNo: order.outTradeNo,
      requestId: request.id,
      openid,
    });
    return view(request);
  }

  get(id: string): PayRequestView {
    const request = this.requests.get(id);
    if (!request) {
      throw new EmulatorError('NOT_FOUND', `no pay sheet "${id}" (reset, or never opened)`, 404);
    }
    this.refresh(request);
    return view(request);
  }

  list(): PayRequestView[] {
    const all = [...this.requests.values()];
    for (const r of all) this.refresh(r);
    return all.sort((a, b) => Number(b.state === 'open') - Number(a.state === 'open')).map(view);
  }

  /** Resolves once the sheet has ended or `waitMs` passed (real time: a client is waiting). */
  async wait(id: string, waitMs: number): Promise<PayRequestView> {
    let current = this.get(id);
    if (current.state !== 'open' || waitMs <= 0) return current;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        const request = this.requests.get(id);
        if (!request) return done();
        this.refresh(request);
        if (request.state !== 'open') done();
      };
      const timer = setTimeout(done, Math.min(waitMs, MAX_WAIT_MS));
      // A waiting client must not keep a stopping emulator's process alive.
      timer.unref?.();
      this.waiters.add(check);
    });
    current = this.requests.has(id) ? this.get(id) : { ...current, state: 'fail', detail: 'reset' };
    return current;
  }

  /** Ends every waiting long poll (emulator stop). */
  close(): void {
    this.requests.clear();
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const check of [...this.waiters]) check();
  }

  /** Derives the sheet's state from the order: the first decision since it opened ends it. */
  private refresh(request: PayRequest): void {
    if (request.state !== 'open') return;
    const order: OrderView | undefined = this.ctx.services.pay.getOrder(request.outTradeNo);
    const now = new Date(this.ctx.clock.now()).toISOString();
    if (!order) {
      Object.assign(request, { state: 'fail', detail: 'order no longer exists', endedAt: now });
      return;
    }
    const decision = order.decisions[request.decisionsBefore];
    if (decision) {
      Object.assign(request, { state: decision.decision, endedAt: decision.time });
      return;
    }
    if (order.tradeState !== 'NOTPAY') {
      const detail = `order is ${order.tradeState}`;
      Object.assign(request, { state: 'fail', detail, endedAt: now });
    } else if (order.expired) {
      Object.assign(request, { state: 'fail', detail: 'order expired', endedAt: now });
    }
  }

  private prune(): void {
    if (this.requests.size <= MAX_REQUESTS) return;
    for (const [id, r] of this.requests) {
      if (this.requests.size <= MAX_REQUESTS) break;
      if (r.state !== 'open') this.requests.delete(id);
    }
  }
}

function view(request: PayRequest): PayRequestView {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { decisionsBefore, ...rest } = request;
  return { ...rest };
}

/** Registers the pay sheet routes on the control app (under /emulator/v1). */
export function payRequestRoutes(app: Hono, ctx: EmulatorContext): PayRequests {
  const sheets = new PayRequests(ctx);
  app.post('/pay/requests', async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new EmulatorError(
        'INVALID_PARAM',
        'pay/requests needs a JSON body {"payment": {...}, "openid": "..."}',
      );
    }
    return c.json({ request: sheets.open(body.payment, body.openid) }, 201);
  });
  app.get('/pay/requests', (c) => c.json({ requests: sheets.list() }));
  app.get('/pay/requests/:id', async (c) => {
    const raw = c.req.query('waitMs');
    const waitMs = raw === undefined ? 0 : Number(raw);
    if (!Number.isFinite(waitMs) || waitMs < 0) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `waitMs must be a non-negative number, got "${raw}"`,
      );
    }
    return c.json({ request: await sheets.wait(c.req.param('id'), waitMs) });
  });
  return sheets;
}
