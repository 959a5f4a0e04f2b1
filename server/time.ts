/**
 * WeChat Pay speaks Beijing time (UTC+8) while cloud functions run in UTC (platform-facts §7), so
 * every formatted time goes through here with the offset explicit rather than the host's zone.
 */
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

function beijingParts(epochMs: number): string[] {
  const d = new Date(epochMs + BEIJING_OFFSET_MS);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return [
    pad(d.getUTCFullYear(), 4),
    pad(d.getUTCMonth() + 1),
    pad(d.getUTCDate()),
    pad(d.getUTCHours()),
    pad(d.getUTCMinutes()),
    pad(d.getUTCSeconds()),
  ];
}

/** The recipe's `paytime` format, `YYYY-MM-DD HH:mm:ss`, in UTC+8. */
export function formatRecipeTime(epochMs: number): string {
  const [y, mo, d, h, mi, s] = beijingParts(epochMs);
  return `${y}-${mo}-${d} ${h}:${mi}:${s}`;
}

/** WeChat Pay's `yyyyMMddHHmmss` (timeStart, timeExpire, timeEnd), in UTC+8. */
export function formatPayTime(epochMs: number): string {
  return beijingParts(epochMs).join('');
}

/** Parses WeChat Pay's `yyyyMMddHHmmss` (UTC+8) to epoch ms; undefined when malformed. */
export function parsePayTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{14}$/.test(value)) return undefined;
  const n = (from: number, to: number): number => Number(value.slice(from, to));
  const ms = Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14));
  return Number.isNaN(ms) ? undefined : ms - BEIJING_OFFSET_MS;
}
