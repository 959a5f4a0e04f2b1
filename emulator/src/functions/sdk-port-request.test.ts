/**
 * The in-process SDK transport's fast path (sdk-port-request.ts) as the real SDK sees it: the
 * request function of @cloudbase/node-sdk 3 (dist/utils/request-core.js, the one wx-server-sdk 3
 * sends every /admin request through) runs unmodified against `portAwareRequest`, and what it
 * reports must be what it reports over real HTTP. Expected event orders are the ones Node's
 * documentation gives for `http.request` ("the following events will be emitted in the
 * following order": 'socket', 'response', 'data'..., 'end', 'close'; and when `req.destroy()` is
 * called before a response: 'socket', 'error' with "socket hang up" and code ECONNRESET,
 * 'close').
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverSdkResponse, portAwareRequest } from './sdk-transport';
import { PortRequest } from './sdk-port-request';
import type { SdkRequestMessage } from './protocol';

type SdkCallback = (
  err: (Error & Record<string, unknown>) | null,
  res?: http.IncomingMessage,
  body?: unknown,
) => void;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdk = require('@cloudbase/node-sdk/dist/utils/request-core') as {
  request(opts: Record<string, unknown>, cb: SdkCallback): http.ClientRequest;
};

const ORIGIN = new URL('http://127.0.0.1:39999');
const URL_PATH = '/admin/instances/fn-1-abc?env=local-env';

/** Runs `use` with http.request carried over a fake port whose main side is `onRequest`. */
async function withPort<T>(
  onRequest: (message: SdkRequestMessage) => void,
  use: () => Promise<T>,
): Promise<T> {
  const original = http.request;
  (http as { request: unknown }).request = portAwareRequest(original, ORIGIN, onRequest);
  try {
    return await use();
  } finally {
    (http as { request: unknown }).request = original;
  }
}

/** The SDK's request to `url`, settled as its callback reports it. */
function sdkRequest(
  url: string,
  timeout: number,
): Promise<{
  err: (Error & Record<string, unknown>) | null;
  status?: number;
  body?: unknown;
  req: http.ClientRequest;
}> {
  return new Promise((resolve) => {
    const req: http.ClientRequest = sdk.request(
      {
        url,
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-SDK-Version': 'wx-server-sdk/3.0.4' },
        body: { action: 'database.getDocument', collectionName: 'orders' },
        json: true,
        timeout,
      },
      (err, res, body) => resolve({ err, status: res?.statusCode, body, req }),
    );
  });
}

describe('SDK requests over the worker port (PortRequest)', () => {
  test('the SDK call becomes a PortRequest: headers, body and answer as over HTTP', async () => {
    const seen: SdkRequestMessage[] = [];
    const outcome = await withPort(
      (message) => {
        seen.push(message);
        setImmediate(() =>
          deliverSdkResponse({
            type: 'sdkResponse',
            id: message.id,
            status: 200,
            contentType: 'application/json',
            body: '{"data":{"list":[]},"requestId":"r1"}',
          }),
        );
      },
      () => sdkRequest(`${ORIGIN.origin}${URL_PATH}`, 5000),
    );
    expect(outcome.req).toBeInstanceOf(PortRequest);
    // The SDK times only an `instanceof http.ClientRequest` (its dist/utils/request.js).
    expect(outcome.req).toBeInstanceOf(http.ClientRequest);
    expect(outcome.err).toBeNull();
    expect(outcome.status).toBe(200);
    expect(outcome.body).toEqual({ data: { list: [] }, requestId: 'r1' });
    expect(seen).toHaveLength(1);
    const [message] = seen;
    expect(message?.method).toBe('POST');
    expect(message?.path).toBe(URL_PATH);
    // Lower-case names, as an HTTP server reads them; Host as Node's client adds it.
    expect(message?.headers).toMatchObject({
      'content-type': 'application/json',
      'x-sdk-version': 'wx-server-sdk/3.0.4',
      host: '127.0.0.1:39999',
    });
    const body = Buffer.from(message?.body ?? []).toString('utf8');
    expect(JSON.parse(body)).toEqual({ action: 'database.getDocument', collectionName: 'orders' });
    expect(message?.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  test('events come in the order Node documents for a request that is answered', async () => {
    const events: string[] = [];
    await withPort(
      (message) =>
        setImmediate(() =>
          deliverSdkResponse({
            type: 'sdkResponse',
            id: message.id,
            status: 404,
            contentType: 'text/plain; charset=UTF-8',
            body: '404 Not Found',
          }),
        ),
      () =>
        new Promise<void>((resolve) => {
          const req = http.request(`${ORIGIN.origin}${URL_PATH}`, { method: 'POST' }, (res) => {
            events.push(`response ${res.statusCode} ${res.headers['content-type']}`);
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => events.push(`data ${chunk}`));
            res.on('end', () => events.push('end'));
          });
          req.on('socket', () => events.push('socket'));
          req.on('close', () => {
            events.push('close');
            resolve();
          });
          req.end('{}');
        }),
    );
    expect(events).toEqual([
      'socket',
      'response 404 text/plain; charset=UTF-8',
      'data 404 Not Found',
      'end',
      'close',
    ]);
  });

  test('destroyed before its answer: ECONNRESET "socket hang up", then close', async () => {
    const events: string[] = [];
    await withPort(
      () => undefined,
      () =>
        new Promise<void>((resolve) => {
          const req = http.request(`${ORIGIN.origin}${URL_PATH}`, { method: 'POST' });
          req.on('socket', () => {
            events.push('socket');
            setImmediate(() => req.destroy());
          });
          req.on('error', (err: NodeJS.ErrnoException) =>
            events.push(`error ${err.code} ${err.message}`),
          );
          req.on('close', () => {
            events.push('close');
            resolve();
          });
          req.end('{}');
        }),
    );
    expect(events).toEqual(['socket', 'error ECONNRESET socket hang up', 'close']);
  });

  test('an unanswered request times out exactly as the SDK reports it over real HTTP', async () => {
    // A server that accepts the connection and never answers: a frozen instance, over TCP.
    const hanging = http.createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const { port } = hanging.address() as AddressInfo;
    try {
      const overHttp = await sdkRequest(`http://127.0.0.1:${port}${URL_PATH}`, 100);
      const overPort = await withPort(
        () => undefined,
        () => sdkRequest(`${ORIGIN.origin}${URL_PATH}`, 100),
      );
      expect(overHttp.err?.code).toBe('ESOCKETTIMEDOUT');
      for (const key of ['code', 'message', 'hasConnected', 'connecting', 'reusedSocket']) {
        expect([key, overPort.err?.[key]]).toEqual([key, overHttp.err?.[key]]);
      }
    } finally {
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  test('other request shapes to the instance path keep Node’s client over the port', async () => {
    const seen: SdkRequestMessage[] = [];
    const status = await withPort(
      (message) => {
        seen.push(message);
        deliverSdkResponse({
          type: 'sdkResponse',
          id: message.id,
          status: 200,
          contentType: 'application/json',
          body: '{}',
        });
      },
      () =>
        new Promise<number | undefined>((resolve, reject) => {
          // The options-object form the `request` library of older SDKs uses.
          const req = http.request(
            { host: '127.0.0.1', port: 39999, path: URL_PATH, method: 'POST' },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode));
            },
          );
          req.on('error', reject);
          expect(req).not.toBeInstanceOf(PortRequest);
          req.end('{"a":1}');
        }),
    );
    expect(status).toBe(200);
    expect(seen.map((m) => [m.method, m.path, Buffer.from(m.body).toString()])).toEqual([
      ['POST', URL_PATH, '{"a":1}'],
    ]);
  });
});
