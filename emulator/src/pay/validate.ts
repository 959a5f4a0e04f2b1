/**
 * Field checks for the CloudPay request JSON (snake_case keys, as the SDK sends them). A failed
 * check throws PayFailure carrying the whole answer the caller gets: WeChat Pay v2 reports a
 * missing or malformed field with `return_code: FAIL` and a `return_msg` (communication-level
 * failure), and a refused business operation with `return_code: SUCCESS, result_code: FAIL` and
 * `err_code`/`err_code_des`. Messages keep WeChat's Chinese phrase and add, in English, which
 * field (in both the wire and the SDK's camelCase spelling) was wrong and why.
 */
export type Wire = Record<string, unknown>;

export class PayFailure extends Error {
  constructor(readonly answer: Wire) {
    super(String(answer.err_code_des ?? answer.return_msg ?? 'pay request refused'));
    this.name = 'PayFailure';
  }
}

/** snake_case -> the camelCase name a developer wrote in `cloud.cloudPay.x({...})`. */
export function camel(field: string): string {
  return field.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** A communication-level refusal: `{return_code: 'FAIL', return_msg}`. */
export function protocolFailure(message: string): PayFailure {
  return new PayFailure({ return_code: 'FAIL', return_msg: message });
}

function label(field: string): string {
  return `${field} (${camel(field)})`;
}

/**
 * The largest amount a WeChat Pay amount field holds. The unifiedOrder and refund parameter tables
 * (CloudPay.unifiedOrder: "总金额 totalFee 是 Int"; pay/unifiedorder: "total_fee 是 Int 订单总金额，
 * 单位为分") type amounts as Int, a signed 32-bit integer: at most 2^31 - 1 fen. The docs state no
 * other maximum, so we take the type's bound; 1e20 or anything past 2^53 (not even an exact
 * integer in JSON) is refused as an invalid parameter instead of being stored.
 */
export const MAX_FEN = 2 ** 31 - 1;

/** A required, non-empty string of at most `max` characters. */
export function requireString(data: Wire, field: string, max: number, hint = ''): string {
  const value = data[field];
  if (value === undefined || value === null || value === '') {
    throw protocolFailure(
      `缺少参数${field}: ${label(field)} is required${hint ? `, ${hint}` : ''}`,
    );
  }
  if (typeof value !== 'string') {
    throw protocolFailure(
      `${field}参数格式错误: ${label(field)} must be a string, got ${typeof value} ${JSON.stringify(value)}`,
    );
  }
  if ([...value].length > max) {
    throw protocolFailure(
      `${field}参数长度有误: ${label(field)} is at most ${max} characters, got ${[...value].length}`,
    );
  }
  return value;
}

/** An optional string of at most `max` characters; undefined when absent or empty. */
export function optionalString(data: Wire, field: string, max: number): string | undefined {
  const value = data[field];
  if (value === undefined || value === null || value === '') return undefined;
  return requireString(data, field, max);
}

/** A merchant order or refund number: `min..max` characters of letters, digits, _ - | *. */
export function requireTradeNo(data: Wire, field: string, min: number, max: number): string {
  const value = requireString(data, field, max);
  if ([...value].length < min) {
    throw protocolFailure(
      `${field}参数长度有误: ${label(field)} must be ${min} to ${max} characters, got ${value.length} ("${value}")`,
    );
  }
  const bad = /[^A-Za-z0-9_\-|*]/.exec(value);
  if (bad) {
    throw protocolFailure(
      `${field}参数格式错误: ${label(field)} may hold only letters, digits and _ - | *, found "${bad[0]}" in "${value}"`,
    );
  }
  return value;
}

/** An amount in fen: a positive integer number (not a string, not yuan). */
export function requireFen(data: Wire, field: string): number {
  const value = data[field];
  if (value === undefined || value === null || value === '') {
    throw protocolFailure(
      `缺少参数${field}: ${label(field)} is required, an integer number of fen`,
    );
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    const yuan =
      typeof value === 'number' && value > 0 && value < 1000000
        ? ` (amounts are in fen: 1 yuan = 100 fen, so ${value} yuan is ${Math.round(value * 100)})`
        : '';
    throw protocolFailure(
      `${field}参数格式错误: ${label(field)} must be an integer number of fen, got ${typeof value} ${JSON.stringify(value)}${yuan}`,
    );
  }
  if (value <= 0) {
    throw protocolFailure(`${field}参数错误: ${label(field)} must be at least 1 fen, got ${value}`);
  }
  if (value > MAX_FEN) {
    throw protocolFailure(
      `${field}参数错误: ${label(field)} must be at most ${MAX_FEN} fen (WeChat Pay's Int), got ${value}`,
    );
  }
  return value;
}
