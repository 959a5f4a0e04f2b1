import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Hono } from 'hono';
import { EmulatorError } from '../errors';
import type { ActionContext, ActionHandler, EmulatorContext, EmulatorService } from '../service';
import { FunctionConfigs, NAME_PATTERN, type FunctionConfig } from './function-config';
import { FunctionFaults } from './function-faults';
import { DEFAULT_INSTANCE_MEMORY_MB, Instance, locateWorker, type RunResult } from './instance';
import { InstancePool } from './instance-pool';
import { instanceEnvironment, invocationEnv, platformEvent } from './invocation-context';
import { AFTER_RETURN_HEADER, INVOCATION_HEADER } from './protocol';
import { answerOverPort, type PortAnswerer } from './sdk-port-answers';
import { TimerTriggers } from './timer-triggers';
import { functionControlRoutes } from './control-routes';
import { BODY_LIMITS } from '../body-limits';
import type { HeapFigures } from '../memory';
import { DEFAULT_EVENT_CHARS } from '../events';
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

/** One instance's heap, in MB (GET /emulator/v1/memory). */
export interface InstanceHeap extends HeapFigures {
  name: string;
  instanceId: string;
}

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

export class FunctionsService implements EmulatorService {
  readonly name = 'functions' as const;
  readonly actions: Record<string, ActionHandler> = {
    'functions.invokeFunction': (body, actionCtx) => this.invokeFromSdk(body, actionCtx),
  };
  /** wx.cloud.callFunction: from a mini-program it runs as wx_client with the caller's OPENID. */
  readonly clientActions = ['functions.invokeFunction'] as const;

  private readonly instances: InstancePool;
  private answerOverPort: PortAnswerer | undefined;
  private readonly configs = new FunctionConfigs();
  private readonly records = new BoundedHistory<InvocationRecord>();
  /** Characters of logs each kept invocation holds (bounded by HISTORY_LIMITS.logChars). */
  private readonly logChars = new WeakMap<InvocationRecord, number>();
  private readonly faults = new FunctionFaults();
  private readonly timers: TimerTriggers;
  /** The emulated clock's offset, shared with every worker (their `Date` adds it). */
  private readonly clockOffset = new SharedArrayBuffer(8);
  private workerFile: string | undefined;
  private seq = 0;
  private stopped = false;

  constructor(readonly ctx: EmulatorContext) {
    this.instances = new InstancePool({
      maxPerFunction: ctx.config.maxInstancesPerFunction,
      newId: (name) => this.newId(name),
      create: (name, id) => this.createInstance(name, id),
      idleMs: ctx.config.instanceIdleMs,
      clock: ctx.clock,
    });
    this.timers = new TimerTriggers(ctx, {
      list: () => this.list(),
      readConfig: (name) => this.readConfig(name),
      stopped: () => this.stopped,
      fire: (name, triggerName, due) =>
        this.invoke({
          name,
          // SCF's timer event; Time is the scheduled time in UTC without milliseconds.
          data: {
            Type: 'Timer',
            TriggerName: triggerName,
            Time: new Date(due).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          },
          openid: '',
          source: 'wx_trigger',
        }),
    });
  }

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
        instances: this.instances.instances(name).map((i) => ({
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

  /**
   * Each live instance's heap (its worker's isolate), after a full garbage collection when
   * `collect`; an instance that is dead or does not answer in time is left out.
   */
  async instanceHeaps(collect: boolean): Promise<InstanceHeap[]> {
    const live = this.instances.live();
    const heaps = await Promise.all(live.map(({ instance }) => instance.heap(collect)));
    return live.flatMap(({ name, instance }, i) => {
      const heap = heaps[i];
      return heap ? [{ name, instanceId: instance.id, ...heap }] : [];
    });
  }

  invocation(invocationId: string): InvocationRecord | undefined {
    return this.records.get(invocationId);
  }

  /** Makes the next calls of a function fail; the JS twin of the faults route. */
  injectFaults(spec: FunctionFault | FunctionFault[]): void {
    this.applyFaults(spec);
  }

  applyFaults(spec: unknown): void {
    this.faults.apply(spec);
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
    // The event carries what the history keeps (event and result trimmed past 256 KB, logs
    // bounded), and is accounted to the event log at the history's size for it: a function
    // answering megabytes cannot grow the log without end. The caller has the whole result.
    this.ctx.events.emit(
      'function.invocation',
      {
        name,
        invocationId: record.invocationId,
        source,
        openid,
        event: record.event,
        outcome: record.outcome,
        ...('result' in outcome ? { result: record.result } : { error: record.error }),
        durationMs: record.durationMs,
        coldStart: record.coldStart,
        instanceId: record.instanceId,
        logs: [...record.logs],
        warnings: [...record.warnings],
      },
      DEFAULT_EVENT_CHARS + (this.records.sizeOfRecord(record.invocationId) ?? 0),
    );
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

    const fault = this.faults.take(name);
    if (fault) {
      // An injected timeout answers at once rather than waiting the timeout out: tests stay fast.
      return fault === 'throw'
        ? fail('fault', -504002, 'Error: fault injected by wxcloud-emulator (mode "throw")')
        : fail(
            'fault',
            -504002,
            `Invoking task timed out after ${config.timeoutMs / 1000} seconds (fault injected by wxcloud-emulator)`,
          );
    }

    const acquired = await this.instances.acquire(name);
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
      this.instances.release(name, instance);
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
    run: (caller: InvocationRecord | undefined) => Promise<T>,
  ): Promise<T> {
    const instance = this.instances.get(instanceId);
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
    // Handed to the handler rather than kept in an AsyncLocalStorage: that would install
    // promise hooks, a cost on every promise the main thread makes.
    return run(record);
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
    const caller = actionCtx?.caller;
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

  /** Control routes: functions/control-routes.ts. */
  routes(app: Hono): void {
    functionControlRoutes(app, this);
  }

  async start(): Promise<void> {
    this.workerFile = locateWorker();
    this.timers.schedule();
  }

  async reset(): Promise<void> {
    // The clock has already dropped every pending task (reset runs it first): re-arm the timers.
    this.timers.cancel();
    this.records.clear();
    this.faults.clear();
    this.timers.schedule();
    this.instances.rearm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.cancel();
    await this.instances.stop();
  }

  // --- instances -----------------------------------------------------------------------------

  /** A new instance of `name` (instance-pool.ts starts it and decides when it is used). */
  private createInstance(name: string, id: string): Instance {
    return new Instance(
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
  }

  /**
   * An idle instance died (it crashed after `main` returned): take it out of the pool so the next
   * call starts a fresh one, and record the crash on the invocation that left the work behind.
   */
  private retireCrashed(name: string, instance: Instance, why: string): void {
    this.instances.retire(name, instance);
    const record = instance.lastInvocationId
      ? this.records.get(instance.lastInvocationId)
      : undefined;
    const message = `instance ${instance.id} crashed after main returned (${why}); it was retired and the next call starts a fresh instance`;
    if (record) this.warn(record, message);
    else this.ctx.events.emit('emulator.warning', { service: 'functions', name, message });
  }

  /** The platform's environment for an instance, pointed at this emulator. */
  private instanceEnv(name: string, instanceId: string): Record<string, string> {
    return instanceEnvironment({
      name,
      url: `${this.ctx.url()}/admin/instances/${instanceId}`,
      envId: this.ctx.config.envId,
      functionEnv: this.ctx.config.functionEnv,
    });
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
    this.ctx.events.emit(
      'function.log',
      {
        name: record?.name,
        invocationId,
        level,
        message: line,
        afterReturn: record?.returned ?? false,
      },
      DEFAULT_EVENT_CHARS + line.length,
    );
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
}
