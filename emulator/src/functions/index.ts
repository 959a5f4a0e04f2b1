import type { EmulatorContext, EmulatorService } from '../service';

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
}

/** `{result}`: whatever `main` returned; `{errCode, errMsg}`: the platform failed the call. */
export type InvokeOutcome =
  | { invocationId: string; result: unknown }
  | { invocationId: string; errCode: number; errMsg: string };

// Placeholder until the functions service lands: it answers no action.
export class FunctionsService implements EmulatorService {
  readonly name = 'functions' as const;
  readonly actions = {};
  constructor(readonly ctx: EmulatorContext) {}
  /** Names of the function folders served. */
  list(): string[] {
    return [];
  }
  async invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    return {
      invocationId: '',
      errCode: -1,
      errMsg: `functions runtime not built yet (${request.name})`,
    };
  }
  async start(): Promise<void> {}
  async reset(): Promise<void> {}
  async stop(): Promise<void> {}
}
