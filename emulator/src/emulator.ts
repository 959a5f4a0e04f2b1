import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Clock } from './clock';
import { EventLog } from './events';
import { createServices, orderedServices, resetEmulator, type Services } from './registry';
import { createApp } from './server';
import type { EmulatorConfig, EmulatorContext, EmulatorService } from './service';
import { mountPreview } from './web';

export interface StartOptions {
  /** Folder of cloud functions, one sub-folder each. Default: project.config.json's cloudfunctionRoot. */
  functionsDir?: string;
  /** Project folder (database/ files, node_modules fallback). Default: the current directory. */
  projectDir?: string;
  /** 0 picks a free port. Default 8787. */
  port?: number;
  inMemory?: boolean;
  dataDir?: string;
  /** One env id, or several separated by commas (the first is the default). */
  envId?: string;
  appid?: string;
  mchId?: string;
  maxInstancesPerFunction?: number;
  /** Reclaim a function instance idle this long (emulated ms); 0 never. Default 10 minutes. */
  instanceIdleMs?: number;
  defaultFunctionTimeoutMs?: number;
  freezeAfterReturn?: boolean;
  /** 'port' (default): SDK requests from functions skip HTTP; 'http': real loopback HTTP. */
  sdkTransport?: 'port' | 'http';
  /** Function environment variables: `{"*": {...}, "<function>": {...}}`. */
  functionEnv?: Record<string, Record<string, string>>;
  /** Also serve the console at / and the page preview at /preview/ (see docs/preview.md). */
  preview?: boolean;
}

export interface RunningEmulator {
  /** Base address, e.g. http://127.0.0.1:8787. */
  url: string;
  port: number;
  config: EmulatorConfig;
  services: Services;
  clock: Clock;
  events: EventLog;
  /** Advances the emulated clock; resolves once everything that became due has run. */
  advanceClock(ms: number): Promise<void>;
  /** Empties documents, payments, faults and events; keeps collections and rules. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Instances per function by default: one per core, at least 2 (a second caller never waits behind
 * a slow one) and at most 4. Each instance is a worker thread with its own SDK (~60 MB); on 2
 * cores, 2 instances closed 1.13x the paid orders/s of 8 with 125 MB less (issue 18's
 * measurements), and more only shortened queues, not the work. `--max-instances` overrides it.
 */
function defaultInstances(): number {
  return Math.max(2, Math.min(4, os.availableParallelism()));
}

export const DEFAULTS = {
  port: 8787,
  envId: 'local-env',
  appid: 'wx0000000000000000',
  mchId: '1900000109',
  dataDir: '.wxcloud-emulator',
  maxInstancesPerFunction: defaultInstances(),
  // The cloud reclaims an instance that serves no request for a while and documents no figure
  // (docs.cloudbase.net/practices/scf-preset-concurrency: the retention "is adjusted dynamically
  // by the platform; code must not assume a particular time"). 10 minutes is the emulator's
  // choice: long enough that a developer's pauses stay warm, short enough that an emulator left
  // running returns the memory of functions no longer called. `--instance-idle-ms` overrides it.
  instanceIdleMs: 10 * 60 * 1000,
  // The cloud's default timeout is reported as 3 s; local machines are slower to cold-start, and
  // function config.json `timeout` (seconds) overrides it per function as the console does.
  defaultFunctionTimeoutMs: 3000,
} as const;

/** The cloudfunctionRoot declared by a project.config.json in `projectDir`, if any. */
function functionsDirFromProject(projectDir: string): string | undefined {
  const file = path.join(projectDir, 'project.config.json');
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { cloudfunctionRoot?: unknown };
  return typeof parsed.cloudfunctionRoot === 'string'
    ? path.resolve(projectDir, parsed.cloudfunctionRoot)
    : undefined;
}

export function resolveConfig(options: StartOptions = {}): EmulatorConfig {
  const projectDir = path.resolve(options.projectDir ?? process.cwd());
  const functionsDir = options.functionsDir
    ? path.resolve(options.functionsDir)
    : functionsDirFromProject(projectDir);
  if (!functionsDir) {
    throw new Error(
      `no functions folder: pass --functions DIR (or functionsDir), or run where a project.config.json names a cloudfunctionRoot (looked in ${projectDir})`,
    );
  }
  const port = options.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  for (const [name, value] of Object.entries({
    envId: options.envId,
    appid: options.appid,
    mchId: options.mchId,
  })) {
    if (value !== undefined && (typeof value !== 'string' || !value.trim())) {
      throw new Error(`${name} must be a non-empty string`);
    }
  }
  const envIds = parseEnvIds(options.envId ?? DEFAULTS.envId);
  return {
    functionsDir,
    projectDir,
    port,
    inMemory: options.inMemory ?? false,
    dataDir: path.resolve(projectDir, options.dataDir ?? DEFAULTS.dataDir),
    envId: envIds[0] ?? DEFAULTS.envId,
    envIds,
    appid: options.appid ?? DEFAULTS.appid,
    mchId: options.mchId ?? DEFAULTS.mchId,
    maxInstancesPerFunction: options.maxInstancesPerFunction ?? DEFAULTS.maxInstancesPerFunction,
    instanceIdleMs: idleMsOf(options.instanceIdleMs),
    defaultFunctionTimeoutMs: options.defaultFunctionTimeoutMs ?? DEFAULTS.defaultFunctionTimeoutMs,
    freezeAfterReturn: options.freezeAfterReturn ?? false,
    sdkTransport: sdkTransportOf(options.sdkTransport),
    functionEnv: validateFunctionEnv(options.functionEnv ?? {}),
  };
}

/**
 * `a,b`: the envs hosted, the first being the default. An env id is what the cloud console shows
 * (letters, digits, `-` and `_`), so a typo fails at start rather than on the first call.
 */
function parseEnvIds(value: string): string[] {
  const ids = value.split(',').map((id) => id.trim());
  for (const id of ids) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id)) {
      throw new Error(
        `env id ${JSON.stringify(id)} is not valid: use letters, digits, - and _ (e.g. --env-id prod-4g1x,test-7k2m)`,
      );
    }
  }
  if (new Set(ids).size !== ids.length) throw new Error(`env ids repeat: ${value}`);
  return ids;
}

function idleMsOf(value: unknown): number {
  if (value === undefined) return DEFAULTS.instanceIdleMs;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw new Error(
    `instanceIdleMs must be a non-negative integer of milliseconds (0 keeps idle instances), got ${JSON.stringify(value)}`,
  );
}

function sdkTransportOf(value: unknown): 'port' | 'http' {
  if (value === undefined) return 'port';
  if (value === 'port' || value === 'http') return value;
  throw new Error(`sdkTransport must be "port" or "http", got ${JSON.stringify(value)}`);
}

function validateFunctionEnv(value: unknown): Record<string, Record<string, string>> {
  const usage = 'functionEnv must look like {"*": {"KEY": "value"}, "userpay": {"KEY": "value"}}';
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(usage);
  for (const [fn, vars] of Object.entries(value)) {
    if (!vars || typeof vars !== 'object' || Array.isArray(vars))
      throw new Error(`${usage}; "${fn}" is not an object`);
    for (const [key, v] of Object.entries(vars)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || typeof v !== 'string') {
        throw new Error(`${usage}; "${fn}.${key}" must be a variable name with a string value`);
      }
    }
  }
  return value as Record<string, Record<string, string>>;
}

/**
 * Refuses to run with real cloud credentials in the environment: the emulator is for development
 * only, and a developer who exported real keys should not wonder which cloud they are talking to.
 */
function refuseRealCredentials(): void {
  const id = process.env.TENCENTCLOUD_SECRETID;
  if (id && /^AKID[A-Za-z0-9]{20,}$/.test(id)) {
    throw new Error(
      'TENCENTCLOUD_SECRETID holds what looks like a real Tencent Cloud key; wxcloud-emulator runs offline only. Unset it first.',
    );
  }
}

export async function startEmulator(options: StartOptions = {}): Promise<RunningEmulator> {
  refuseRealCredentials();
  const config = resolveConfig(options);
  const clock = new Clock();
  const events = new EventLog(() => clock.now());
  let baseUrl = '';
  const ctx: EmulatorContext = {
    config,
    clock,
    events,
    url: () => baseUrl,
    services: undefined as unknown as Services,
  };
  const services = createServices(ctx);
  const app = createApp(ctx);
  const preview = options.preview ? mountPreview(app, ctx) : undefined;

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    );
    (s as Server).once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  config.port = port;

  const started: EmulatorService[] = [];
  try {
    for (const service of orderedServices(services)) {
      await service.start();
      started.push(service);
    }
  } catch (err) {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    server.close();
    throw err;
  }
  for (const service of orderedServices(services)) service.attachServer?.(server);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clock.stop();
      for (const service of orderedServices(services).reverse()) await service.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      });
    })();
    return stopping;
  };

  // The browser bundles build while the services start; ready means the preview is servable.
  if (preview) {
    await preview.ready.catch(async (err: unknown) => {
      await stop();
      throw err;
    });
  }

  return {
    url: baseUrl,
    port,
    config,
    services,
    clock,
    events,
    advanceClock: (ms) => clock.advance(ms),
    reset: () => resetEmulator(ctx),
    stop,
  };
}
