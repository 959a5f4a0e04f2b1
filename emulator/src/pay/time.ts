/**
 * WeChat Pay writes times as `yyyyMMddHHmmss` in Beijing time (UTC+8) whatever the server's zone
 * (cloud functions run in UTC): `time_start`, `time_expire`, `time_end`.
 */
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Epoch ms -> `yyyyMMddHHmmss` in UTC+8. */
export function formatPayTime(ms: number): string {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return (
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1) +
    pad(d.getUTCDate()) +
    pad(d.getUTCHours()) +
    pad(d.getUTCMinutes()) +
    pad(d.getUTCSeconds())
  );
}

/** Epoch ms -> `yyyy-MM-dd HH:mm:ss` in UTC+8 (the refund notification's `success_time`). */
export function formatPayDateTime(ms: number): string {
  const t = formatPayTime(ms);
  return `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)} ${t.slice(8, 10)}:${t.slice(10, 12)}:${t.slice(12, 14)}`;
}

/** `yyyyMMddHHmmss` (UTC+8) -> epoch ms, or undefined when it is not a real date and time. */
export function parsePayTime(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - BEIJING_OFFSET_MS;
  // Date.UTC rolls 20240231 over to March; a round trip catches impossible dates.
  return formatPayTime(ms) === text ? ms : undefined;
}
