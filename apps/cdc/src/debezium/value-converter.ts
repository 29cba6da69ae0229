import { PgType, type TypeRegistry, type TypeShape } from './pg-types';

/**
 * PostgreSQL text values → the JSON values Debezium's PostgreSQL connector writes with the JsonConverter
 * (schemas disabled) and these connector settings: `decimal.handling.mode=string`,
 * `time.precision.mode=adaptive` (the default), `interval.handling.mode=numeric` (the default),
 * `binary.handling.mode=bytes` (the default; the JsonConverter writes bytes as base64).
 *
 * | PostgreSQL                        | JSON value                                                          |
 * |-----------------------------------|---------------------------------------------------------------------|
 * | boolean                           | true / false                                                        |
 * | smallint, integer, bigint, oid    | number (a bigint beyond 2^53 stays exact: written as a raw number)  |
 * | real, double precision            | number; NaN and ±Infinity as the strings "NaN", "Infinity", ...     |
 * | numeric, decimal, money           | string, e.g. "12.500000" (io.debezium decimal.handling.mode=string) |
 * | text, varchar, char, name, uuid, json, jsonb, xml, enums, others | string (the text form)         |
 * | bytea                             | base64 string of the bytes                                          |
 * | date                              | number: days since 1970-01-01 (io.debezium.time.Date)               |
 * | time(0..3) / time, time(4..6)     | number: ms (io.debezium.time.Time) / µs since midnight (MicroTime)  |
 * | timestamp(0..3) / timestamp(4..6) | number: ms (Timestamp) / µs (MicroTimestamp) since the epoch, UTC   |
 * | timestamptz                       | string in UTC, ISO-8601, fraction as wide as the column's precision (ZonedTimestamp), e.g. "2024-03-01T12:00:00.123456Z" |
 * | timetz                            | string in UTC, e.g. "10:15:30.5Z" (ZonedTime)                       |
 * | interval                          | number: µs, months as 30.4375 days (io.debezium.time.MicroDuration) |
 * | arrays                            | JSON arrays of the element values                                   |
 *
 * Values are read with the session settings the service sets on its connections (`SESSION_SETTINGS`).
 */
export const SESSION_SETTINGS = {
  DateStyle: 'ISO, YMD',
  TimeZone: 'UTC',
  IntervalStyle: 'iso_8601',
  extra_float_digits: '3',
  bytea_output: 'hex',
  lc_monetary: 'C',
} as const;

/** The `options` connection parameter carrying `SESSION_SETTINGS`. */
export function sessionOptions(): string {
  return Object.entries(SESSION_SETTINGS)
    .map(([name, value]) => `-c ${name}=${value.replace(/ /g, '\\ ')}`)
    .join(' ');
}

/** What Debezium writes for a TOASTed column an update did not change (the value is not in the WAL). */
export const UNAVAILABLE_VALUE_PLACEHOLDER = '__debezium_unavailable_value';

const MICROS_PER_DAY = 86_400_000_000n;
/** io.debezium.time.MicroDuration: a month is 365.25 / 12 = 30.4375 days. */
const MICROS_PER_MONTH = 2_629_800_000_000n;

/** `JSON.rawJSON` (Node 21+): a number written verbatim by JSON.stringify, so bigints beyond 2^53 stay exact. */
const rawJson = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

/** A JSON number of a 64-bit integer: a plain number when exact, else written verbatim (JSON.rawJSON). */
export function jsonInteger(value: bigint): unknown {
  if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value);
  return rawJson ? rawJson(value.toString()) : Number(value);
}

/** Precision (fractional second digits) of a time/timestamp column from its type modifier; 6 when unset. */
export function timePrecision(typeMod: number): number {
  return typeMod >= 0 && typeMod <= 6 ? typeMod : 6;
}

export function convertValue(text: string, typeOid: number, typeMod: number, types: TypeRegistry): unknown {
  return convertShape(text, types.shape(typeOid), typeMod);
}

function convertShape(text: string, shape: TypeShape, typeMod: number): unknown {
  if (shape.kind === 'string') return text;
  if (shape.kind === 'array') {
    return mapArray(parseArrayLiteral(text), (element) => (element === null ? null : convertShape(element, shape.element, typeMod)));
  }
  return convertScalar(text, shape.oid, typeMod);
}

function convertScalar(text: string, oid: number, typeMod: number): unknown {
  switch (oid) {
    case PgType.bool:
      return text === 't' || text === 'true';
    case PgType.int2:
    case PgType.int4:
    case PgType.oid:
      return Number(text);
    case PgType.int8:
      return jsonInteger(BigInt(text));
    case PgType.float4:
    case PgType.float8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text === 'NaN' ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
    }
    case PgType.numeric:
      return text;
    case PgType.money:
      return text.replace(/[^0-9.-]/g, '');
    case PgType.bytea:
      return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : Buffer.from(text, 'latin1').toString('base64');
    case PgType.date: {
      const days = parseDateDays(text);
      return days === undefined ? text : days;
    }
    case PgType.time: {
      const micros = parseTimeMicros(text);
      if (micros === undefined) return text;
      return timePrecision(typeMod) <= 3 ? Number(micros / 1000n) : jsonInteger(micros);
    }
    case PgType.timetz:
      return zonedTime(text) ?? text;
    case PgType.timestamp: {
      const micros = parseTimestampMicros(text);
      if (micros === undefined) return text;
      return timePrecision(typeMod) <= 3 ? jsonInteger(floorDiv(micros, 1000n)) : jsonInteger(micros);
    }
    case PgType.timestamptz: {
      const micros = parseTimestampMicros(text);
      return micros === undefined ? text : formatZonedTimestamp(micros, timePrecision(typeMod));
    }
    case PgType.interval: {
      const micros = parseIntervalMicros(text);
      return micros === undefined ? text : jsonInteger(micros);
    }
    case PgType.bit:
      // bit(1) is a boolean in Debezium; longer bit strings are carried as their text.
      return typeMod === 1 ? text === '1' : text;
    default:
      return text;
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Days since 1970-01-01 of a proleptic Gregorian date; `year` 0 is 1 BC. */
function epochDays(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(0, 0, 0, 0);
  return Math.round(date.getTime() / 86_400_000);
}

const DATE = /^(\d{4,})-(\d{2})-(\d{2})( BC)?$/;

export function parseDateDays(text: string): number | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined; // infinity, -infinity
  const year = m[4] ? 1 - Number(m[1]) : Number(m[1]);
  return epochDays(year, Number(m[2]), Number(m[3]));
}

/** `HH:MM:SS[.ffffff]` → µs; fractions are padded or cut to 6 digits. */
function clockMicros(h: string, m: string, s: string, fraction: string | undefined): bigint {
  const micros = BigInt((fraction ?? '').padEnd(6, '0').slice(0, 6) || '0');
  return ((BigInt(h) * 60n + BigInt(m)) * 60n + BigInt(s)) * 1_000_000n + micros;
}

/** `±HH[:MM[:SS]]` → seconds east of UTC. */
function offsetSeconds(sign: string, h: string, m?: string, s?: string): number {
  const seconds = Number(h) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  return sign === '-' ? -seconds : seconds;
}

const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/;

export function parseTimeMicros(text: string): bigint | undefined {
  const m = TIME.exec(text);
  return m ? clockMicros(m[1], m[2], m[3], m[4]) : undefined;
}

const TIMETZ = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

/** `10:15:30.5+02` → "08:15:30.5Z". */
function zonedTime(text: string): string | undefined {
  const m = TIMETZ.exec(text);
  if (!m) return undefined;
  const local = clockMicros(m[1], m[2], m[3], undefined);
  const offset = BigInt(offsetSeconds(m[5], m[6], m[7], m[8])) * 1_000_000n;
  const utc = (((local - offset) % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  const seconds = utc / 1_000_000n;
  const clock = [seconds / 3600n, (seconds / 60n) % 60n, seconds % 60n].map((n) => n.toString().padStart(2, '0')).join(':');
  return `${clock}${m[4] ? `.${m[4]}` : ''}Z`;
}

const TIMESTAMP = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?( BC)?$/;

/** A timestamp or timestamptz in ISO DateStyle → µs since the epoch (UTC); undefined for ±infinity. */
export function parseTimestampMicros(text: string): bigint | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const year = m[12] ? 1 - Number(m[1]) : Number(m[1]);
  const days = BigInt(epochDays(year, Number(m[2]), Number(m[3])));
  let micros = days * MICROS_PER_DAY + clockMicros(m[4], m[5], m[6], m[7]);
  if (m[8]) micros -= BigInt(offsetSeconds(m[8], m[9], m[10], m[11])) * 1_000_000n;
  return micros;
}

/** µs since the epoch → `2024-03-01T12:00:00.123456Z` with `fractionDigits` digits (none when 0), as ZonedTimestamp. */
export function formatZonedTimestamp(micros: bigint, fractionDigits: number): string {
  const ms = floorDiv(micros, 1000n);
  const subMillis = micros - ms * 1000n;
  const date = new Date(Number(ms));
  const year = date.getUTCFullYear();
  const yearText = year > 9999 ? `+${year}` : year < 0 ? `-${String(-year).padStart(4, '0')}` : String(year).padStart(4, '0');
  const pad = (n: number) => String(n).padStart(2, '0');
  const fraction = String(date.getUTCMilliseconds() * 1000 + Number(subMillis))
    .padStart(6, '0')
    .slice(0, fractionDigits);
  return (
    `${yearText}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` +
    `${fraction ? `.${fraction}` : ''}Z`
  );
}

const INTERVAL = /^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?)(\d+)(?:\.(\d+))?S)?)?$/;

/** An interval in IntervalStyle iso_8601 (`P1Y2M3DT4H5M6.5S`) → µs, as io.debezium.time.MicroDuration. */
export function parseIntervalMicros(text: string): bigint | undefined {
  const m = INTERVAL.exec(text);
  if (!m) return undefined;
  const n = (s: string | undefined) => BigInt(s ?? '0');
  const months = n(m[1]) * 12n + n(m[2]);
  const secondsMicros = BigInt(m[7] ?? '0') * 1_000_000n + BigInt((m[8] ?? '').padEnd(6, '0').slice(0, 6) || '0');
  return (
    months * MICROS_PER_MONTH +
    n(m[3]) * MICROS_PER_DAY +
    n(m[4]) * 3_600_000_000n +
    n(m[5]) * 60_000_000n +
    (m[6] === '-' ? -secondsMicros : secondsMicros)
  );
}

export type ArrayLiteral = (string | null | ArrayLiteral)[];

/** Parses a PostgreSQL array literal (`{1,2}`, `{"a b",NULL}`, `{{1,2},{3,4}}`, `[0:1]={1,2}`) into strings and NULLs. */
export function parseArrayLiteral(text: string): ArrayLiteral {
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  const parse = (): ArrayLiteral => {
    if (text[i] !== '{') throw new Error(`malformed array literal: ${text}`);
    i++;
    const items: ArrayLiteral = [];
    if (text[i] === '}') {
      i++;
      return items;
    }
    for (;;) {
      if (text[i] === '{') items.push(parse());
      else if (text[i] === '"') {
        let value = '';
        i++;
        while (text[i] !== '"') {
          if (i >= text.length) throw new Error(`malformed array literal: ${text}`);
          if (text[i] === '\\') i++;
          value += text[i++];
        }
        i++;
        items.push(value);
      } else {
        let end = i;
        while (end < text.length && text[end] !== ',' && text[end] !== '}') end++;
        const raw = text.slice(i, end).trim();
        items.push(raw === 'NULL' ? null : raw);
        i = end;
      }
      if (text[i] === ',') i++;
      else if (text[i] === '}') {
        i++;
        return items;
      } else throw new Error(`malformed array literal: ${text}`);
    }
  };
  return parse();
}

function mapArray(items: ArrayLiteral, fn: (element: string | null) => unknown): unknown[] {
  return items.map((item) => (Array.isArray(item) ? mapArray(item, fn) : fn(item)));
}
