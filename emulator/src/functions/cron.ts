/**
 * The timer trigger's cron: 7 fields `sec min hour day month weekday year`, evaluated in UTC+8
 * (Beijing time), as a cloud function's config.json declares it (platform-facts §4).
 *
 * Each field takes `*`, a number, a range `a-b`, a step (`*\/n`, `a-b/n`, `a/n`) or a
 * comma-separated list of those. Months also take JAN..DEC and weekdays SUN..SAT (0 = Sunday,
 * 7 is accepted as Sunday too). When both day and weekday are restricted, a day matching
 * either one fires (classic cron); the cloud's console refuses some such combinations, which this
 * module does not attempt to reproduce.
 */

const UTC8_MS = 8 * 3600 * 1000;

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'weekday', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
  { name: 'year', min: 1970, max: 2099 },
];

export interface CronSchedule {
  readonly source: string;
  /** The first firing time strictly after `afterMs` (epoch ms), or undefined if none remains. */
  next(afterMs: number): number | undefined;
}

function parseValue(text: string, spec: FieldSpec, expr: string): number {
  const upper = text.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  if (named >= 0) return spec.name === 'month' ? named + 1 : named;
  if (!/^\d+$/.test(text)) {
    throw new Error(`cron "${expr}": ${spec.name} field has "${text}", which is not a number`);
  }
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new Error(
      `cron "${expr}": ${spec.name} ${value} is out of range ${spec.min}-${spec.max}`,
    );
  }
  return value;
}

function parseField(text: string, spec: FieldSpec, expr: string): Set<number> | undefined {
  if (text === '*' || text === '?') return undefined; // any value
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [rangeText, stepText, extra] = part.split('/');
    if (extra !== undefined || rangeText === undefined || rangeText === '') {
      throw new Error(`cron "${expr}": ${spec.name} field has a malformed part "${part}"`);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) {
        throw new Error(
          `cron "${expr}": ${spec.name} step "${stepText}" must be a positive integer`,
        );
      }
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (rangeText === '*') {
      from = spec.min;
      to = spec.max;
    } else if (rangeText.includes('-')) {
      const [a, b] = rangeText.split('-');
      from = parseValue(a ?? '', spec, expr);
      to = parseValue(b ?? '', spec, expr);
      if (from > to) {
        throw new Error(`cron "${expr}": ${spec.name} range "${rangeText}" runs backwards`);
      }
    } else {
      from = parseValue(rangeText, spec, expr);
      // `a/n` means from a to the end, stepping n; a lone `a` is just a.
      to = stepText === undefined ? from : spec.max;
    }
    for (let v = from; v <= to; v += step) values.add(spec.name === 'weekday' && v === 7 ? 0 : v);
  }
  return values;
}

/** Parses a 7-field cron expression; throws an Error naming the bad field otherwise. */
export function parseCron(expr: string): CronSchedule {
  if (typeof expr !== 'string') throw new Error('cron expression must be a string');
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 7) {
    throw new Error(
      `cron "${expr}" has ${parts.length} fields; the cloud's timer needs 7: sec min hour day month weekday year`,
    );
  }
  const [sec, min, hour, day, month, weekday, year] = FIELDS.map((spec, i) =>
    parseField(parts[i] ?? '', spec, expr),
  );
  const has = (set: Set<number> | undefined, v: number): boolean => !set || set.has(v);
  const dayMatches = (d: Date): boolean => {
    if (day && weekday) return day.has(d.getUTCDate()) || weekday.has(d.getUTCDay());
    return has(day, d.getUTCDate()) && has(weekday, d.getUTCDay());
  };
  const maxYear = year ? Math.max(...year) : 2099;

  return {
    source: expr,
    next(afterMs: number): number | undefined {
      // Work on "shifted" times: epoch + 8 h read with getUTC* gives Beijing wall-clock fields.
      let t = Math.floor((afterMs + UTC8_MS) / 1000) * 1000 + 1000;
      // Each failed check jumps to the start of the next unit, so this ends within a few
      // thousand steps for any expression; the bound guards against a mistake in the jumps.
      for (let i = 0; i < 100000; i++) {
        const d = new Date(t);
        const y = d.getUTCFullYear();
        if (y > maxYear) return undefined;
        if (!has(year, y)) {
          t = Date.UTC(y + 1, 0, 1);
        } else if (!has(month, d.getUTCMonth() + 1)) {
          t = Date.UTC(y, d.getUTCMonth() + 1, 1);
        } else if (!dayMatches(d)) {
          t = Date.UTC(y, d.getUTCMonth(), d.getUTCDate() + 1);
        } else if (!has(hour, d.getUTCHours())) {
          t = Date.UTC(y, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
        } else if (!has(min, d.getUTCMinutes())) {
          t = Date.UTC(y, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes() + 1);
        } else if (!has(sec, d.getUTCSeconds())) {
          t += 1000;
        } else {
          return t - UTC8_MS;
        }
      }
      return undefined;
    },
  };
}
