/**
 * The sealed network of a function instance: every TCP connection (http, https, fetch, raw net
 * and tls all end in `net.Socket#connect`) and every DNS query from the worker may only reach
 * loopback, where the emulator listens. Anything else fails at once, before DNS, with an error
 * naming the host, the SDK that tried and the fix.
 *
 * Why: an SDK that does not understand the emulator's variables falls back to Tencent's own
 * hosts (`tcb-admin.tencentyun.com`, `tcb-open.tencentyun.com`, `*.tcb-api.tencentcloudapi.com`,
 * `metadata.tencentyun.com`); with internet access that would send local data, or a payment
 * request, to the real cloud. The emulator promises it never does.
 *
 * UDP (`dgram`) is sealed the same way: a datagram sent, or a socket connected, to anything but
 * loopback fails with the same error (on the send's callback, else as the socket's 'error').
 *
 * Knowingly different from the cloud: a cloud function may reach the internet. Here a function
 * that calls a third-party API on purpose is refused too (the message says so).
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The error code a sealed request fails with (also in the message, for logs). */
export const SEALED_CODE = 'EWXCLOUD_SEALED';

/** Packages that talk to the cloud on a function's behalf, the ones worth naming in an error. */
const SDK_PACKAGES = ['wx-server-sdk', '@cloudbase/node-sdk', 'tcb-admin-node'];

export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined || host === '') return true; // net's default host is localhost
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  if (/^::ffff:127\./.test(bare)) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** `name@version` of each SDK package found on the stack, innermost first, without repeats. */
function sdksOnStack(stack: string): string[] {
  const found: string[] = [];
  const pattern = /([^\s()]*[\\/]node_modules[\\/](@[^\\/]+[\\/][^\\/]+|[^\\/@][^\\/]*))[\\/]/g;
  for (const match of stack.matchAll(pattern)) {
    const [, root, name] = match;
    const normalized = (name ?? '').replace(/\\/g, '/');
    if (!root || !SDK_PACKAGES.includes(normalized)) continue;
    const label = `${normalized}@${packageVersion(root) ?? '?'}`;
    if (!found.includes(label)) found.push(label);
  }
  return found;
}

/** `name@version` of each SDK package the function folder would load (its own, then fallback). */
function sdksInstalled(functionDir: string, fallbackNodeModules: string): string[] {
  const found: string[] = [];
  for (const name of SDK_PACKAGES) {
    const dirs = [...ancestorsNodeModules(functionDir), fallbackNodeModules];
    for (const dir of dirs) {
      const version = packageVersion(path.join(dir, name));
      if (version) {
        found.push(`${name}@${version}`);
        break;
      }
    }
  }
  return found;
}

function ancestorsNodeModules(dir: string): string[] {
  const result: string[] = [];
  for (let current = dir; ; current = path.dirname(current)) {
    result.push(path.join(current, 'node_modules'));
    if (path.dirname(current) === current) return result;
  }
}

const versions = new Map<string, string | undefined>();
function packageVersion(root: string): string | undefined {
  if (!versions.has(root)) {
    let version: string | undefined;
    try {
      const parsed = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
        version?: unknown;
      };
      version = typeof parsed.version === 'string' ? parsed.version : undefined;
    } catch {
      version = undefined;
    }
    versions.set(root, version);
  }
  return versions.get(root);
}

export interface SealOptions {
  functionName: string;
  functionDir: string;
  fallbackNodeModules: string;
}

/** Builds the refusal for one attempt; `what` is e.g. "connect to tcb-admin.tencentyun.com:80". */
export function sealedError(options: SealOptions, host: string, what: string): Error {
  const previous = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = previous;
  const onStack = sdksOnStack(stack);
  const installed = sdksInstalled(options.functionDir, options.fallbackNodeModules);
  const tried = onStack.length
    ? `SDK that tried: ${onStack.join(' via ')}`
    : `cloud SDKs this function loads: ${installed.join(', ') || 'none found'}`;
  const err = new Error(
    `wxcloud-emulator sealed the network of function ${options.functionName}: refused to ${what}. ` +
      `A function instance may only reach the emulator on loopback; nothing is sent to ${host} ` +
      `(Tencent Cloud, WeChat or any other outside host). ${tried}. ` +
      'Fix: if a cloud SDK sent this, its version does not follow the address the platform injects ' +
      '(TCB_CONTEXT_CNFG): upgrade wx-server-sdk (2.x, 3.x and 4.x are supported), or report the ' +
      'SDK version to wxcloud-emulator; if the function calls an outside API on purpose, that is not ' +
      'emulated (stub it for local runs).',
  );
  (err as NodeJS.ErrnoException).code = SEALED_CODE;
  return err;
}

type ConnectArgs = unknown[];

/** The host a `Socket#connect` call targets, or undefined for a local (IPC) path. */
function connectTarget(args: ConnectArgs): { host: string | undefined; port: unknown } | 'ipc' {
  // net.connect() hands over already-normalized [options, callback] arrays.
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (first && typeof first === 'object') {
    const options = first as { host?: unknown; port?: unknown; path?: unknown };
    if (typeof options.path === 'string' && options.port === undefined) return 'ipc';
    return {
      host: typeof options.host === 'string' ? options.host : undefined,
      port: options.port,
    };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return 'ipc';
  return { host: typeof args[1] === 'string' ? args[1] : undefined, port: first };
}

/**
 * Installs the seal in this worker. `report` receives every refusal (the worker logs it to the
 * invocation, so it shows even when the SDK swallows the error).
 */
export function sealNetwork(options: SealOptions, report: (err: Error) => void): void {
  const originalConnect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
  net.Socket.prototype.connect = function connect(this: net.Socket, ...args: unknown[]) {
    const target = connectTarget(args);
    if (target === 'ipc' || isLoopbackHost(target.host)) {
      return originalConnect.apply(this, args);
    }
    const host = target.host ?? '';
    const err = sealedError(options, host, `connect to ${host}:${String(target.port)}`);
    report(err);
    // Fails the way a refused connection fails (an 'error' on the socket and its request), on
    // the next tick, so callers see it through their usual error path.
    process.nextTick(() => this.destroy(err));
    return this;
  } as typeof net.Socket.prototype.connect;

  sealUdp(options, report);

  // A lookup of an IP literal asks no server (Node answers it itself), and dgram's implicit bind
  // looks up 0.0.0.0: only names are refused here; connects and sends are checked above.
  const sealedName = (host: unknown): host is string =>
    typeof host === 'string' && net.isIP(host) === 0 && !isLoopbackHost(host);
  const refuseLookup = (host: string): Error => {
    const err = sealedError(options, host, `look up ${host} in DNS`);
    report(err);
    return err;
  };
  const callbackStyle = dns as unknown as Record<string, unknown>;
  for (const name of Object.keys(callbackStyle)) {
    const original = callbackStyle[name];
    if (typeof original !== 'function' || !/^(lookup|resolve|reverse)/.test(name)) continue;
    callbackStyle[name] = function sealed(this: unknown, ...args: unknown[]) {
      const host = args[0];
      if (sealedName(host)) {
        const callback = [...args].reverse().find((a) => typeof a === 'function') as
          ((err: Error) => void) | undefined;
        const err = refuseLookup(host);
        if (callback) process.nextTick(() => callback(err));
        return undefined;
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
  const promiseStyle = dns.promises as unknown as Record<string, unknown>;
  for (const name of Object.keys(promiseStyle)) {
    const original = promiseStyle[name];
    if (typeof original !== 'function' || !/^(lookup|resolve|reverse)/.test(name)) continue;
    promiseStyle[name] = function sealed(this: unknown, ...args: unknown[]) {
      const host = args[0];
      if (sealedName(host)) {
        return Promise.reject(refuseLookup(host));
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

/**
 * The host a `dgram.Socket#send` call targets, as Node's own argument handling reads it
 * (lib/dgram.js): `send(msg, offset, length, port, address, cb)` when an address or a port
 * follows offset and length, else `send(msg, port, address, cb)`. No address (or a callback in
 * its place) means localhost. A connected socket sends where it was connected (checked there).
 */
function udpSendHost(args: unknown[]): string | undefined {
  const sixArgForm = !!args[4] || (!!args[3] && typeof args[3] !== 'function');
  const address = sixArgForm ? args[4] : args[2];
  return typeof address === 'string' ? address : undefined;
}

function sealUdp(options: SealOptions, report: (err: Error) => void): void {
  const socket = dgram.Socket.prototype as unknown as Record<string, unknown>;
  const originalSend = socket.send as (...args: unknown[]) => void;
  const originalConnect = socket.connect as (...args: unknown[]) => void;
  socket.send = function send(this: dgram.Socket, ...args: unknown[]) {
    const host = udpSendHost(args);
    if (host === undefined || isLoopbackHost(host)) return originalSend.apply(this, args);
    const sixArgForm = !!args[4] || (!!args[3] && typeof args[3] !== 'function');
    const port = sixArgForm ? args[3] : args[1];
    const err = sealedError(options, host, `send a UDP datagram to ${host}:${String(port)}`);
    report(err);
    const callback = [...args].reverse().find((a) => typeof a === 'function') as
      ((err: Error) => void) | undefined;
    // As a failed send reports: to its callback, else as an 'error' on the socket.
    process.nextTick(() => (callback ? callback(err) : this.emit('error', err)));
  };
  socket.connect = function connect(this: dgram.Socket, ...args: unknown[]) {
    const [port, address] = args;
    const host = typeof address === 'string' ? address : undefined;
    if (host === undefined || isLoopbackHost(host)) return originalConnect.apply(this, args);
    const err = sealedError(options, host, `connect a UDP socket to ${host}:${String(port)}`);
    report(err);
    process.nextTick(() => this.emit('error', err));
  };
}
