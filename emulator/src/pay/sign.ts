import crypto from 'node:crypto';

/**
 * Signatures the sandbox puts on what it hands out, with WeChat Pay v2's algorithm
 * (`MD5("k1=v1&k2=v2...&key=KEY").toUpperCase()`, keys sorted, empty values skipped) and a
 * sandbox key that never leaves the emulator. The real paySign is made with the merchant's API
 * key by the platform; here it lets `wx.requestPayment` refuse a payment object someone edited
 * (a changed package or amount), as the real pay sheet does.
 */
export function signFields(fields: Record<string, unknown>, key: string): string {
  const text = Object.keys(fields)
    .filter((k) => k !== 'sign' && k !== 'paySign')
    .filter((k) => fields[k] !== undefined && fields[k] !== null && fields[k] !== '')
    .filter((k) => typeof fields[k] !== 'object')
    .sort()
    .map((k) => `${k}=${String(fields[k])}`)
    .join('&');
  return crypto.createHash('md5').update(`${text}&key=${key}`, 'utf8').digest('hex').toUpperCase();
}

/** Timing-safe comparison of two signatures (a signature check must not leak by timing). */
export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** A random string of `length` letters and digits, as WeChat's nonce_str. */
export function nonce(length = 32): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = crypto.randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}
