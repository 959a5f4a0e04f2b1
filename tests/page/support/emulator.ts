// The page tests' backend: a real emulator (this project's functions and database files, in
// memory) in a child process, and `wx` objects from createWx acting as users against it.
//
// Why a child process: these tests run in jest's jsdom environment (miniprogram-simulate needs
// a DOM), which hides Node's fetch, Request and Response; the emulator's HTTP server needs them.
// The page side (createWx) runs here, in the DOM, as it would in the browser preview, using
// jsdom's WebSocket and the small fetch below.

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createWx } from '../../../emulator/src/client';
import type { CreateWxOptions, EmulatedWx, FetchLike } from '../../../emulator/src/client';

const PROJECT_DIR = path.resolve(__dirname, '../../..');
const CLI = path.join(PROJECT_DIR, 'emulator', 'dist', 'cli.js');

/** fetch over node:http, for a host (jsdom) that has none. */
export const nodeFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method, headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const type = String(res.headers['content-type'] ?? '');
        resolve({
          status: res.statusCode ?? 0,
          text: async () => bytes.toString('utf8'),
          arrayBuffer: async () =>
            bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
          headers: { get: (name: string) => (name.toLowerCase() === 'content-type' ? type : null) },
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });

export interface EmulatorProcess {
  url: string;
  /** A JSON call to the control API; throws on a non-2xx answer. */
  control<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    route: string,
    body?: unknown,
  ): Promise<T>;
  wx(openid: string, options?: Partial<CreateWxOptions>): EmulatedWx;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, 'start', '--port', '0', '--in-memory'],
    { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    // Never wait for ever, and never leave a child behind: one that is not ready is killed.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the emulator printed no ready line within 20 s: ${stderr}`));
    }, 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /wxcloud-emulator ready at (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${code}) before it was ready: ${stderr}`));
    });
  });

  const control = async <T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> => {
    const init: Parameters<FetchLike>[1] = {
      method,
      headers: { 'content-type': 'application/json' },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await nodeFetch(`${url}/emulator/v1${route}`, init);
    const text = await res.text();
    if (res.status < 200 || res.status >= 300)
      throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };

  return {
    url,
    control,
    wx: (openid, options = {}) => createWx({ url, openid, fetch: nodeFetch, ...options }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        // SIGTERM lets it stop its workers; one that does not exit in 5 s is killed.
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Waits (real time, bounded) until `condition` holds: the page reacts to network answers, so
 * there is nothing to advance. Throws naming `what` when it never does.
 */
export async function until(condition: () => boolean, what: string, maxMs = 10_000): Promise<void> {
  const step = 20;
  for (let waited = 0; waited <= maxMs; waited += step) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
  throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
}
