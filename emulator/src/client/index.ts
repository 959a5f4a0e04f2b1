export { createWx } from './wx';
export type {
  CallFunctionResult,
  CreateWxOptions,
  EmulatedWx,
  Platform,
  SystemInfo,
  UiCall,
  UploadResult,
  TempUrlResult,
  DownloadResult,
  DeleteResult,
} from './wx';
export { CLIENT_MAX_LIMIT } from './database';
export type {
  MiniAggregate,
  MiniCollection,
  MiniDatabase,
  MiniDocument,
  MiniQuery,
  Watcher,
} from './database';
export type { DecideFn, PayDecision, PaySheet, PaymentParams } from './pay';
export type { FetchLike } from './http';
export type { WxCallbacks, WxError } from './callbacks';
