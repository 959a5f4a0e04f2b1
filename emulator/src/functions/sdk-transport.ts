/**
 * The in-process transport for SDK requests (worker side). A function's SDK still builds its
 * request and calls `http.request` exactly as on the cloud; when the request is for this
 * emulator's own instance path (`/admin/instances/<id>`), it goes over the worker's message port.
 * The SDK's usual call becomes a PortRequest (sdk-port-request.ts). For any other call only the
 * socket is replaced: Node's HTTP client writes the request into a `PortSocket`, which hands its
 * head and body to the main thread over the worker's message port, and reads back the answer as
 * HTTP bytes, which Node's client parses as it would off TCP. Headers, body, status, timeouts (`req.setTimeout`), aborts
 * and `close` events are Node's own; no TCP connection, no HTTP server parse on the main thread.
 * Anything else (other hosts, other paths) stays real HTTP. `--sdk-transport http` turns it off.
 */
import http from 'node:http';
import { Duplex } from 'node:stream';
import type { SdkResponseMessage } from './protocol';
import { awaitAnswer, forgetAnswer, PortRequest, type Send } from './sdk-port-request';

export { deliverSdkResponse } from './sdk-port-request';

/**
 * The `http.request` of a function's worker: requests to `origin`'s instance path go over the
 * port, the rest to Node's own client. `@cloudbase/node-sdk` 3's shape, `(url string, options,
 * callback)` with the URL the emulator injected, gets a PortRequest (sdk-port-request.ts: no
 * HTTP bytes at all); any other request to the instance path gets Node's client over a
 * PortSocket.
 */
export function portAwareRequest(
  original: typeof http.request,
  origin: URL,
  send: Send,
): (...args: unknown[]) => http.ClientRequest {
  const prefix = `http://${origin.host}/admin/instances/`;
  return function request(this: unknown, ...args: unknown[]): http.ClientRequest {
    const [first, second, third] = args;
    if (
      typeof first === 'string' &&
      first.startsWith(prefix) &&
      second !== null &&
      typeof second === 'object' &&
      (third === undefined || typeof third === 'function') &&
      args.length <= 3
    ) {
      const options = second as http.RequestOptions;
      // Options naming their own target or transport are left to Node's client.
      if (
        options.host === undefined &&
        options.hostname === undefined &&
        options.port === undefined &&
        options.socketPath === undefined &&
        options.createConnection === undefined &&
        options.signal === undefined
      ) {
        return new PortRequest(
          new URL(first),
          options,
          third as ((res: http.IncomingMessage) => void) | undefined,
          send,
        ) as unknown as http.ClientRequest;
      }
    }
    return (original as (...a: unknown[]) => http.ClientRequest).apply(
      this,
      routeOverPort(args, origin, send),
    );
  };
}

/**
 * Returns `http.request`'s arguments, rerouted over the port when they address `origin`'s
 * instance path (the SDK passes `(url, options, callback)`; older ones pass `(options, cb)`).
 */
export function routeOverPort(args: unknown[], origin: URL, send: Send): unknown[] {
  const [first, second] = args;
  let target: URL | undefined;
  let optionsAt = -1;
  if (typeof first === 'string' || first instanceof URL) {
    try {
      target = new URL(first);
    } catch {
      return args;
    }
    if (second && typeof second === 'object') optionsAt = 1;
  } else if (first && typeof first === 'object') {
    const o = first as http.RequestOptions;
    optionsAt = 0;
    const host = o.hostname ?? o.host ?? 'localhost';
    target = new URL(`${o.protocol ?? 'http:'}//${host}:${String(o.port ?? 80)}${o.path ?? '/'}`);
  }
  if (
    !target ||
    target.protocol !== 'http:' ||
    target.host !== origin.host ||
    !target.pathname.startsWith('/admin/instances/')
  ) {
    return args;
  }
  // No agent: the port socket is this request's alone (Node then uses createConnection).
  const rerouted: http.RequestOptions = {
    ...(optionsAt >= 0 ? (args[optionsAt] as http.RequestOptions) : {}),
    agent: undefined,
    createConnection: () => new PortSocket(send),
  };
  const out = [...args];
  if (optionsAt >= 0) out[optionsAt] = rerouted;
  else out.splice(1, 0, rerouted);
  return out;
}

/** A socket whose other end is the emulator's action handler on the main thread. */
class PortSocket extends Duplex {
  /** As net.Socket: true until 'connect' (the SDK's timeout tells connect from read timeouts). */
  connecting = true;
  readonly remoteAddress = '127.0.0.1';
  private received: Buffer = Buffer.alloc(0);
  private sent = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly send: Send) {
    super();
    process.nextTick(() => {
      if (this.destroyed) return;
      this.connecting = false;
      this.emit('connect');
      this.emit('ready');
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error) => void): void {
    this.touch();
    this.received = this.received.length ? Buffer.concat([this.received, chunk]) : chunk;
    try {
      this.trySend();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _read(): void {
    // The answer is pushed when it arrives.
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    done(err);
  }

  /** As net.Socket#setTimeout: 'timeout' after `ms` without traffic (0 turns it off). */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.once('timeout', onTimeout);
    this.idleMs = ms;
    this.touch();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  answer(message: SdkResponseMessage): void {
    if (this.destroyed) return;
    this.touch();
    const body = Buffer.from(message.body, 'utf8');
    const head =
      `HTTP/1.1 ${message.status} ${http.STATUS_CODES[message.status] ?? ''}\r\n` +
      `content-type: ${message.contentType}\r\ncontent-length: ${body.length}\r\n` +
      'connection: close\r\n\r\n';
    this.push(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    this.push(null);
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
    }
  }

  /** Once the whole request is in (head, then a content-length or chunked body), send it. */
  private trySend(): void {
    if (this.sent) return;
    const headEnd = this.received.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const lines = this.received.subarray(0, headEnd).toString('latin1').split('\r\n');
    const [method, path] = (lines[0] ?? '').split(' ');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const rest = this.received.subarray(headEnd + 4);
    let body: Buffer | undefined;
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      body = dechunk(rest);
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (rest.length >= length) body = rest.subarray(0, length);
    }
    if (!body) return;
    this.sent = true;
    const id = awaitAnswer(this);
    this.once('close', () => forgetAnswer(id));
    this.send({
      type: 'sdkRequest',
      id,
      method: method ?? 'POST',
      path: path ?? '/',
      headers,
      // A copy of its own: `body` views a larger (often pooled) buffer, which the port would
      // carry whole.
      body: new Uint8Array(body),
    });
  }
}

/** A complete chunked body, or undefined while its last (zero-size) chunk has not arrived. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunked request body');
    const start = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}
