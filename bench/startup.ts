// Function start and invocation overhead, on the bench's fixture functions (bench/fixtures):
//   noop     no SDK, no work: its cold start is the emulator's instance start (a worker thread);
//            its warm invocation time is the emulator's overhead, its own work being ~0
//   sdkload  requires wx-server-sdk only, and times that require itself
//   sdkping  one database read through the SDK, timed inside the function
// Each round starts a fresh emulator so the first call of each function is a cold start.

import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmulator, type RunningEmulator } from '../emulator/src';
import { median } from './stats';

export const FIXTURE_PROJECT = path.resolve(__dirname, 'fixtures/project');

export function startFixtureEmulator(): Promise<RunningEmulator> {
  return startEmulator({
    projectDir: FIXTURE_PROJECT,
    functionsDir: path.join(FIXTURE_PROJECT, 'cloudfunctions'),
    port: 0,
    inMemory: true,
  });
}

export interface StartupResult {
  rounds: number;
  /** Median over rounds of the first call's wall time minus the warm median (ms). */
  coldStartMs: { noop: number; sdkload: number; sdkping: number };
  /** Median time of `require('wx-server-sdk')` inside a fresh instance (ms). */
  sdkRequireMs: number;
  /** Warm invocation wall time and the function's own work, medians (ms). */
  warm: {
    jsApiMs: number;
    httpMs: number;
    ownMs: number;
    /** What the emulator adds to a warm invocation through its JS API / HTTP route. */
    overheadJsApiMs: number;
    overheadHttpMs: number;
    /** One SDK database read as the function sees it, and the handler's share of it. */
    sdkRequestMs: number;
    sdkRequestHandlerMs: number;
  };
}

async function timed(emu: RunningEmulator, name: string): Promise<{ ms: number; result: unknown }> {
  const started = performance.now();
  const outcome = await emu.services.functions.invoke({ name, data: {} });
  const ms = performance.now() - started;
  if (!('result' in outcome)) throw new Error(`${name} failed: ${outcome.errMsg}`);
  return { ms, result: outcome.result };
}

async function timedHttp(emu: RunningEmulator, name: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${emu.url}/emulator/v1/functions/${name}/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: {} }),
  });
  const body = (await res.json()) as { result?: unknown; errMsg?: string };
  if (!('result' in body)) throw new Error(`${name} over HTTP failed: ${body.errMsg}`);
  return performance.now() - started;
}

const own = (result: unknown): number => Number((result as { ownMs?: unknown }).ownMs);

export async function measureStartup(rounds: number, warmCalls: number): Promise<StartupResult> {
  const cold = { noop: [] as number[], sdkload: [] as number[], sdkping: [] as number[] };
  const requireMs: number[] = [];
  const warm = { js: [] as number[], http: [] as number[], own: [] as number[] };
  const ping = { wall: [] as number[], own: [] as number[], handler: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const emu = await startFixtureEmulator();
    try {
      const firsts = {
        noop: (await timed(emu, 'noop')).ms,
        sdkload: await timed(emu, 'sdkload'),
        sdkping: (await timed(emu, 'sdkping')).ms,
      };
      requireMs.push(Number((firsts.sdkload.result as { loadMs?: unknown }).loadMs));
      const warmOf = async (name: string, n: number): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await timed(emu, name)).ms);
        return out;
      };
      cold.noop.push(firsts.noop - median(await warmOf('noop', 10)));
      cold.sdkload.push(firsts.sdkload.ms - median(await warmOf('sdkload', 10)));
      cold.sdkping.push(firsts.sdkping - median(await warmOf('sdkping', 10)));

      for (let i = 0; i < warmCalls; i++) {
        const { ms, result } = await timed(emu, 'noop');
        warm.js.push(ms);
        warm.own.push(own(result));
      }
      for (let i = 0; i < warmCalls; i++) warm.http.push(await timedHttp(emu, 'noop'));
      const unsubscribe = emu.events.subscribe((event) => {
        if (event.type === 'database.operation' && typeof event.data.durationMs === 'number') {
          ping.handler.push(event.data.durationMs);
        }
      });
      for (let i = 0; i < Math.ceil(warmCalls / 2); i++) {
        const { ms, result } = await timed(emu, 'sdkping');
        ping.wall.push(ms);
        ping.own.push(own(result));
      }
      unsubscribe();
    } finally {
      await emu.stop();
    }
  }
  const jsApiMs = median(warm.js);
  const httpMs = median(warm.http);
  const ownMs = median(warm.own);
  return {
    rounds,
    coldStartMs: {
      noop: median(cold.noop),
      sdkload: median(cold.sdkload),
      sdkping: median(cold.sdkping),
    },
    sdkRequireMs: median(requireMs),
    warm: {
      jsApiMs,
      httpMs,
      ownMs,
      overheadJsApiMs: jsApiMs - ownMs,
      overheadHttpMs: httpMs - ownMs,
      sdkRequestMs: median(ping.own),
      sdkRequestHandlerMs: median(ping.handler),
    },
  };
}
