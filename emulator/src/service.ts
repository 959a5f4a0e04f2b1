import type { Hono } from 'hono';
import type { Clock } from './clock';
import type { EventLog } from './events';
import type { Services } from './registry';

/** What the emulator was started with; every field resolved (defaults applied). */
export interface EmulatorConfig {
  functionsDir: string;
  /** The project the functions belong to: `database/` files and a fallback `node_modules`. */
  projectDir: string;
  port: number;
  inMemory: boolean;
  dataDir: string;
  /** The default env: `DYNAMIC_CURRENT_ENV` of functions and the first of `envIds`. */
  envId: string;
  /** Every env the emulator hosts (`--env-id a,b`); an SDK call naming another one fails. */
  envIds: string[];
  appid: string;
  mchId: string;
  /** Instances per function at most (the cloud scales further; locally a few suffice). */
  maxInstancesPerFunction: number;
  /**
   * An idle function instance is reclaimed (terminated, its memory returned) after this many ms
   * of emulated time without a call; 0 never. The cloud documents no figure (the retention is
   * "adjusted dynamically by the platform"): the default is the emulator's choice.
   */
  instanceIdleMs: number;
  /** Default function timeout in ms when config.json sets none (the cloud's default is 3 s). */
  defaultFunctionTimeoutMs: number;
  /**
   * Environment variables set on functions, as the cloud console's 环境变量 does: keyed by function
   * name, or '*' for all. The platform's own variables always win.
   */
  functionEnv: Record<string, Record<string, string>>;
  /** Drop SDK work a function leaves in flight after returning, as a frozen cloud instance may. */
  freezeAfterReturn: boolean;
  /**
   * How SDK requests from function instances reach the emulator: 'port' carries the ones to the
   * emulator's own /admin path over the worker's message port (functions/sdk-transport.ts),
   * 'http' sends every request over loopback HTTP as a real network would.
   */
  sdkTransport: 'port' | 'http';
}

/** Shared by all services: configuration, the clock, the event log and the other services. */
export interface EmulatorContext {
  readonly config: EmulatorConfig;
  readonly clock: Clock;
  readonly events: EventLog;
  /** Base address once listening, e.g. http://127.0.0.1:8787. */
  url(): string;
  /** Every service, set once all are constructed (services look each other up lazily). */
  services: Services;
}

/** Who sent an /admin request: the env from the query and, for function instances, which one. */
export interface ActionContext {
  env: string | undefined;
  /** Set when the request came from an emulated function instance (its own /admin path). */
  instanceId: string | undefined;
  /**
   * Set for mini-program client requests (POST /admin/client, the `x-wxcloud-openid` header):
   * security rules apply to them. Undefined for server SDK requests, which bypass rules.
   */
  client?: { openid: string };
  /** For requests from an emulated instance: the invocation that sent it, when known. */
  caller?: { openid: string; source: string };
}

/**
 * One handler per SDK action name. `body` is the request's JSON (or multipart fields, with file
 * parts as Buffers); the return value is the HTTP 200 JSON body. Throw EmulatorError to answer the
 * platform's `{code, message}`.
 */
export type ActionHandler = (body: Record<string, unknown>, ctx: ActionContext) => Promise<unknown>;

/** The lifecycle every emulated service implements; the registry starts and stops them in order. */
export interface EmulatorService {
  readonly name: keyof Services;
  /** The SDK actions this service answers on /admin, keyed by the platform's action names. */
  readonly actions: Record<string, ActionHandler>;
  /**
   * Which of `actions` a mini-program client may send through POST /admin/client: only what the
   * mini-program SDK itself can send (database operations under rules, callFunction, the
   * realtime sign-in, client storage). Everything else is server-only there (server.ts refuses
   * it); /admin and the control API keep every action.
   */
  readonly clientActions?: readonly string[];
  /** Control routes under /emulator/v1 (inspection routes must have no side effects). */
  routes?(app: Hono): void;
  /** Routes outside /emulator/v1 that SDKs reach through URLs the service hands out (storage's object store). */
  httpRoutes?(app: Hono): void;
  /** This service's part of POST /emulator/v1/faults (the body key equal to `name`). */
  applyFaults?(spec: unknown): void;
  start(): Promise<void>;
  /** Called once the HTTP server listens (the realtime watch upgrades WebSockets on it). */
  attachServer?(server: import('node:http').Server): void;
  /** Empties data, faults and pending work; keeps declared collections and configuration. */
  reset(): Promise<void>;
  /** How many records (documents, orders) it holds now: what a reset would let go of. */
  storedRecords?(): number;
  /** Empties one env's data (`POST /emulator/v1/reset?env=`), for services that keep data per env. */
  resetEnv?(env: string): void;
  stop(): Promise<void>;
}
