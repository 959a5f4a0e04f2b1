import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { EmulatorError } from './errors';
import type { EmulatorEventType } from './events';
import { payRequestRoutes } from './pay/requests';
import { orderedServices, resetEmulator } from './registry';
import type { ActionContext, ActionHandler, EmulatorContext } from './service';

let requestSeq = 0;
const requestId = (): string => `local-${Date.now().toString(36)}-${(++requestSeq).toString(36)}`;

/** The platform's wire shape for a failed /admin action: HTTP 200 with `code` and `message`. */
function platformError(c: Context, err: unknown): Response {
  if (err instanceof EmulatorError) {
    return c.json({ code: err.code, message: err.message, requestId: requestId() });
  }
  const message = err instanceof Error ? err.message : String(err);
  return c.json({ code: 'INTERNAL_SERVER_ERROR', message, requestId: requestId() });
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
  const text = await c.req.text();
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // fall through to the error below
  }
  throw new EmulatorError('INVALID_PARAM', 'request body is not a JSON object');
}

/**
 * An SDK call naming an env this emulator does not host. The code is the cloud's (INVALID_ENV,
 * which its own error text links to); "Environment not found" is what the cloud answers for an
 * env id that does not exist (developers' reports of errCode -501000). Nothing is read or written.
 */
function unknownEnv(env: string, hosted: string[]): EmulatorError {
  return new EmulatorError(
    'INVALID_ENV',
    `Environment not found: env "${env}" is not hosted by wxcloud-emulator (it hosts ${hosted.join(', ')}). To emulate it too, start with --env-id ${[...hosted, env].join(',')} (JS: envId: '${[...hosted, env].join(',')}'); or init the SDK with env: cloud.DYNAMIC_CURRENT_ENV.`,
  );
}

/** Builds the HTTP app (no socket): the SDK's /admin protocol plus the control API. */
export function createApp(ctx: EmulatorContext): Hono {
  const services = orderedServices(ctx.services);
  const actions = new Map<string, ActionHandler>();
  /** What a mini-program may send through /admin/client; each service lists its own. */
  const clientActions = new Set<string>();
  for (const service of services) {
    for (const [name, handler] of Object.entries(service.actions)) {
      if (actions.has(name)) throw new Error(`two services answer the action ${name}`);
      actions.set(name, handler);
    }
    for (const name of service.clientActions ?? []) {
      if (!actions.has(name))
        throw new Error(`${service.name} lets clients send ${name}, which it does not answer`);
      clientActions.add(name);
    }
  }

  const app = new Hono();

  const admin = async (
    c: Context,
    instanceId: string | undefined,
    client?: { openid: string },
  ): Promise<Response> => {
    try {
      const body = await readActionBody(c);
      const action = body.action;
      if (typeof action !== 'string' || !action) {
        throw new EmulatorError('INVALID_PARAM', 'request has no action');
      }
      const handler = actions.get(action);
      if (!handler) {
        // Never a silent success: the caller learns exactly what the emulator does not do.
        throw new EmulatorError(
          'ACTION_NOT_EMULATED',
          `wxcloud-emulator does not emulate the action "${action}"`,
        );
      }
      if (client && !clientActions.has(action)) {
        // The mini-program's door takes what the mini-program SDK can send, nothing more: a
        // client must not refund someone's order (wx.wxPayApi) or run server-only operations.
        throw new EmulatorError(
          'PERMISSION_DENIED',
          `${action} is a server-only action: a mini-program client cannot send it through /admin/client (call it from a cloud function). Client actions: ${[...clientActions].sort().join(', ')}`,
        );
      }
      const env = c.req.query('env');
      if (env && !ctx.config.envIds.includes(env)) throw unknownEnv(env, ctx.config.envIds);
      const actionCtx: ActionContext = {
        env: c.req.query('env'),
        instanceId,
        ...(client ? { client } : {}),
      };
      const run = (): Promise<unknown> => handler(body, actionCtx);
      // Requests from an emulated instance are tied to the invocation that made them (in-flight
      // tracking and --freeze-after-return).
      const result = instanceId
        ? await ctx.services.functions.fromInstance(instanceId, c.req.header(), action, run)
        : await run();
      return c.json(result ?? {});
    } catch (err) {
      return platformError(c, err);
    }
  };
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

  control.post('/reset', async (c) => {
    await resetEmulator(ctx);
    return c.json({ ok: true });
  });

  control.post('/clock/advance', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { ms?: unknown };
    if (typeof body.ms !== 'number' || !Number.isFinite(body.ms) || body.ms < 0) {
      throw new EmulatorError('INVALID_PARAM', 'clock/advance needs {"ms": <non-negative number>}');
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
    const lastId = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0;
    return streamSSE(c, async (stream) => {
      const queue = ctx.events.since(lastId, type);
      let wake: (() => void) | undefined;
      const unsubscribe = ctx.events.subscribe((event) => {
        if (type && event.type !== type) return;
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      while (!stream.aborted) {
        const event = queue.shift();
        if (event) {
          await stream.writeSSE({
            id: String(event.id),
            event: event.type,
            data: JSON.stringify(event),
          });
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
