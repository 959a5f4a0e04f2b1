export { startEmulator, resolveConfig, DEFAULTS } from './emulator';
export type { StartOptions, RunningEmulator } from './emulator';
export type { EmulatorConfig } from './service';
export type { EmulatorEvent, EmulatorEventType } from './events';
export { LOCAL_OPENID } from './functions';
export type {
  FunctionFault,
  FunctionInfo,
  FunctionsService,
  InvocationLog,
  InvocationOutcome,
  InvocationRecord,
  InvokeOutcome,
  InvokeRequest,
} from './functions';
export { createWx } from './client/node';
export type { CreateWxOptions, EmulatedWx, PaySheet, DecideFn } from './client/index';
