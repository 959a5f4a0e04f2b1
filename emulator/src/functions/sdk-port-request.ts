/**
 * The fast path of the in-process SDK transport (worker side; sdk-transport.ts decides which
 * requests take it). `@cloudbase/node-sdk` 3 (wx-server-sdk 3.x) sends every request to its
 * `/admin` URL through `http.request(url, options, callback)` and uses only the request's
 * public surface: `setTimeout`, `write`, `end`, the 'socket', 'timeout', 'error', 'abort' and
 * 'response' events, `req.socket.connecting`, `reusedSocket`, `path`, `host`, `protocol`, and
 * the response's status, headers and body stream (its dist/utils/request-core.js). For that
 * shape a `PortRequest` stands in for Node's `ClientRequest`: the headers and body go over the
 * worker's message port as they are, with no HTTP head written on one side and parsed on the
 * other, and the main thread's answer becomes a real `http.IncomingMessage`. What the caller
 * sees matches Node's client (the event order is the one Node documents for `http.request`):
 * 'socket', then the socket's 'connect'; 'timeout' after the socket was idle for the timeout;
 * 'response', the body, 'end', then 'close'; destroyed before its answer it emits an ECONNRESET
 * "socket hang up" error, then 'close'. It is an `instanceof http.ClientRequest` as the SDK
 * checks (request.js). Other callers (the `request` library and axios of older SDKs) keep
 * Node's own client over a PortSocket.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import type { SdkRequestMessage, SdkResponseMessage } from './protocol';

export type Send = (message: SdkRequestMessage) => void;

/** Something the main thread's answer to request `id` is delivered to. */
export interface AwaitsAnswer {
  answer(message: SdkResponseMessage): void;
}

let nextId = 0;
const waiting = new Map<number, AwaitsAnswer>();

/** Registers who receives the answer to the next request; returns its id. */
export function awaitAnswer(receiver: AwaitsAnswer): number {
  const id = ++nextId;
  waiting.set(id, receiver);
  return id;
}

export function forgetAnswer(id: number): void {
  waiting.delete(id);
}

/** The main thread's answer to one request, handed to whoever sent it. */
export function deliverSdkResponse(message: SdkResponseMessage): void {
  const receiver = waiting.get(message.id);
  waiting.delete(message.id);
  receiver?.answer(message);
}

/** The socket a PortRequest reports: it connects at once and carries no bytes. */
class PortRequestSocket extends EventEmitter {
  connecting = true;
  destroyed = false;
  readonly readable = false;
  readonly writable = true;
  readonly remoteAddress = '127.0.0.1';
  readonly remoteFamily = 'IPv4';

  constructor(
    readonly remotePort: number,
    private readonly onIdleTimeout: (ms: number) => void,
  ) {
    super();
  }

  /** As net.Socket#setTimeout; the request runs the idle timer (PortRequest#touch). */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.once('timeout', onTimeout);
    this.onIdleTimeout(ms);
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

  resume(): this {
    return this;
  }

  pause(): this {
    return this;
  }

  address(): { address: string; family: string; port: number } {
    return { address: '127.0.0.1', family: 'IPv4', port: 0 };
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    process.nextTick(() => this.emit('close', false));
    return this;
  }
}

/** Header values as an HTTP server reads them: strings, repeated values joined. */
function headerText(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(', ') : String(value);
}

export class PortRequest extends EventEmitter {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly protocol = 'http:';
  readonly reusedSocket = false;
  socket: PortRequestSocket | null = null;
  res: http.IncomingMessage | null = null;
  aborted = false;
  destroyed = false;
  finished = false;
  timeout: number | undefined;
  private readonly headerValues = new Map<string, { name: string; value: unknown }>();
  /** The body as written: text the SDK wrote as UTF-8 strings, or bytes. */
  private readonly chunks: (string | Buffer)[] = [];
  /** Not `connection`: OutgoingMessage defines that name as an alias of `socket`. */
  private readonly portSocket: PortRequestSocket;
  private ended = false;
  private sent = false;
  private answered = false;
  private isClosed = false;
  private id = 0;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** The period `idleTimer` was started with. */
  private timerMs = 0;

  constructor(
    url: URL,
    options: http.RequestOptions,
    callback: ((res: http.IncomingMessage) => void) | undefined,
    private readonly send: Send,
  ) {
    super();
    this.method = (options.method ?? 'GET').toUpperCase();
    this.path = options.path ?? `${url.pathname}${url.search}`;
    this.host = url.hostname;
    const port = Number(url.port || 80);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) this.setHeader(name, value as string);
    }
    // Node adds Host when the caller did not (RFC 9110 §7.2); the port only when not 80.
    if (!this.hasHeader('host')) this.setHeader('host', url.host);
    if (callback) this.once('response', callback);
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    this.portSocket = new PortRequestSocket(port, (ms) => this.idle(ms));
    // As Node's client: 'socket' on the next tick, the socket's 'connect' after it.
    process.nextTick(() => {
      if (this.destroyed) return;
      this.socket = this.portSocket;
      this.emit('socket', this.portSocket);
      process.nextTick(() => {
        if (this.destroyed) return;
        this.portSocket.connecting = false;
        this.portSocket.emit('connect');
        this.portSocket.emit('ready');
        this.touch();
      });
    });
  }

  get writableEnded(): boolean {
    return this.ended;
  }

  get writableFinished(): boolean {
    return this.finished;
  }

  get headersSent(): boolean {
    return this.sent;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get errored(): null {
    return null;
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    if (this.sent) {
      const err = new Error('Cannot set headers after they are sent to the client');
      (err as NodeJS.ErrnoException).code = 'ERR_HTTP_HEADERS_SENT';
      throw err;
    }
    this.headerValues.set(name.toLowerCase(), { name, value });
    return this;
  }

  getHeader(name: string): unknown {
    return this.headerValues.get(name.toLowerCase())?.value;
  }

  hasHeader(name: string): boolean {
    return this.headerValues.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.headerValues.delete(name.toLowerCase());
  }

  getHeaderNames(): string[] {
    return [...this.headerValues.keys()];
  }

  getRawHeaderNames(): string[] {
    return [...this.headerValues.values()].map((h) => h.name);
  }

  getHeaders(): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, { value }] of this.headerValues) out[key] = value;
    return out;
  }

  flushHeaders(): void {
    // Nothing is written before the whole request goes over the port.
  }

  setNoDelay(): void {}

  setSocketKeepAlive(): void {}

  cork(): void {}

  uncork(): void {}

  /** As ClientRequest#setTimeout: 'timeout' once the socket has been idle for `ms` (0: off). */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.once('timeout', onTimeout);
    this.timeout = ms;
    this.idle(ms);
    return this;
  }

  write(
    chunk: string | Uint8Array,
    encoding?: BufferEncoding | ((err?: Error | null) => void),
    done?: (err?: Error | null) => void,
  ): boolean {
    if (this.ended) {
      const err = new Error('write after end');
      (err as NodeJS.ErrnoException).code = 'ERR_STREAM_WRITE_AFTER_END';
      const callback = typeof encoding === 'function' ? encoding : done;
      process.nextTick(() => {
        callback?.(err);
        this.emit('error', err);
      });
      return false;
    }
    const callback = typeof encoding === 'function' ? encoding : done;
    const enc = typeof encoding === 'string' ? encoding : 'utf8';
    if (typeof chunk === 'string' && (enc === 'utf8' || enc === 'utf-8')) this.chunks.push(chunk);
    else this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, enc) : Buffer.from(chunk));
    if (callback) process.nextTick(callback);
    return true;
  }

  end(
    chunk?: string | Uint8Array | (() => void),
    encoding?: BufferEncoding | (() => void),
    done?: () => void,
  ): this {
    if (typeof chunk === 'function') {
      done = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      done = encoding;
      encoding = undefined;
    }
    if (this.ended) return this;
    if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
    this.ended = true;
    if (done) this.once('finish', done);
    this.emit('prefinish');
    this.sendRequest();
    process.nextTick(() => {
      this.finished = true;
      this.emit('finish');
    });
    return this;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    process.nextTick(() => this.emit('abort'));
    this.destroy();
  }

  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    clearTimeout(this.idleTimer);
    if (this.id) forgetAnswer(this.id);
    this.portSocket.destroy();
    const res = this.res;
    process.nextTick(() => {
      if (res) {
        if (!res.complete || !res.readableEnded) res.destroy(err);
      } else {
        this.emit('error', err ?? hangUp());
      }
      this.close();
    });
    return this;
  }

  answer(message: SdkResponseMessage): void {
    if (this.destroyed || this.answered) return;
    this.answered = true;
    this.touch();
    const body = Buffer.from(message.body, 'utf8');
    const res = new http.IncomingMessage(this.portSocket as unknown as net.Socket);
    res.httpVersionMajor = 1;
    res.httpVersionMinor = 1;
    res.httpVersion = '1.1';
    res.statusCode = message.status;
    res.statusMessage = http.STATUS_CODES[message.status] ?? '';
    // The headers the HTTP route's answer carries (sdk-transport.ts PortSocket#answer).
    res.headers = {
      'content-type': message.contentType,
      'content-length': String(body.length),
      connection: 'close',
    };
    res.rawHeaders = [
      'content-type',
      message.contentType,
      'content-length',
      String(body.length),
      'connection',
      'close',
    ];
    res.complete = true;
    (res as { req?: unknown }).req = this;
    this.res = res;
    if (!this.emit('response', res)) res.resume();
    // After the caller's own 'end' listeners, as Node closes the request once the answer ended.
    res.once('end', () => {
      clearTimeout(this.idleTimer);
      this.destroyed = true;
      this.portSocket.destroy();
      this.close();
    });
    if (body.length > 0) res.push(body);
    res.push(null);
  }

  private close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.emit('close');
  }

  private sendRequest(): void {
    if (this.sent || this.destroyed) return;
    this.sent = true;
    const headers: Record<string, string> = {};
    for (const [key, { value }] of this.headerValues) headers[key] = headerText(value);
    // Text stays text (a JSON body needs no bytes on either side); bytes go as a Uint8Array of
    // their own, since a pooled Buffer would carry its whole 8 KB pool over the port.
    const body = this.chunks.every((c) => typeof c === 'string')
      ? this.chunks.join('')
      : new Uint8Array(
          Buffer.concat(this.chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))),
        );
    this.id = awaitAnswer(this);
    this.touch();
    this.send({
      type: 'sdkRequest',
      id: this.id,
      method: this.method,
      path: this.path,
      headers,
      body,
    });
  }

  private idle(ms: number): void {
    this.idleMs = ms;
    this.touch();
  }

  /** Restarts the idle timer, once the socket is assigned (as Node arms the socket's timeout). */
  private touch(): void {
    if (this.idleMs > 0 && this.socket && !this.destroyed) {
      // One timer per request, restarted in place (as net.Socket does with its own).
      if (this.idleTimer && this.timerMs === this.idleMs) {
        this.idleTimer.refresh();
        return;
      }
      clearTimeout(this.idleTimer);
      this.timerMs = this.idleMs;
      this.idleTimer = setTimeout(() => {
        this.portSocket.emit('timeout');
        this.emit('timeout');
      }, this.idleMs);
    } else {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
  }
}

// The SDK measures timings only of an `instanceof http.ClientRequest` (request.js): this is
// one, with every method it could call defined above.
Object.setPrototypeOf(PortRequest.prototype, http.ClientRequest.prototype);

function hangUp(): Error {
  const err = new Error('socket hang up');
  (err as NodeJS.ErrnoException).code = 'ECONNRESET';
  return err;
}
