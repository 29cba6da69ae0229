import { PgType, TypeRegistry } from './pg-types';
import { convertValue, formatZonedTimestamp, parseArrayLiteral, parseIntervalMicros, parseTimestampMicros } from './value-converter';

const types = new TypeRegistry();
const convert = (text: string, oid: number, typeMod = -1) => convertValue(text, oid, typeMod, types);
const json = (value: unknown) => JSON.stringify(value);

describe('value converter (Debezium JSON, schemas disabled)', () => {
  it('writes integers as numbers and keeps a bigint beyond 2^53 exact in the JSON text', () => {
    expect(convert('-32768', PgType.int2)).toBe(-32768);
    expect(convert('2147483647', PgType.int4)).toBe(2147483647);
    expect(convert('9007199254740991', PgType.int8)).toBe(9007199254740991);
    expect(json({ v: convert('9223372036854775807', PgType.int8) })).toBe('{"v":9223372036854775807}');
  });

  it('writes numeric and money as decimal strings (decimal.handling.mode=string)', () => {
    expect(convert('12.500000', PgType.numeric, ((12 << 16) | 6) + 4)).toBe('12.500000');
    expect(convert('NaN', PgType.numeric)).toBe('NaN');
    expect(convert('-$1,234.56', PgType.money)).toBe('-1234.56');
  });

  it('writes floats as numbers, and NaN and infinities as strings like Jackson does', () => {
    expect(convert('1.5', PgType.float8)).toBe(1.5);
    expect(convert('NaN', PgType.float4)).toBe('NaN');
    expect(convert('-Infinity', PgType.float8)).toBe('-Infinity');
  });

  it('writes booleans, text, uuid and json as such', () => {
    expect(convert('t', PgType.bool)).toBe(true);
    expect(convert('f', PgType.bool)).toBe(false);
    expect(convert('a "quoted" text', PgType.text)).toBe('a "quoted" text');
    expect(convert('{"a": [1, 2]}', PgType.jsonb)).toBe('{"a": [1, 2]}');
    expect(convert('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', PgType.uuid)).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  });

  it('writes bytea as base64', () => {
    expect(convert('\\x00ff10', PgType.bytea)).toBe(Buffer.from([0, 255, 16]).toString('base64'));
  });

  it('writes timestamptz as a UTC ISO string with the column precision (ZonedTimestamp)', () => {
    expect(convert('2024-03-01 12:00:00.1234+00', PgType.timestamptz)).toBe('2024-03-01T12:00:00.123400Z');
    expect(convert('2024-03-01 14:00:00+02', PgType.timestamptz)).toBe('2024-03-01T12:00:00.000000Z');
    expect(convert('2024-03-01 12:00:00.5+00', PgType.timestamptz, 3)).toBe('2024-03-01T12:00:00.500Z');
    expect(convert('2024-03-01 12:00:00+05:30', PgType.timestamptz, 0)).toBe('2024-03-01T06:30:00Z');
    expect(convert('infinity', PgType.timestamptz)).toBe('infinity');
  });

  it('writes timestamp as epoch µs (MicroTimestamp), or ms for precision 0..3 (Timestamp)', () => {
    expect(convert('2024-03-01 12:00:00.123456', PgType.timestamp)).toBe(1_709_294_400_123_456);
    expect(convert('2024-03-01 12:00:00.123', PgType.timestamp, 3)).toBe(1_709_294_400_123);
    expect(convert('1969-12-31 23:59:59.5', PgType.timestamp)).toBe(-500_000);
  });

  it('writes date as days since the epoch and time as µs (MicroTime) or ms (Time) since midnight', () => {
    expect(convert('1970-01-02', PgType.date)).toBe(1);
    expect(convert('1969-12-31', PgType.date)).toBe(-1);
    // 1 BC is the proleptic year 0, a leap year: 366 days before 0001-01-01 (day -719162).
    expect(convert('0001-01-01 BC', PgType.date)).toBe(-719_528);
    expect(convert('01:00:00.25', PgType.time)).toBe(3_600_250_000);
    expect(convert('01:00:00.25', PgType.time, 2)).toBe(3_600_250);
    expect(convert('10:15:30.5+02', PgType.timetz)).toBe('08:15:30.5Z');
  });

  it('writes intervals as µs with 30.4375-day months (MicroDuration)', () => {
    expect(convert('PT1H30M', PgType.interval)).toBe(5_400_000_000);
    expect(convert('P1M', PgType.interval)).toBe(2_629_800_000_000);
    expect(parseIntervalMicros('P-1Y-2M3DT-4H-5M-6.5S')).toBe(
      -14n * 2_629_800_000_000n + 3n * 86_400_000_000n - 4n * 3_600_000_000n - 5n * 60_000_000n - 6_500_000n,
    );
    expect(convert('PT0S', PgType.interval)).toBe(0);
  });

  it('writes arrays as JSON arrays of converted elements, NULLs and quoted elements included', () => {
    expect(convert('{1,2,NULL}', 1007)).toEqual([1, 2, null]);
    expect(convert('{"a b","c\\"d",plain,"NULL"}', 1009)).toEqual(['a b', 'c"d', 'plain', 'NULL']);
    expect(convert('{{1,2},{3,4}}', 1016)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(convert('{}', 1009)).toEqual([]);
    expect(parseArrayLiteral('[0:1]={x,y}')).toEqual(['x', 'y']);
  });

  it('writes enums and arrays of user types as strings, domains as their base type', () => {
    const registry = new TypeRegistry();
    registry.addUserType({ oid: 16_500, schema: 'public', name: 'post_visibility', kind: 'e' });
    registry.addUserType({ oid: 16_501, schema: 'public', name: '_post_visibility', kind: 'b', elementOid: 16_500 });
    registry.addUserType({ oid: 16_502, schema: 'public', name: 'positive_int', kind: 'd', baseOid: PgType.int4 });
    registry.addUserType({ oid: 16_503, schema: 'public', name: '_mood' });
    expect(convertValue('followers', 16_500, -1, registry)).toBe('followers');
    expect(convertValue('{public,private}', 16_501, -1, registry)).toEqual(['public', 'private']);
    expect(convertValue('7', 16_502, -1, registry)).toBe(7);
    expect(convertValue('{happy,sad}', 16_503, -1, registry)).toEqual(['happy', 'sad']);
    expect(convertValue('(1,2)', 600, -1, registry)).toBe('(1,2)');
  });

  it('parses and formats timestamps around the epoch and far years', () => {
    expect(parseTimestampMicros('1970-01-01 00:00:00+00')).toBe(0n);
    expect(formatZonedTimestamp(-1n, 6)).toBe('1969-12-31T23:59:59.999999Z');
    expect(formatZonedTimestamp(parseTimestampMicros('12024-01-01 00:00:00+00')!, 0)).toBe('+12024-01-01T00:00:00Z');
  });
});
