import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import type { ScheduledTask } from '../clock';
import { controlEnv } from '../envs';
import { EmulatorError } from '../errors';
import type { ActionContext, ActionHandler, EmulatorContext, EmulatorService } from '../service';
import { parseCron } from './cron';
import { FunctionConfigs, type FunctionConfig } from './function-config';
import { DEFAULT_INSTANCE_MEMORY_MB, Instance, locateWorker, type RunResult } from './instance';
import { invocationEnv, platformEvent, WX_CONTEXT_KEYS } from './invocation-context';
import { AFTER_RETURN_HEADER, INVOCATION_HEADER } from './protocol';
import { answerOverPort, type PortAnswerer } from './sdk-port-answers';
import { BODY_LIMITS } from '../body-limits';
import { BoundedHistory, HISTORY_LIMITS, keptValue, sizeOf, truncateText } from './history';
import {
  LOCAL_OPENID,
  type FunctionFault,
  type FunctionInfo,
  type InvocationOutcome,
  type InvocationRecord,
  type InvokeOutcome,
  type InvokeRequest,
} from './types';

export * from './types';

/**
 * Error codes. A mini-program's `wx.cloud.callFunction` reports every platform failure as
 * -404011 "cloud function execution error", with the cloud function service's own code in the
 * message (-501000 for an unknown function, -504002 for one that failed). The control route
 * answers the same way so a test sees what a page would see. The timeout's inner code is not
 * confirmed: it is reported with -504002 and the SCF message "Invoking task timed out".
 */
const CLIENT_ERR_CODE = -404011;
/** The /admin error code the SDK maps to -504002 (functions execute fail). */
const SDK_EXECUTE_FAIL = 'FUNCTIONS_EXECUTE_FAIL';

const MAX_CATCH_UP_FIRINGS = 1000;
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,60}$/;

interface Pool {
  all: Set<Instance>;
  idle: Instance[];
  waiters: (() => void)[];
}

export class FunctionsService implements EmulatorService {
  readonly name = 'functions' as const;
  readonly actions: Record<string, ActionHandler> = {
    'functions.invokeFunction': (body, actionCtx) => this.invokeFromSdk(body, actionCtx),
  };
  /** wx.cloud.callFunction: from a mini-program it runs as wx_client with the caller's OPENID. */
  readonly clientActions = ['functions.invokeFunction'] as const;

  private readonly pools = new Map<string, Pool>();
  private readonly instancesById = new Map<string, Instance>();
  private answerOverPort: PortAnswerer | undefined;
  private readonly configs = new FunctionConfigs();
  private readonly records = new BoundedHistory<InvocationRecord>();
  /** Characters of logs each kept invocation holds (bounded by HISTORY_LIMITS.logChars). */
  private readonly logChars = new WeakMap<InvocationRecord, number>();
  private readonly faults = new Map<string, { mode: FunctionFault['mode']; remaining: number }>();
  private triggerTasks: ScheduledTask[] = [];
  private readonly lateFirings = new Map<string, number>();
  /** Which invocation an /admin request came from, for the duration of its handler. */
  private readonly caller = new AsyncLocalStorage<InvocationRecord | undefined>();
  /** The emulated clock's offset, shared with every worker (their `Date` adds it). */
  private readonly clockOffset = new SharedArrayBuffer(8);
  private workerFile: string | undefined;
  private seq = 0;
  private stopped = false;

  constructor(readonly ctx: EmulatorContext) {}

  /** Names of the function folders served (read afresh, so new folders appear). */
  list(): string[] {
    const dir = this.ctx.config.functionsDir;
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, 'index.js')))
      .map((d) => d.name)
      .sort();
  }

  /** Each function with its timeout, triggers and live instances. */
  describe(): FunctionInfo[] {
    return this.list().map((name) => {
      const config = this.readConfigSafe(name);
      return {
        name,
        timeoutMs: config?.timeoutMs ?? this.ctx.config.defaultFunctionTimeoutMs,
        triggers: config?.triggers ?? [],
        instances: [...(this.pools.get(name)?.all ?? [])].map((i) => ({
          instanceId: i.id,
          state: i.state,
        })),
      };
    });
  }

  /** Invocations kept in memory (the last 1000), oldest first; optionally of one function or env. */
  invocations(filter: { name?: string; env?: string } = {}): InvocationRecord[] {
    return [...this.records.values()].filter(
      (r) => (!filter.name || r.name === filter.name) && (!filter.env || r.envId === filter.env),
    );
  }

  invocation(invocationId: string): InvocationRecord | undefined {
    return this.records.get(invocationId);
  }

  /** Makes the next calls of a function fail; the JS twin of the faults route. */
  injectFaults(spec: FunctionFault | FunctionFault[]): void {
    this.applyFaults(spec);
  }

  applyFaults(spec: unknown): void {
    const list = Array.isArray(spec) ? spec : [spec];
    const parsed = list.map((item, i) => {
      const where = Array.isArray(spec) ? `functions[${i}]` : 'functions';
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        throw new EmulatorError(
          'INVALID_PARAM',
          `${where} must be an object like {"name": "userpaynotify", "mode": "throw", "count": 1}`,
        );
      }
      const { name, mode, count = 1 } = item as Record<string, unknown>;
      if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
        throw new EmulatorError('INVALID_PARAM', `${where}.name must be a function name`);
      }
      if (mode !== 'throw' && mode !== 'timeout') {
        throw new EmulatorError(
          'INVALID_PARAM',
          `${where}.mode must be "throw" or "timeout", got ${JSON.stringify(mode)}`,
        );
      }
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 10000) {
        throw new EmulatorError(
          'INVALID_PARAM',
          `${where}.count must be an integer from 1 to 10000, got ${JSON.stringify(count)}`,
        );
      }
      return { name, mode: mode as FunctionFault['mode'], count };
    });
    for (const fault of parsed) {
      this.faults.set(fault.name, { mode: fault.mode, remaining: fault.count });
    }
  }

  /** Runs one invocation as the platform would; never throws for the function's own failures. */
  async invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    if (this.stopped) throw new Error('the emulator is stopped');
    const { name } = request;
    const openid = request.openid ?? LOCAL_OPENID;
    const source = request.source ?? 'wx_client';
    const started = Date.now();
    const record: InvocationRecord = {
      invocationId: this.newId('inv'),
      name,
      envId: request.envId ?? this.ctx.config.envId,
      source,
      openid,
      event: platformEvent(request.data, {
        source,
        openid,
        appid: request.appid ?? this.ctx.config.appid,
        clientIp: request.clientIp ?? '127.0.0.1',
      }),
      startedAt: new Date(this.ctx.clock.now()).toISOString(),
      durationMs: 0,
      coldStart: false,
      instanceId: undefined,
      outcome: 'ok',
      logs: [],
      warnings: [],
      returned: false,
    };
    this.remember(record);

    const fail = (outcome: InvocationOutcome, inner: number, message: string): InvokeOutcome => {
      record.outcome = outcome;
      record.error = {
        errCode: CLIENT_ERR_CODE,
        errMsg: `cloud.callFunction:fail requestID ${record.invocationId}, cloud function service error code ${inner}, error message ${message}`,
      };
      return { invocationId: record.invocationId, ...record.error };
    };

    const outcome = await this.execute(record, request, fail);
    record.returned = true;
    record.durationMs = Date.now() - started;
    this.ctx.events.emit('function.invocation', {
      name,
      invocationId: record.invocationId,
      source,
      openid,
      event: record.event,
      outcome: record.outcome,
      ...('result' in outcome ? { result: outcome.result } : { error: record.error }),
      durationMs: record.durationMs,
      coldStart: record.coldStart,
      instanceId: record.instanceId,
      logs: [...record.logs],
      warnings: [...record.warnings],
    });
    return outcome;
  }

  private async execute(
    record: InvocationRecord,
    request: InvokeRequest,
    fail: (outcome: InvocationOutcome, inner: number, message: string) => InvokeOutcome,
  ): Promise<InvokeOutcome> {
    const { name } = record;
    if (!this.ctx.config.envIds.includes(record.envId)) {
      return fail(
        'not_found',
        -501000,
        `Environment not found: env "${record.envId}" is not hosted by wxcloud-emulator (it hosts ${this.ctx.config.envIds.join(', ')}; add it with --env-id)`,
      );
    }
    if (typeof name !== 'string' || !NAME_PATTERN.test(name) || !this.hasFunction(name)) {
      return fail(
        'not_found',
        -501000,
        `[ResourceNotFound.FunctionName] FunctionName parameter could not be found: no function folder "${String(name)}" with an index.js in ${this.ctx.config.functionsDir}`,
      );
    }
    let config: FunctionConfig;
    try {
      config = this.readConfig(name);
    } catch (err) {
      return fail('crashed', -504002, (err as Error).message);
    }

    const fault = this.faults.get(name);
    if (fault) {
      if (--fault.remaining <= 0) this.faults.delete(name);
      // An injected timeout answers at once rather than waiting the timeout out: tests stay fast.
      return fault.mode === 'throw'
        ? fail('fault', -504002, 'Error: fault injected by wxcloud-emulator (mode "throw")')
        : fail(
            'fault',
            -504002,
            `Invoking task timed out after ${config.timeoutMs / 1000} seconds (fault injected by wxcloud-emulator)`,
          );
    }

    const acquired = await this.acquire(name);
    if (typeof acquired === 'string') return fail('crashed', -504002, acquired);
    const { instance, coldStart } = acquired;
    record.coldStart = coldStart;
    record.instanceId = instance.id;

    const { set: perInvocation, unset } = invocationEnv({
      source: record.source,
      openid: record.openid,
      appid: request.appid ?? this.ctx.config.appid,
      clientIp: request.clientIp ?? '127.0.0.1',
    });
    // The env this call runs in: one instance may serve several envs, one call at a time (on the
    // cloud each env has its own copy of the function).
    perInvocation.TCB_ENV = record.envId;
    perInvocation.SCF_NAMESPACE = record.envId;
    const env = { ...this.instanceEnv(name, instance.id), ...perInvocation };
    delete env.PATH;
    const context = {
      callbackWaitsForEmptyEventLoop: false,
      memory_limit_in_mb: DEFAULT_INSTANCE_MEMORY_MB,
      time_limit_in_ms: config.timeoutMs,
      request_id: record.invocationId,
      environment: JSON.stringify(env),
      environ: Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join(';'),
      function_version: '$LATEST',
      function_name: name,
      namespace: record.envId,
      tencentcloud_region: 'ap-shanghai',
      tencentcloud_appid: '',
      tencentcloud_uin: '',
    };
    this.syncClock();
    let result: RunResult;
    try {
      result = await instance.run(
        {
          type: 'invoke',
          invocationId: record.invocationId,
          event: record.event,
          context,
          env: perInvocation,
          unset,
        },
        config.timeoutMs,
      );
    } finally {
      this.release(name, instance);
    }
    record.returned = true;
    // The history keeps large events and results trimmed (history.ts); the caller gets all.
    record.event = keptValue(record.event);

    switch (result.kind) {
      case 'ok':
        this.flagPending(record, result.pending);
        record.outcome = 'ok';
        record.result = keptValue(result.result);
        this.records.grow(record.invocationId, sizeOf(record.result));
        return { invocationId: record.invocationId, result: result.result };
      case 'threw':
        this.flagPending(record, result.pending);
        return fail(
          'threw',
          -504002,
          result.error.stack ?? `${result.error.name}: ${result.error.message}`,
        );
      case 'timeout':
        return fail(
          'timeout',
          -504002,
          `Invoking task timed out after ${config.timeoutMs / 1000} seconds (the instance was terminated and will be replaced)`,
        );
      case 'crashed':
        return fail('crashed', -504002, result.message);
    }
  }

  /**
   * Every SDK request from an instance passes through here (server.ts), so it is tied to the
   * invocation that made it. A request sent after `main` returned is flagged; with
   * freezeAfterReturn it is never performed and never answered, as on a frozen cloud instance
   * (the code after its `await` does not run either), until the instance is terminated.
   */
  async fromInstance<T>(
    instanceId: string,
    headers: Record<string, string | undefined>,
    action: string,
    run: () => Promise<T>,
  ): Promise<T> {
    const instance = this.instancesById.get(instanceId);
    const invocationId = headers[INVOCATION_HEADER] ?? instance?.lastInvocationId;
    const record = invocationId ? this.records.get(invocationId) : undefined;
    this.syncClock();
    if (record && headers[AFTER_RETURN_HEADER] === '1') {
      const frozen = this.ctx.config.freezeAfterReturn;
      this.warn(
        record,
        `SDK request ${action} was sent after main returned; on the cloud the instance may be frozen and it may never run${frozen ? ' (dropped: --freeze-after-return)' : ''}`,
      );
      if (frozen && instance) {
        await instance.hold();
        throw new EmulatorError('INSTANCE_FROZEN', `dropped ${action}: the instance was frozen`);
      }
    }
    return this.caller.run(record, run);
  }

  /** functions.invokeFunction: another function (or any SDK user) calls one by name. */
  private async invokeFromSdk(
    body: Record<string, unknown>,
    actionCtx?: ActionContext,
  ): Promise<unknown> {
    const name = body.function_name;
    if (typeof name !== 'string' || !name) {
      throw new EmulatorError('INVALID_PARAM', 'functions.invokeFunction needs function_name');
    }
    let data: unknown = {};
    if (
      typeof body.request_data === 'string' &&
      Buffer.byteLength(body.request_data) > BODY_LIMITS.functionInvoke
    ) {
      // The cloud's limit for a function's request body (server.ts BODY_LIMITS).
      throw new EmulatorError(
        'EXCEED_MAX_PAYLOAD_SIZE',
        `request_data is ${Buffer.byteLength(body.request_data)} bytes; a cloud function call takes at most ${BODY_LIMITS.functionInvoke}`,
      );
    }
    if (typeof body.request_data === 'string' && body.request_data !== '') {
      try {
        data = JSON.parse(body.request_data);
      } catch {
        throw new EmulatorError('INVALID_PARAM', 'request_data is not a JSON string');
      }
    }
    const caller = this.caller.getStore();
    // From a mini-program (POST /admin/client) the function runs as that user with SOURCE
    // wx_client, as wx.cloud.callFunction does. From a function, the callee runs as the same
    // user; its SOURCE is the caller's with `scf` appended, which is also what the SDK sends in
    // X-TCB-Source (`${TCB_SOURCE},scf`).
    const client = actionCtx?.client;
    const outcome = await this.invoke({
      name,
      data,
      // The callee runs in the env the call named (cloud.init({env}) or DYNAMIC_CURRENT_ENV).
      ...(actionCtx?.env ? { envId: actionCtx.env } : {}),
      openid: client?.openid ?? caller?.openid ?? '',
      source: client ? 'wx_client' : caller ? `${caller.source},scf` : 'scf',
    });
    if ('errCode' in outcome) {
      throw new EmulatorError(
        outcome.errMsg.includes('error code -501000') ? 'FUNCTIONS_NOT_FOUND' : SDK_EXECUTE_FAIL,
        outcome.errMsg.replace(/^cloud\.callFunction:fail /, ''),
      );
    }
    return {
      data: { response_data: JSON.stringify(outcome.result) },
      requestId: outcome.invocationId,
    };
  }

  routes(app: Hono): void {
    app.post('/functions/:name/invoke', async (c) => {
      // An empty body means "no data"; a body that is not JSON is refused before anything runs
      // (it used to be read as "no body" and the function ran with {}).
      const text = await c.req.text();
      let body: unknown;
      if (text.trim()) {
        try {
          body = JSON.parse(text) as unknown;
        } catch (err) {
          throw new EmulatorError(
            'INVALID_PARAM',
            `invoke: the request body is not valid JSON (${(err as Error).message}); send {data, openid?, source?}`,
          );
        }
      }
      if (body !== undefined && (!body || typeof body !== 'object' || Array.isArray(body))) {
        throw new EmulatorError(
          'INVALID_PARAM',
          'invoke needs a JSON object {data, openid?, source?}',
        );
      }
      const { data, openid, source, appid, clientIp, envId } = (body ?? {}) as Record<
        string,
        unknown
      >;
      for (const [key, value] of Object.entries({ openid, source, appid, clientIp, envId })) {
        if (value !== undefined && typeof value !== 'string') {
          throw new EmulatorError('INVALID_PARAM', `invoke: ${key} must be a string`);
        }
      }
      const outcome = await this.invoke({
        name: c.req.param('name'),
        data: data ?? {},
        openid: openid as string | undefined,
        source: source as string | undefined,
        appid: appid as string | undefined,
        clientIp: clientIp as string | undefined,
        // The env: the body's envId, or `?env=` as on every per-env control route.
        envId: (envId as string | undefined) ?? c.req.query('env'),
      });
      // The body is exactly the contract's `{result}` or `{errCode, errMsg}`; the invocation's id
      // (for the console and GET functions/invocations) travels in a header.
      const { invocationId, ...answer } = outcome;
      c.header('x-wxcloud-invocation-id', invocationId);
      return c.json(answer);
    });
    app.get('/functions', (c) => c.json({ functions: this.describe() }));
    app.get('/functions/invocations', (c) =>
      c.json({
        invocations: this.invocations({
          name: c.req.query('name'),
          env: c.req.query('env') && controlEnv(this.ctx.config, c.req.query('env')),
        }),
      }),
    );
  }

  async start(): Promise<void> {
    this.workerFile = locateWorker();
    this.scheduleTriggers();
  }

  async reset(): Promise<void> {
    // The clock has already dropped every pending task (reset runs it first): re-arm the timers.
    this.cancelTriggers();
    this.records.clear();
    this.faults.clear();
    this.scheduleTriggers();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTriggers();
    const all = [...this.instancesById.values()];
    this.instancesById.clear();
    this.pools.clear();
    await Promise.all(all.map((i) => i.terminate()));
  }

  // --- instances -----------------------------------------------------------------------------

  private pool(name: string): Pool {
    let pool = this.pools.get(name);
    if (!pool) {
      pool = { all: new Set(), idle: [], waiters: [] };
      this.pools.set(name, pool);
    }
    return pool;
  }

  /** A warm idle instance, or a new one within the limit, or a wait for one to come free. */
  private async acquire(
    name: string,
  ): Promise<{ instance: Instance; coldStart: boolean } | string> {
    const pool = this.pool(name);
    for (;;) {
      const warm = pool.idle.pop();
      // A dead one is retired by retireCrashed; this is a last guard against reusing it.
      if (warm && warm.state === 'dead') continue;
      if (warm) return { instance: warm, coldStart: false };
      if (pool.all.size < this.ctx.config.maxInstancesPerFunction) break;
      await new Promise<void>((resolve) => pool.waiters.push(resolve));
      if (this.stopped) return 'the emulator stopped';
    }
    const id = this.newId(name);
    const instance = new Instance(
      {
        id,
        functionName: name,
        functionDir: path.join(this.ctx.config.functionsDir, name),
        fallbackNodeModules: path.join(this.ctx.config.projectDir, 'node_modules'),
        clockOffset: this.clockOffset,
        env: this.instanceEnv(name, id),
        onLog: (invocationId, level, message) => this.log(invocationId, level, message),
        onIdleCrash: (dead, why) => this.retireCrashed(name, dead, why),
        portTransport:
          this.ctx.config.sdkTransport === 'port'
            ? {
                origin: this.ctx.url(),
                answer: (request) => (this.answerOverPort ??= answerOverPort(this.ctx))(request),
              }
            : undefined,
      },
      this.workerFile ?? locateWorker(),
    );
    pool.all.add(instance);
    this.instancesById.set(id, instance);
    const failure = await instance.start();
    if (failure) {
      this.release(name, instance);
      return failure;
    }
    return { instance, coldStart: true };
  }

  /**
   * An idle instance died (it crashed after `main` returned): take it out of the pool so the next
   * call starts a fresh one, and record the crash on the invocation that left the work behind.
   */
  private retireCrashed(name: string, instance: Instance, why: string): void {
    const pool = this.pool(name);
    const at = pool.idle.indexOf(instance);
    if (at >= 0) pool.idle.splice(at, 1);
    pool.all.delete(instance);
    pool.waiters.shift()?.();
    const record = instance.lastInvocationId
      ? this.records.get(instance.lastInvocationId)
      : undefined;
    const message = `instance ${instance.id} crashed after main returned (${why}); it was retired and the next call starts a fresh instance`;
    if (record) this.warn(record, message);
    else this.ctx.events.emit('emulator.warning', { service: 'functions', name, message });
  }

  private release(name: string, instance: Instance): void {
    const pool = this.pool(name);
    if (instance.state === 'dead') {
      pool.all.delete(instance);
      // Kept in instancesById so late requests from it are still attributed (and dropped).
    } else {
      pool.idle.push(instance);
    }
    pool.waiters.shift()?.();
  }

  /** The platform's environment for an instance (platform-facts §1), pointed at this emulator. */
  private instanceEnv(name: string, instanceId: string): Record<string, string> {
    const { envId, functionEnv } = this.ctx.config;
    return {
      // What the console's 环境变量 would set: for every function ('*'), then for this one.
      ...functionEnv['*'],
      ...functionEnv[name],
      PATH: process.env.PATH ?? '',
      TCB_CONTEXT_CNFG: JSON.stringify({ URL: `${this.ctx.url()}/admin/instances/${instanceId}` }),
      TENCENTCLOUD_RUNENV: 'SCF',
      TENCENTCLOUD_SECRETID: 'local-dummy-id',
      TENCENTCLOUD_SECRETKEY: 'local-dummy-key',
      TENCENTCLOUD_SESSIONTOKEN: 'local-dummy-token',
      TENCENTCLOUD_REGION: 'ap-shanghai',
      TCB_ENV: envId,
      SCF_NAMESPACE: envId,
      SCF_FUNCTIONNAME: name,
      SCF_FUNCTIONVERSION: '$LATEST',
      // @cloudbase/node-sdk 2.1.x (wx-server-sdk 2.1.x-2.2.x) reads TCB_CONTEXT_CNFG only when
      // TCB_CONTEXT_KEYS names it, and otherwise falls back to the in-cloud hosts; newer ones
      // read it regardless (their lib/cloudbase.js getCloudbaseContext).
      TCB_CONTEXT_KEYS: 'TCB_SOURCE,TCB_CONTEXT_CNFG',
      WX_CONTEXT_KEYS,
      // The SDK prints every database call unless SILENCE is set; the cloud sets it too.
      SILENCE: 'true',
    };
  }

  private syncClock(): void {
    new Float64Array(this.clockOffset)[0] = this.ctx.clock.offset();
  }

  // --- records, logs, warnings ---------------------------------------------------------------

  private remember(record: InvocationRecord): void {
    this.records.set(record.invocationId, record, sizeOf(keptValue(record.event)));
  }

  private log(invocationId: string | undefined, level: string, message: string): void {
    const record = invocationId ? this.records.get(invocationId) : undefined;
    const time = new Date(this.ctx.clock.now()).toISOString();
    const line = truncateText(message, HISTORY_LIMITS.logLineChars);
    if (record) {
      const used = this.logChars.get(record) ?? 0;
      if (used < HISTORY_LIMITS.logChars) {
        const kept =
          used + line.length <= HISTORY_LIMITS.logChars
            ? line
            : `[wxcloud-emulator: further log lines of this invocation were dropped; the history keeps ${HISTORY_LIMITS.logChars} characters of logs per invocation]`;
        record.logs.push({ level, message: kept, time, afterReturn: record.returned });
        this.logChars.set(record, used + line.length);
        this.records.grow(record.invocationId, kept.length);
      }
    }
    this.ctx.events.emit('function.log', {
      name: record?.name,
      invocationId,
      level,
      message: line,
      afterReturn: record?.returned ?? false,
    });
  }

  private flagPending(record: InvocationRecord, pending: number): void {
    if (pending > 0) {
      this.warn(
        record,
        `${pending} SDK request(s) still in flight when main returned; on the cloud the instance may be frozen before they finish (await them)`,
      );
    }
  }

  private warn(record: InvocationRecord, message: string): void {
    record.warnings.push(message);
    this.ctx.events.emit('emulator.warning', {
      service: 'functions',
      name: record.name,
      invocationId: record.invocationId,
      message,
    });
  }

  private newId(prefix: string): string {
    return `${prefix}-${(++this.seq).toString(36)}-${randomBytes(3).toString('hex')}`;
  }

  // --- configuration and timer triggers ------------------------------------------------------

  /** Whether `name` is a served function folder (as list() would say, in one file check). */
  private hasFunction(name: string): boolean {
    return fs.existsSync(path.join(this.ctx.config.functionsDir, name, 'index.js'));
  }

  /** config.json of a function (function-config.ts: re-read only when the file changed). */
  private readConfig(name: string): FunctionConfig {
    return this.configs.read(
      path.join(this.ctx.config.functionsDir, name, 'config.json'),
      this.ctx.config.defaultFunctionTimeoutMs,
    );
  }

  private readConfigSafe(name: string): FunctionConfig | undefined {
    try {
      return this.readConfig(name);
    } catch {
      return undefined;
    }
  }

  private scheduleTriggers(): void {
    for (const name of this.list()) {
      let config: FunctionConfig;
      try {
        config = this.readConfig(name);
      } catch (err) {
        this.ctx.events.emit('emulator.warning', {
          service: 'functions',
          name,
          message: `timer triggers not scheduled: ${(err as Error).message}`,
        });
        continue;
      }
      for (const trigger of config.triggers) {
        if (trigger.type !== 'timer') continue;
        try {
          const cron = parseCron(trigger.config);
          this.scheduleTimer(name, trigger.name, cron, this.ctx.clock.now());
        } catch (err) {
          this.ctx.events.emit('emulator.warning', {
            service: 'functions',
            name,
            message: `timer trigger ${trigger.name} not scheduled: ${(err as Error).message}`,
          });
        }
      }
    }
  }

  /**
   * Schedules the next firing after `after` on the emulated clock. Each firing schedules the one
   * after it from its own due time, so advancing the clock past several runs each of them, in
   * order, as the cloud would have; `clock.advance` resolves once all have run.
   */
  private scheduleTimer(
    name: string,
    triggerName: string,
    cron: ReturnType<typeof parseCron>,
    after: number,
  ): void {
    let at = cron.next(after);
    if (at === undefined) return;
    // Catching up after a long clock advance runs every missed firing; past a bound (a per-second
    // timer advanced by a day) the rest are skipped, with a warning, to keep advance bounded.
    const key = `${name}/${triggerName}`;
    const late = at < this.ctx.clock.now() ? (this.lateFirings.get(key) ?? 0) + 1 : 0;
    this.lateFirings.set(key, late);
    if (late > MAX_CATCH_UP_FIRINGS) {
      this.lateFirings.set(key, 0);
      this.ctx.events.emit('emulator.warning', {
        service: 'functions',
        name,
        message: `timer ${key}: more than ${MAX_CATCH_UP_FIRINGS} missed firings in one clock advance; skipping to now`,
      });
      at = cron.next(this.ctx.clock.now());
      if (at === undefined) return;
    }
    const due = at;
    const task = this.ctx.clock.schedule(due, `timer ${key}`, async () => {
      this.triggerTasks = this.triggerTasks.filter((t) => t !== task);
      if (this.stopped) return;
      this.scheduleTimer(name, triggerName, cron, due);
      await this.invoke({
        name,
        // SCF's timer event; Time is the scheduled time in UTC without milliseconds.
        data: {
          Type: 'Timer',
          TriggerName: triggerName,
          Time: new Date(due).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
        openid: '',
        source: 'wx_trigger',
      });
    });
    this.triggerTasks.push(task);
  }

  private cancelTriggers(): void {
    for (const task of this.triggerTasks) task.cancel();
    this.triggerTasks = [];
  }
}
