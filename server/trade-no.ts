import { randomBytes } from 'node:crypto';
import { formatPayTime } from './time';

/**
 * WeChat Pay's out_trade_no: 6–32 characters of letters, digits, `_` and `-`, unique per merchant.
 * Ours: `CP` + the UTC+8 second (14 digits, readable in the merchant platform) + 12 base32
 * characters from the OS's CSPRNG (60 bits): 28 characters. A collision within one second is
 * astronomically unlikely, and the order's `_id` being the trade number turns even that into a
 * refused insert (the user taps again) rather than two orders sharing a number (the recipe used
 * 6 Math.random digits).
 */
export const TRADE_NO_PATTERN = /^[A-Za-z0-9_-]{6,32}$/;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: no I, L, O, U

export function newTradeNo(now: number, random: (bytes: number) => Buffer = randomBytes): string {
  const bytes = random(12);
  let suffix = '';
  for (let i = 0; i < 12; i++) suffix += ALPHABET[bytes[i] % 32];
  return `CP${formatPayTime(now)}${suffix}`;
}

export function isTradeNo(value: unknown): value is string {
  return typeof value === 'string' && TRADE_NO_PATTERN.test(value);
}

/** Refund numbers derive from the trade number so a retried refund reuses the same one. */
export function refundNoFor(tradeno: string): string {
  return `RF${tradeno}`;
}
