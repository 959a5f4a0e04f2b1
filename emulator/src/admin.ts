import { unknownEnv } from './envs';
import { EmulatorError } from './errors';
import { orderedServices } from './registry';
import type { ActionContext, ActionHandler, EmulatorContext } from './service';

/**
 * The SDK's `/admin` protocol without the HTTP: one action request in, the JSON answer out (a
 * failure is the platform's HTTP-200 `{code, message}`). The HTTP routes (server.ts) and the
 * in-process transport from function workers (functions/sdk-transport.ts) both call this, so an
 * action behaves the same whichever way it arrived.
 */

export interface AdminRequest {
  /** Set for requests from an emulated function instance (its own path). */
  instanceId?: string;
  /** Set for mini-program client requests (POST /admin/client). */
  client?: { openid: string };
  /** The `env` query parameter. */
  env: string | undefined;
  /** Request headers, lower-case names. */
  headers: Record<string, string | undefined>;
  /** Reads the JSON or multipart body (deferred so a body error is answered like any other). */
  body(): Promise<Record<string, unknown>>;
}

export type AdminDispatch = (request: AdminRequest) => Promise<unknown>;

let requestSeq = 0;
export const requestId = (): string =>
  `local-${Date.now().toString(36)}-${(++requestSeq).toString(36)}`;

/** The platform's wire shape for a failed /admin action (sent with HTTP 200). */
export function platformErrorBody(err: unknown): Record<string, unknown> {
  if (err instanceof EmulatorError) {
    return { code: err.code, message: err.message, requestId: requestId() };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL_SERVER_ERROR', message, requestId: requestId() };
}

export function createAdminDispatch(ctx: EmulatorContext): AdminDispatch {
  const actions = new Map<string, ActionHandler>();
  /** What a mini-program may send through /admin/client; each service lists its own. */
  const clientActions = new Set<string>();
  for (const service of orderedServices(ctx.services)) {
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

  return async ({ instanceId, client, env, headers, body: readBody }) => {
    try {
      const body = await readBody();
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
      if (env && !ctx.config.envIds.includes(env)) throw unknownEnv(env, ctx.config.envIds);
      const actionCtx: ActionContext = { env, instanceId, ...(client ? { client } : {}) };
      // Requests from an emulated instance are tied to the invocation that made them (in-flight
      // tracking, --freeze-after-return, and who a function's callFunction runs as).
      const result = instanceId
        ? await ctx.services.functions.fromInstance(instanceId, headers, action, (caller) =>
            handler(body, caller ? { ...actionCtx, caller } : actionCtx),
          )
        : await handler(body, actionCtx);
      return result ?? {};
    } catch (err) {
      return platformErrorBody(err);
    }
  };
}

/**
 * An /admin body from raw bytes or text (the in-process transport): JSON for most actions,
 * multipart for the SDK's `wx.*` calls (file parts become Buffers), as server.ts reads it off HTTP.
 */
export async function actionBodyFromBytes(
  contentType: string,
  body: Uint8Array | string,
): Promise<Record<string, unknown>> {
  if (typeof body === 'string' && !contentType.includes('multipart/form-data')) {
    return parseJsonBody(body);
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  if (contentType.includes('multipart/form-data')) {
    const form = await new Request('http://emulator.local/admin', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: Buffer.from(bytes),
    }).formData();
    const body: Record<string, unknown> = {};
    const files: Promise<void>[] = [];
    form.forEach((value, key) => {
      if (typeof value === 'string') body[key] = value;
      else files.push(value.arrayBuffer().then((data) => void (body[key] = Buffer.from(data))));
    });
    await Promise.all(files);
    return body;
  }
  return parseJsonBody(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
}

export function parseJsonBody(text: string): Record<string, unknown> {
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
