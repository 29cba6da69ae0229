/**
 * Cron expressions as crontab(5) has them, in UTC: five fields `minute hour day-of-month month day-of-week`,
 * each `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n`, or a comma-separated list of those; month and
 * day-of-week also take names (`jan`, `mon`); day-of-week 0 and 7 are Sunday. As in Vixie cron, when both
 * day-of-month and day-of-week are restricted a day matches either. `@hourly`, `@daily`, `@weekly`,
 * `@monthly` and `@yearly` are shorthands.
 */
export interface CronSchedule {
  /** The expression as given. */
  readonly expression: string;
  /** The first time strictly after `afterMs` (epoch ms) that matches, at a whole minute. */
  next(afterMs: number): number;
}

export class CronError extends Error {
  constructor(expression: string, reason: string) {
    super(`cron "${expression}": ${reason}`);
    this.name = 'CronError';
  }
}

const SHORTHANDS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** first value the names map to */
  nameBase?: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function parseValue(text: string, spec: FieldSpec, expression: string): number {
  const byName = spec.names?.indexOf(text.toLowerCase()) ?? -1;
  if (byName >= 0) return byName + (spec.nameBase ?? 0);
  if (!/^\d+$/.test(text)) throw new CronError(expression, `"${text}" is not a valid ${spec.name}`);
  const value = Number(text);
  if (value < spec.min || value > spec.max) throw new CronError(expression, `${spec.name} ${value} is outside ${spec.min}-${spec.max}`);
  return value;
}

/** The values a field allows, and whether it was `*` (unrestricted). */
function parseField(text: string, spec: FieldSpec, expression: string): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === '') throw new CronError(expression, `"${part}" is not a valid ${spec.name}`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new CronError(expression, `step "${stepText}" of the ${spec.name} must be a positive integer`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = spec.min;
      to = spec.max;
      if (stepText === undefined) star = true;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      from = parseValue(a, spec, expression);
      to = parseValue(b, spec, expression);
      if (from > to) throw new CronError(expression, `range ${range} of the ${spec.name} is reversed`);
    } else {
      from = parseValue(range, spec, expression);
      to = stepText === undefined ? from : spec.max;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { values, star };
}

const MINUTE_MS = 60_000;
/** How far ahead `next` looks before deciding an expression never matches (e.g. `0 0 31 2 *`). */
const HORIZON_MS = 5 * 366 * 86_400_000;

export function parseCron(expression: string): CronSchedule {
  const text = SHORTHANDS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5)
    throw new CronError(expression, `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i], expression));
  if (dow.values.has(7)) dow.values.add(0);
  const dayMatches = (date: Date): boolean => {
    const byDom = dom.values.has(date.getUTCDate());
    const byDow = dow.values.has(date.getUTCDay());
    if (dom.star && dow.star) return true;
    if (dom.star) return byDow;
    if (dow.star) return byDom;
    return byDom || byDow;
  };
  const schedule: CronSchedule = {
    expression,
    next(afterMs: number): number {
      let t = Math.floor(afterMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
      const limit = afterMs + HORIZON_MS;
      while (t <= limit) {
        const d = new Date(t);
        if (!month.values.has(d.getUTCMonth() + 1)) {
          t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
          continue;
        }
        if (!dayMatches(d)) {
          t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
          continue;
        }
        if (!hour.values.has(d.getUTCHours())) {
          t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
          continue;
        }
        if (!minute.values.has(d.getUTCMinutes())) {
          t += MINUTE_MS;
          continue;
        }
        return t;
      }
      throw new CronError(expression, 'never matches');
    },
  };
  schedule.next(Date.UTC(2000, 0, 1)); // refuses an expression that matches no date (e.g. 0 0 31 2 *)
  return schedule;
}

/** `job=cron;job=cron` (`off` or empty for none): schedule overrides as ANALYTICS_SCHEDULES gives them. */
export function parseScheduleOverrides(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of text
    .split(';')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`"${entry}" is not job=cron`);
    const cron = entry.slice(eq + 1).trim();
    out.set(entry.slice(0, eq).trim(), cron === 'off' ? '' : cron);
  }
  return out;
}
