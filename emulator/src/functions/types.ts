// The function runtime's public shapes: requests, outcomes and invocation records, as the control
// API, the events stream and the console see them.

/** The openid the control API's invoke uses when none is given: one fixed local user. */
export const LOCAL_OPENID = 'o_local_user_0001';

export interface InvokeRequest {
  name: string;
  /** The event passed to `main`. */
  data: unknown;
  openid?: string;
  /** getWXContext().SOURCE: `wx_client` (default), `wx_paycallback`, `wx_trigger`, or a chain. */
  source?: string;
  appid?: string;
  clientIp?: string;
  /** The env the function runs in (its DYNAMIC_CURRENT_ENV); default the emulator's first. */
  envId?: string;
}

/** `{result}`: whatever `main` returned; `{errCode, errMsg}`: the platform failed the call. */
export type InvokeOutcome =
  | { invocationId: string; result: unknown }
  | { invocationId: string; errCode: number; errMsg: string };

/** How an invocation ended. */
export type InvocationOutcome =
  | 'ok' // main returned (business errors included)
  | 'threw' // main threw or rejected
  | 'timeout' // it ran past its timeout; the instance was terminated
  | 'not_found' // no such function folder
  | 'crashed' // the instance failed to load the function or died
  | 'fault'; // an injected fault answered instead of the function

export interface InvocationLog {
  level: string;
  message: string;
  /** Emulated time, ISO 8601. */
  time: string;
  /** True for output written after main had returned. */
  afterReturn: boolean;
}

/** One invocation as the emulator saw it (the `function.invocation` event carries the same). */
export interface InvocationRecord {
  invocationId: string;
  name: string;
  /** The env it ran in. */
  envId: string;
  source: string;
  openid: string;
  event: unknown;
  /** Emulated time the call arrived, ISO 8601. */
  startedAt: string;
  /** Real milliseconds from arrival to answer (queueing and cold start included). */
  durationMs: number;
  coldStart: boolean;
  instanceId: string | undefined;
  outcome: InvocationOutcome;
  result?: unknown;
  error?: { errCode: number; errMsg: string };
  logs: InvocationLog[];
  /** E.g. SDK requests left in flight when main returned; may grow after the answer. */
  warnings: string[];
  /** Set once main has answered. */
  returned: boolean;
}

/** `POST /emulator/v1/faults` `{"functions": FunctionFault | FunctionFault[]}`. */
export interface FunctionFault {
  name: string;
  /** `throw`: the call fails as if main threw; `timeout`: as if it ran past its timeout. */
  mode: 'throw' | 'timeout';
  /** How many of the next calls fail; default 1. */
  count?: number;
}

export interface FunctionInfo {
  name: string;
  timeoutMs: number;
  triggers: { name: string; type: string; config: string }[];
  instances: { instanceId: string; state: string }[];
}
