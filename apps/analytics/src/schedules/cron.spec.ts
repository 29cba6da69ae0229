import { CronError, parseCron } from './cron';

const at = (iso: string) => Date.parse(iso);
const next = (expression: string, after: string) => new Date(parseCron(expression).next(at(after))).toISOString();

describe('parseCron', () => {
  it('finds the next minute of a step schedule, strictly after the given time', () => {
    expect(next('*/15 * * * *', '2024-03-01T10:07:30Z')).toBe('2024-03-01T10:15:00.000Z');
    expect(next('*/15 * * * *', '2024-03-01T10:15:00Z')).toBe('2024-03-01T10:30:00.000Z');
    expect(next('* * * * *', '2024-03-01T10:15:59.999Z')).toBe('2024-03-01T10:16:00.000Z');
  });

  it('rolls over hours, days, months and years', () => {
    expect(next('5 2 * * *', '2024-03-01T02:05:00Z')).toBe('2024-03-02T02:05:00.000Z');
    expect(next('0 0 1 * *', '2024-12-15T00:00:00Z')).toBe('2025-01-01T00:00:00.000Z');
    expect(next('30 23 31 * *', '2024-04-01T00:00:00Z')).toBe('2024-05-31T23:30:00.000Z'); // April has no 31st
    expect(next('0 0 29 2 *', '2025-01-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
  });

  it('takes ranges, lists, steps within ranges and names', () => {
    expect(next('0 9-17/4 * * mon-fri', '2024-03-01T10:00:00Z')).toBe('2024-03-01T13:00:00.000Z'); // a Friday
    expect(next('0 9-17/4 * * mon-fri', '2024-03-01T17:00:00Z')).toBe('2024-03-04T09:00:00.000Z'); // to Monday
    expect(next('10,40 * * jun *', '2024-03-01T00:00:00Z')).toBe('2024-06-01T00:10:00.000Z');
    expect(next('0 12 * * 7', '2024-03-01T00:00:00Z')).toBe('2024-03-03T12:00:00.000Z'); // 7 is Sunday too
  });

  it('matches either day field when both are restricted, as Vixie cron does', () => {
    // the 15th, or any Monday
    expect(next('0 0 15 * 1', '2024-03-01T00:00:00Z')).toBe('2024-03-04T00:00:00.000Z');
    expect(next('0 0 15 * 1', '2024-03-12T00:00:00Z')).toBe('2024-03-15T00:00:00.000Z');
  });

  it('knows the shorthands', () => {
    expect(next('@hourly', '2024-03-01T10:07:00Z')).toBe('2024-03-01T11:00:00.000Z');
    expect(next('@daily', '2024-03-01T10:07:00Z')).toBe('2024-03-02T00:00:00.000Z');
    expect(next('@weekly', '2024-03-01T10:07:00Z')).toBe('2024-03-03T00:00:00.000Z');
  });

  it('refuses bad expressions and says which field is wrong', () => {
    expect(() => parseCron('* * * *')).toThrow(/expected 5 fields/);
    expect(() => parseCron('60 * * * *')).toThrow(/minute 60 is outside 0-59/);
    expect(() => parseCron('* 5-2 * * *')).toThrow(/range 5-2 of the hour is reversed/);
    expect(() => parseCron('*/0 * * * *')).toThrow(/step "0" of the minute/);
    expect(() => parseCron('* * * foo *')).toThrow(/"foo" is not a valid month/);
    expect(() => parseCron('0 0 31 2 *')).toThrow(CronError);
  });
});
