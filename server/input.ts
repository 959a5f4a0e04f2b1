import { AppError, ErrorCodes } from './errors';

/**
 * Checking what callers send. The platform adds `userInfo` to events from mini-program clients,
 * so it is always allowed; every other key must be one the function declares.
 */
export function readEvent(
  fn: string,
  event: unknown,
  allowed: readonly string[],
): Record<string, unknown> {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new AppError(
      ErrorCodes.INVALID_INPUT,
      `${fn} 参数错误: expected an object like {${allowed.join(', ')}}`,
    );
  }
  const record = event as Record<string, unknown>;
  const unknown = Object.keys(record).filter((k) => k !== 'userInfo' && !allowed.includes(k));
  if (unknown.length) {
    throw new AppError(
      ErrorCodes.INVALID_INPUT,
      `${fn} 参数错误: unknown field(s) ${unknown.join(', ')}; send only {${allowed.join(', ')}}`,
    );
  }
  return record;
}

export function requireString(
  fn: string,
  record: Record<string, unknown>,
  key: string,
  pattern: RegExp,
): string {
  const value = record[key];
  if (value === undefined || value === null || value === '') {
    throw new AppError(ErrorCodes.INVALID_INPUT, `${fn} 参数错误: ${key} is required`);
  }
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new AppError(
      ErrorCodes.INVALID_INPUT,
      `${fn} 参数错误: ${key} must be a string matching ${String(pattern)}, got ${JSON.stringify(value)?.slice(0, 40)}`,
    );
  }
  return value;
}

/**
 * The caller's openid as the platform reports it (getWXContext().OPENID). The SDK turns a value
 * that looks like an integer into a number, so accept numbers and normalise.
 */
export function callerOpenid(fn: string, openid: unknown): string {
  const value = typeof openid === 'number' ? String(openid) : openid;
  if (typeof value !== 'string' || !value) {
    throw new AppError(
      ErrorCodes.FORBIDDEN,
      `${fn}: no caller identity (call it from the mini-program)`,
    );
  }
  return value;
}
