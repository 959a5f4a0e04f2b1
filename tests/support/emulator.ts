import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src';

export const PROJECT_DIR = path.resolve(__dirname, '../..');

/** This project's functions and database files in a fresh in-memory emulator on a free port. */
export function startProjectEmulator(
  options: Parameters<typeof startEmulator>[0] = {},
): Promise<RunningEmulator> {
  return startEmulator({ projectDir: PROJECT_DIR, port: 0, inMemory: true, ...options });
}

/** A JSON call to the control API; throws with the answer on a non-2xx status. */
export async function control<T = Record<string, unknown>>(
  emulator: { url: string },
  method: 'GET' | 'POST' | 'PUT',
  route: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${emulator.url}/emulator/v1${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  if (!response.ok)
    throw Object.assign(
      new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`),
      { json },
    );
  return json;
}

/** Invokes a function as a user (or as WeChat Pay with source wx_paycallback) and returns `result`. */
export async function invoke<T = Record<string, unknown>>(
  emulator: { url: string },
  name: string,
  data: unknown,
  who: { openid?: string; source?: string } = {},
): Promise<T> {
  const answer = await control<{ result?: T; errCode?: number; errMsg?: string }>(
    emulator,
    'POST',
    `/functions/${name}/invoke`,
    { data, ...who },
  );
  if (!('result' in answer))
    throw new Error(`${name} failed on the platform: ${answer.errCode} ${answer.errMsg}`);
  return answer.result as T;
}

export async function documents<T = Record<string, unknown>>(
  emulator: { url: string },
  collection: string,
): Promise<T[]> {
  return (
    await control<{ documents: T[] }>(emulator, 'GET', `/collections/${collection}/documents`)
  ).documents;
}

export interface PlacedOrder {
  docid: string;
  tradeno: string;
}

/** `user` taps "pay to unlock" on the demo item: userpay's order, which must have been placed. */
export async function placeOrder(emulator: { url: string }, user: string): Promise<PlacedOrder> {
  const reply = await invoke<{ docid?: string; tradeno?: string }>(
    emulator,
    'userpay',
    { itemId: 'demo-unlock' },
    { openid: user },
  );
  if (!reply.docid || !reply.tradeno) throw new Error(`userpay: ${JSON.stringify(reply)}`);
  return { docid: reply.docid, tradeno: reply.tradeno };
}
