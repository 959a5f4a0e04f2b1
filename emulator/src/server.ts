import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import { createAdminDispatch, parseJsonBody, platformErrorBody } from './admin';
import { BODY_LIMITS } from './body-limits';
import { controlEnv } from './envs';
import { EmulatorError } from './errors';
import { EVENT_TYPES, type EmulatorEvent, type EmulatorEventType } from './events';
import { payRequestRoutes } from './pay/requests';
import { processMemory } from './memory';
import { orderedServices, resetEmulator, resetEnv } from './registry';
import type { EmulatorContext } from './service';

function limitBody(maxSize: number, what: string): MiddlewareHandler {
  const tooLarge = (c: Context): Response =>
    c.json(
      {
        error: {
          code: 'EXCEED_MAX_PAYLOAD_SIZE',
          message: `request body too large: ${what} take at most ${maxSize} bytes (the cloud's limit); nothing was done`,
          limitBytes: maxSize,
        },
      },
      413,
    );
  const streamed = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // A declared length (what the SDKs and fetch send) is judged from the header alone. hono's
    // bodyLimit reads c.req.raw.body first, which makes @hono/node-server build a full web
    // Request and stream for every request and loses its direct body read: about a third of the
    // emulator's CPU per warm invocation (bench --profile invoke). A chunked body is counted as
    // it streams in, by hono's middleware.
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number(length) > maxSize ? tooLarge(c) : next();
    }
    return streamed(c, next);
  };
}

/**
 * What one `/events` subscriber may have waiting (serialized) before it is dropped: a client that
 * stops reading must not make the emulator keep every event for it. A dropped client reconnects
 * with `Last-Event-ID` (EventSource does) and gets what it missed from the event log.
 */
export const SSE_BUFFER_CHARS = 4 * 1024 * 1024;

/** The latest time the emulated clock may show: the end of year 9999. */
const LATEST_EMULATED_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** One event as an SSE message. */
function serialize(event: EmulatorEvent): { id: string; event: string; data: string } {
  return { id: String(event.id), event: event.type, data: JSON.stringify(event) };
}

/** The platform's wire shape for a failed /admin action: HTTP 200 with `code` and `message`. */
function platformError(c: Context, err: unknown): Response {
  return c.json(platformErrorBody(err));
}

/** Control-route errors: a real HTTP status and `{error: {code, message}}`. */
function controlError(c: Context, err: unknown): Response {
  if (err instanceof EmulatorError) {
    return c.json(
      { error: { code: err.code, message: err.message } },
      err.status === 200 ? 400 : err.status,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return c.json({ error: { code: 'INTERNAL', message } }, 500);
}

/** The SDK posts JSON for most actions and multipart for `wx.*` calls; both become one record. */
async function readActionBody(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (type.includes('multipart/form-data')) {
    const form = await c.req.parseBody({ all: false });
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(form)) {
      body[key] =
        typeof value === 'string' ? value : Buffer.from(await (value as Blob).arrayBuffer());
    }
    return body;
  }
  return parseJsonBody(await c.req.text());
}

/** Builds the HTTP app (no socket): the SDK's /admin protocol plus the control API. */
export function createApp(ctx: EmulatorContext): Hono {
  const services = orderedServices(ctx.services);
  const dispatch = createAdminDispatch(ctx);
  const app = new Hono();
  app.use('/admin', limitBody(BODY_LIMITS.other, 'SDK requests'));
  app.use('/admin/*', limitBody(BODY_LIMITS.other, 'SDK requests'));

  const admin = async (
    c: Context,
    instanceId: string | undefined,
    client?: { openid: string },
  ): Promise<Response> =>
    c.json(
      await dispatch({
        instanceId,
        client,
        env: c.req.query('env'),
        headers: c.req.header(),
        body: () => readActionBody(c),
      }),
    );
  app.post('/admin', (c) => admin(c, undefined));
  // Emulated instances get their own path so requests can be tied to the invocation that made them.
  app.post('/admin/instances/:instanceId', (c) => admin(c, c.req.param('instanceId')));
  // Mini-program clients (createWx): the same actions, as the user the header names; rules apply.
  app.post('/admin/client', (c) => {
    const openid = c.req.header('x-wxcloud-openid');
    if (!openid) {
      return platformError(
        c,
        new EmulatorError('INVALID_PARAM', '/admin/client needs an x-wxcloud-openid header'),
      );
    }
    return admin(c, undefined, { openid });
  });

  const control = new Hono();
  control.onError((err, c) => controlError(c, err));
  control.use(
    '/functions/:name/invoke',
    limitBody(BODY_LIMITS.functionInvoke, 'function invocations'),
  );
  control.use('*', limitBody(BODY_LIMITS.other, 'control API requests'));

  control.get('/health', (c) =>
    c.json({
      ok: true,
      envId: ctx.config.envId,
      envIds: ctx.config.envIds,
      appid: ctx.config.appid,
      mchId: ctx.config.mchId,
      functions: ctx.services.functions.list?.() ?? [],
      clock: { now: new Date(ctx.clock.now()).toISOString(), offsetMs: ctx.clock.offset() },
    }),
  );

  // The emulator's memory: the process's RSS, the main thread's heap, each function instance's
  // heap (its worker's; instances are threads, so their memory is part of the RSS).
  control.get('/memory', async (c) =>
    c.json({
      ...processMemory(),
      instances: await ctx.services.functions.instanceHeaps(false),
    }),
  );

  control.post('/reset', async (c) => {
    // `?env=ID` resets that env's data only; without it everything resets.
    const env = c.req.query('env');
    if (env === undefined) await resetEmulator(ctx);
    else resetEnv(ctx, controlEnv(ctx.config, env));
    return c.json({ ok: true });
  });

  control.post('/clock/advance', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { ms?: unknown };
    if (typeof body.ms !== 'number' || !Number.isFinite(body.ms) || body.ms < 0) {
      throw new EmulatorError('INVALID_PARAM', 'clock/advance needs {"ms": <non-negative number>}');
    }
    // A JavaScript Date ends at +275760; every emulated time must stay a valid date (and the
    // SDK's EJSON dates within year 9999), or every route that reads the clock would fail.
    if (ctx.clock.now() + body.ms > LATEST_EMULATED_TIME) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `clock/advance of ${body.ms} ms would move the emulated clock past ${new Date(LATEST_EMULATED_TIME).toISOString()}; advance by at most ${LATEST_EMULATED_TIME - ctx.clock.now()} ms`,
      );
    }
    await ctx.clock.advance(body.ms);
    ctx.events.emit('clock.advanced', { ms: body.ms, offsetMs: ctx.clock.offset() });
    return c.json({ now: new Date(ctx.clock.now()).toISOString(), offsetMs: ctx.clock.offset() });
  });

  control.post('/faults', async (c) => {
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new EmulatorError('INVALID_PARAM', 'faults needs a JSON object keyed by service name');
    }
    for (const key of Object.keys(body)) {
      const service = services.find((s) => s.name === key);
      if (!service?.applyFaults) {
        const known = services.filter((s) => s.applyFaults).map((s) => s.name);
        throw new EmulatorError(
          'INVALID_PARAM',
          `unknown faults key "${key}"; use one of: ${known.join(', ')}`,
        );
      }
    }
    for (const service of services) {
      if (body[service.name] !== undefined) service.applyFaults?.(body[service.name]);
    }
    return c.json({ ok: true });
  });

  control.get('/events', (c) => {
    const type = c.req.query('type') as EmulatorEventType | undefined;
    if (type !== undefined && !EVENT_TYPES.includes(type)) {
      throw new EmulatorError(
        'INVALID_PARAM',
        `unknown event type ${JSON.stringify(type)}; use one of: ${EVENT_TYPES.join(', ')}`,
      );
    }
    const lastId = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0;
    return streamSSE(c, async (stream) => {
      const queue = ctx.events.since(lastId, type).map((event) => serialize(event));
      let queuedChars = queue.reduce((n, e) => n + e.data.length, 0);
      let wake: (() => void) | undefined;
      const unsubscribe = ctx.events.subscribe((event) => {
        if (type && event.type !== type) return;
        const item = serialize(event);
        queue.push(item);
        queuedChars += item.data.length;
        if (queuedChars > SSE_BUFFER_CHARS) {
          // Too slow: drop it (its queue with it); it resumes with Last-Event-ID.
          queue.length = 0;
          queuedChars = 0;
          unsubscribe();
          stream.abort();
          void stream.close().catch(() => undefined);
        }
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      while (!stream.aborted) {
        const event = queue.shift();
        if (event) {
          queuedChars -= event.data.length;
          await stream.writeSSE(event);
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          // A comment line every 15 s keeps proxies and idle sockets open.
          setTimeout(resolve, 15000).unref();
        });
        wake = undefined;
        if (!queue.length && !stream.aborted) await stream.write(': keep-alive\n\n');
      }
      unsubscribe();
    });
  });

  for (const service of services) service.routes?.(control);
  for (const service of services) service.httpRoutes?.(app);
  // wx.requestPayment's pay sheet (the client side of the pay sandbox).
  payRequestRoutes(control, ctx);
  app.route('/emulator/v1', control);
  app.notFound((c) =>
    c.json(
      { error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  );
  return app;
}
