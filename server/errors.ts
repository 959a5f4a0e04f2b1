/**
 * Business errors the functions answer as `{errcode, errmsg}` (the contract in
 * shared/docs/architecture.md). One code per thing a caller can do something about.
 */
export const ErrorCodes = {
  INVALID_INPUT: 40001,
  UNKNOWN_ITEM: 40002,
  ORDER_NOT_FOUND: 40401,
  FORBIDDEN: 40301,
  NOT_CALLBACK: 40302,
  RATE_LIMITED: 42901,
  ORDER_NOT_PAYABLE: 40901,
  PAY_GATEWAY: 50201,
  CONFIG: 50001,
  CONTENT_UNAVAILABLE: 50301,
  INTERNAL: 50000,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class AppError extends Error {
  constructor(
    readonly errcode: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export interface ErrorReply {
  errcode: number;
  errmsg: string;
}

/** The one place an exception becomes a reply; unexpected errors do not leak internals. */
export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof AppError) return { errcode: err.errcode, errmsg: err.message };
  return { errcode: ErrorCodes.INTERNAL, errmsg: '服务器繁忙，请稍后重试 (internal error)' };
}
