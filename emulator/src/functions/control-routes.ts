import type { Hono } from 'hono';
import { controlEnv } from '../envs';
import { EmulatorError } from '../errors';
import type { FunctionsService } from './index';

/**
 * The function runtime's control routes, under /emulator/v1 (README "The control API"):
 * `POST functions/{name}/invoke`, `GET functions`, `GET functions/invocations?name=&env=`.
 */
export function functionControlRoutes(app: Hono, functions: FunctionsService): void {
  app.post('/functions/:name/invoke', async (c) => {
    // An empty body means "no data"; a body that is not JSON is refused before anything runs
    // (it used to be read as "no body" and the function ran with {}).
    const text = await c.req.text();
    let body: unknown;
    if (text.trim()) {
      try {
        body = JSON.parse(text) as unknown;
      } catch (err) {
        throw new EmulatorError(
          'INVALID_PARAM',
          `invoke: the request body is not valid JSON (${(err as Error).message}); send {data, openid?, source?}`,
        );
      }
    }
    if (body !== undefined && (!body || typeof body !== 'object' || Array.isArray(body))) {
      throw new EmulatorError(
        'INVALID_PARAM',
        'invoke needs a JSON object {data, openid?, source?}',
      );
    }
    const { data, openid, source, appid, clientIp, envId } = (body ?? {}) as Record<
      string,
      unknown
    >;
    for (const [key, value] of Object.entries({ openid, source, appid, clientIp, envId })) {
      if (value !== undefined && typeof value !== 'string') {
        throw new EmulatorError('INVALID_PARAM', `invoke: ${key} must be a string`);
      }
    }
    const outcome = await functions.invoke({
      name: c.req.param('name'),
      data: data ?? {},
      openid: openid as string | undefined,
      source: source as string | undefined,
      appid: appid as string | undefined,
      clientIp: clientIp as string | undefined,
      // The env: the body's envId, or `?env=` as on every per-env control route.
      envId: (envId as string | undefined) ?? c.req.query('env'),
    });
    // The body is exactly the contract's `{result}` or `{errCode, errMsg}`; the invocation's id
    // (for the console and GET functions/invocations) travels in a header.
    const { invocationId, ...answer } = outcome;
    c.header('x-wxcloud-invocation-id', invocationId);
    return c.json(answer);
  });
  app.get('/functions', (c) => c.json({ functions: functions.describe() }));
  app.get('/functions/invocations', (c) =>
    c.json({
      invocations: functions.invocations({
        name: c.req.query('name'),
        env: c.req.query('env') && controlEnv(functions.ctx.config, c.req.query('env')),
      }),
    }),
  );
}
