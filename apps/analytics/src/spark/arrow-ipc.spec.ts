import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArrowFormatError, readArrowStream } from './arrow-ipc';

// One ArrowBatch of a Spark Connect 4.0.1 ExecutePlan response (base64), for a VALUES query with one column of
// each Spark SQL type and three rows: values, edge values (negatives, empties, before 1970) and all nulls.
const sparkBatch = Buffer.from(readFileSync(join(__dirname, 'fixtures/spark-types.arrows.b64'), 'utf8').trim(), 'base64');

describe('readArrowStream', () => {
  it('reads the schema Spark sends, with the Arrow type of each Spark SQL type', () => {
    const { fields } = readArrowStream(sparkBatch);
    expect(fields.map((f) => [f.name, f.type.kind])).toEqual([
      ['b', 'int'],
      ['s', 'int'],
      ['i', 'int'],
      ['l', 'int'],
      ['f', 'float'],
      ['d', 'float'],
      ['bo', 'bool'],
      ['str', 'utf8'],
      ['bin', 'binary'],
      ['dt', 'date'],
      ['ts', 'timestamp'],
      ['dec', 'decimal'],
      ['arr', 'list'],
      ['st', 'struct'],
      ['m', 'map'],
      ['n', 'utf8'],
    ]);
    expect(fields[3].type).toEqual({ kind: 'int', bitWidth: 64, signed: true });
    expect(fields[10].type).toEqual({ kind: 'timestamp', unit: 'microsecond', timezone: 'UTC' });
  });

  it('decodes every value of every type as Spark wrote it', () => {
    const { rows } = readArrowStream(sparkBatch);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({
      b: 1,
      s: 2,
      i: 3,
      l: 9007199254740993n, // beyond 2^53: kept exact
      f: 1.5,
      d: 2.25,
      bo: true,
      str: 'héllo',
      bin: Buffer.from([0xca, 0xfe]),
      dt: '2024-03-01',
      ts: Date.UTC(2024, 2, 1, 12, 0, 0, 123),
      dec: 12.345,
      arr: ['a', 'b'],
      st: { x: 1, y: 'z' },
      m: { k: 1 },
      n: null,
    });
    expect(rows[1]).toEqual({
      b: -1,
      s: -2,
      i: -3,
      l: -4,
      f: -1.5,
      d: -2.25,
      bo: false,
      str: '',
      bin: Buffer.alloc(0),
      dt: '1969-12-31',
      ts: -1000,
      dec: -0.001,
      arr: [],
      st: { x: 2, y: null },
      m: {},
      n: 'n',
    });
    expect(Object.values(rows[2]).every((v) => v === null)).toBe(true);
  });

  it('refuses a stream cut short instead of returning wrong rows', () => {
    expect(() => readArrowStream(sparkBatch.subarray(0, 200))).toThrow(ArrowFormatError);
  });

  it('returns no rows for an empty stream', () => {
    expect(readArrowStream(new Uint8Array(0))).toEqual({ fields: [], rows: [] });
  });
});
