// wxcloud-emulator/client: the browser-safe entry (no Node imports). createWx gives pages,
// scripts and tests a `wx` acting as one mini-program user against a running emulator.
// In Node, prefer `createWx` from 'wxcloud-emulator', which supplies the `ws` WebSocket.
export { createWx, CLIENT_MAX_LIMIT } from './client/index';
export type {
  CallFunctionResult,
  CreateWxOptions,
  DecideFn,
  EmulatedWx,
  FetchLike,
  PayDecision,
  PaySheet,
  Platform,
  SystemInfo,
  UiCall,
  WxError,
} from './client/index';
