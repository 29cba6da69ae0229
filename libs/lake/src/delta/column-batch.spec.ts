import { LakeEngine } from '../engine/duckdb.engine';
import type { DeltaColumn } from './actions';
import { ColumnBatch, type ColumnValue } from './column-batch';

const SCHEMA: DeltaColumn[] = [
  { name: 'id', type: 'string' },
  { name: 'n', type: 'long' },
  { name: 'i', type: 'integer' },
  { name: 'x', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'at', type: 'timestamp' },
  { name: 'day', type: 'date' },
  { name: 'props', type: 'map<string,string>' },
];

const AT = Date.UTC(2024, 5, 1, 12, 30, 15, 123);

/** Rows with every kind of value a column takes, nulls and empty texts among them. */
const ROWS: ColumnValue[][] = [
  ['e1', 1n, 7, 0.1, true, AT, '2024-06-01', { surface: 'feed', position: '3' }],
  ['', -9_007_199_254_740_993n, -1, -2.5e-300, false, new Date(AT + 1), 19_875, {}],
  [null, null, null, null, null, null, null, null],
  ['ünïcødé "quoted", 🎉', 42, 3, Number.NaN, true, '2024-06-01T12:30:15.5Z', new Date(AT), { 'k"ey': 'line\nbreak\u0001' }],
  ['tab\tand\\backslash', 9_007_199_254_740_991n, 2_147_483_647, Number.POSITIVE_INFINITY, false, AT + 0.25, '1970-01-01', { '': '' }],
];

async function loaded(engine: LakeEngine, rows: ColumnValue[][]): Promise<Record<string, unknown>[]> {
  const batch = new ColumnBatch(SCHEMA);
  for (const row of rows) batch.push(row);
  const table = `t_${Math.random().toString(36).slice(2)}`;
  const connection = await engine.connect();
  try {
    await batch.load(connection, table);
    const reader = await connection.runAndReadAll(
      `SELECT id, n, i, x, ok, epoch_us("at") AS at_us, CAST("day" AS VARCHAR) AS day, props FROM ${table} ORDER BY rowid`,
    );
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

describe('ColumnBatch.load', () => {
  let engine: LakeEngine;
  beforeAll(async () => {
    engine = await LakeEngine.create({ threads: 1 });
  });
  afterAll(() => engine.close());

  it('loads every type exactly, nulls and empty texts apart, in order', async () => {
    const rows = await loaded(engine, ROWS);
    expect(rows).toEqual([
      {
        id: 'e1',
        n: '1',
        i: 7,
        x: 0.1,
        ok: true,
        at_us: String(AT * 1000),
        day: '2024-06-01',
        props: [
          { key: 'surface', value: 'feed' },
          { key: 'position', value: '3' },
        ],
      },
      { id: '', n: '-9007199254740993', i: -1, x: -2.5e-300, ok: false, at_us: String((AT + 1) * 1000), day: '2024-06-01', props: [] },
      { id: null, n: null, i: null, x: null, ok: null, at_us: null, day: null, props: null },
      {
        id: 'ünïcødé "quoted", 🎉',
        n: '42',
        i: 3,
        x: 'NaN',
        ok: true,
        at_us: String((AT - 123 + 500) * 1000),
        day: '2024-06-01',
        props: [{ key: 'k"ey', value: 'line\nbreak\u0001' }],
      },
      {
        id: 'tab\tand\\backslash',
        n: '9007199254740991',
        i: 2_147_483_647,
        x: 'Infinity',
        ok: false,
        at_us: String(AT * 1000 + 250),
        day: '1970-01-01',
        props: [{ key: '', value: '' }],
      },
    ]);
  });

  it('loads a batch whose texts hold NUL or the null mark value by value, as the same rows', async () => {
    const odd: ColumnValue[][] = [
      ['with\u0000nul', 1n, 1, 1, true, AT, '2024-06-01', { a: 'b\u0000c' }],
      ['\u0001', 2n, 2, 2, false, AT, '2024-06-02', null],
      ['', 3n, 3, 3, true, AT, '2024-06-03', {}],
    ];
    const rows = await loaded(engine, odd);
    expect(rows.map((r) => r.id)).toEqual(['with\u0000nul', '\u0001', '']);
    expect(rows.map((r) => r.props)).toEqual([[{ key: 'a', value: 'b\u0000c' }], null, []]);
    expect(rows.map((r) => r.day)).toEqual(['2024-06-01', '2024-06-02', '2024-06-03']);
  });

  it('loads a single empty text and more rows than one text holds', async () => {
    expect((await loaded(engine, [['', 1n, 1, 1, true, AT, '2024-06-01', {}]])).map((r) => r.id)).toEqual(['']);
    const many = Array.from({ length: 40_000 }, (_, k): ColumnValue[] => [
      `e${k}`,
      BigInt(k),
      k,
      k / 2,
      k % 2 === 0,
      AT + k,
      19_875,
      { k: String(k) },
    ]);
    const rows = await loaded(engine, many);
    expect(rows).toHaveLength(40_000);
    expect(rows[39_999]).toMatchObject({
      id: 'e39999',
      n: '39999',
      i: 39_999,
      x: 19_999.5,
      ok: false,
      at_us: String((AT + 39_999) * 1000),
    });
    expect(rows.every((r, k) => r.id === `e${k}`)).toBe(true);
  });
});
