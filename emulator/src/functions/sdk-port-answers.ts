import { actionBodyFromBytes, createAdminDispatch } from '../admin';
import { BODY_LIMITS } from '../body-limits';
import type { EmulatorContext } from '../service';
import type { SdkRequestMessage, SdkResponseMessage } from './protocol';

/**
 * The main thread's side of the in-process SDK transport (sdk-transport.ts is the worker's): an
 * SDK request a worker carried over its message port, answered as the HTTP route
 * `POST /admin/instances/:instanceId` answers it (server.ts: same dispatcher, same body limit,
 * same 404 for other paths).
 */
export type PortAnswerer = (
  request: SdkRequestMessage,
) => Promise<Omit<SdkResponseMessage, 'type' | 'id'>>;

export function answerOverPort(ctx: EmulatorContext): PortAnswerer {
  const dispatch = createAdminDispatch(ctx);
  return async (request) => {
    const url = new URL(request.path, 'http://emulator.local');
    const match = /^\/admin\/instances\/([^/]+)$/.exec(url.pathname);
    if (request.method !== 'POST' || !match) {
      return { status: 404, contentType: 'text/plain; charset=UTF-8', body: '404 Not Found' };
    }
    const size =
      typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.byteLength;
    if (size > BODY_LIMITS.other) {
      return {
        status: 413,
        contentType: 'application/json',
        body: JSON.stringify({
          error: {
            code: 'EXCEED_MAX_PAYLOAD_SIZE',
            message: `request body too large: SDK requests take at most ${BODY_LIMITS.other} bytes (the cloud's limit); nothing was done`,
            limitBytes: BODY_LIMITS.other,
          },
        }),
      };
    }
    const answer = await dispatch({
      instanceId: decodeURIComponent(match[1]),
      env: url.searchParams.get('env') ?? undefined,
      headers: request.headers,
      body: () => actionBodyFromBytes(request.headers['content-type'] ?? '', request.body),
    });
    return { status: 200, contentType: 'application/json', body: JSON.stringify(answer) };
  };
}
