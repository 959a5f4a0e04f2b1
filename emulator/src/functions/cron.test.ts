import { parseCron } from './cron';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

describe('parseCron (7 fields, UTC+8)', () => {
  test('every 5 minutes fires on the next 5-minute mark, strictly after', () => {
    const cron = parseCron('0 */5 * * * * *');
    expect(iso(cron.next(at('2024-01-01T00:01:30Z')))).toBe('2024-01-01T00:05:00.000Z');
    expect(iso(cron.next(at('2024-01-01T00:05:00Z')))).toBe('2024-01-01T00:10:00.000Z');
  });

  test('hours are Beijing time', () => {
    // 02:00 in UTC+8 is 18:00 UTC the day before.
    const cron = parseCron('0 0 2 * * * *');
    expect(iso(cron.next(at('2024-03-10T00:00:00Z')))).toBe('2024-03-10T18:00:00.000Z');
  });

  test('lists, ranges, steps, names and the year field', () => {
    expect(iso(parseCron('30 15 10 1 JAN * 2025').next(at('2024-06-01T00:00:00Z')))).toBe(
      '2025-01-01T02:15:30.000Z',
    );
    // Weekdays MON-FRI at 09:00 Beijing: from Saturday 2024-06-01 the next is Monday 06-03.
    expect(iso(parseCron('0 0 9 * * MON-FRI *').next(at('2024-06-01T00:00:00Z')))).toBe(
      '2024-06-03T01:00:00.000Z',
    );
    expect(iso(parseCron('0 10,40 * * * * *').next(at('2024-01-01T00:10:00Z')))).toBe(
      '2024-01-01T00:40:00.000Z',
    );
    expect(iso(parseCron('5/20 * * * * * *').next(at('2024-01-01T00:00:06Z')))).toBe(
      '2024-01-01T00:00:25.000Z',
    );
  });

  test('February 30th never comes; a past year has no next run', () => {
    expect(parseCron('0 0 0 30 2 * *').next(at('2024-01-01T00:00:00Z'))).toBeUndefined();
    expect(parseCron('0 0 0 1 1 * 2020').next(at('2024-01-01T00:00:00Z'))).toBeUndefined();
  });

  test('bad expressions are refused with the field named', () => {
    expect(() => parseCron('0 */5 * * * *')).toThrow('has 6 fields');
    expect(() => parseCron('0 61 * * * * *')).toThrow('minute 61 is out of range 0-59');
    expect(() => parseCron('0 */0 * * * * *')).toThrow('minute step "0"');
    expect(() => parseCron('0 5-1 * * * * *')).toThrow('runs backwards');
    expect(() => parseCron('0 x * * * * *')).toThrow('minute field has "x"');
  });
});
