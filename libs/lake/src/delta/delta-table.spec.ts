import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LakeEngine } from '../engine/duckdb.engine';
import { LocalLakeStorage } from '../storage/local.lake-storage';
import { ColumnBatch } from './column-batch';
import { type CreateTableOptions, DeltaTable } from './delta-table';
import { DeltaConflictError, DeltaTxnReplayError } from './errors';

const EVENTS: CreateTableOptions = {
  columns: [
    { name: 'event_id', type: 'string', nullable: false },
    { name: 'user_id', type: 'string' },
    { name: 'occurred_at', type: 'timestamp' },
    { name: 'weight', type: 'double' },
    { name: 'props', type: 'map<string,string>' },
    { name: 'event_date', type: 'date' },
  ],
  partitionColumns: ['event_date'],
};

function rows(from: number, count: number, date = '2024-06-01') {
  return Array.from({ length: count }, (_, i) => ({
    event_id: `e${from + i}`,
    user_id: `u${(from + i) % 3}`,
    occurred_at: `${date}T10:00:${String((from + i) % 60).padStart(2, '0')}Z`,
    weight: (from + i) / 2,
    props: { surface: 'feed' },
    event_date: date,
  }));
}

describe('DeltaTable', () => {
  let root: string;
  let storage: LocalLakeStorage;
  let engine: LakeEngine;

  beforeAll(async () => {
    engine = await LakeEngine.create({ threads: 1 });
  });
  afterAll(() => engine.close());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'delta-spec-'));
    storage = new LocalLakeStorage(root);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  const count = async (table: DeltaTable, version?: number) => {
    const snapshot = version === undefined ? table.snapshot() : await table.snapshotAt(version);
    const [row] = await engine.query<{ n: number }>(`SELECT count(*)::INT AS n FROM ${await table.scanSql(snapshot)}`);
    return row.n;
  };
  const parquetFiles = async (dir: string): Promise<string[]> =>
    (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.parquet') && !f.includes('_delta_log'));

  it('appends rows as partitioned zstd Parquet that reads back with typed partition values', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    const result = await table.append([...rows(0, 5), ...rows(5, 3, '2024-06-02')]);
    expect(result.version).toBe(1);
    expect(result.rows).toBe(8);
    expect(result.files.map((f) => f.partitionValues['event_date']).sort()).toEqual(['2024-06-01', '2024-06-02']);
    expect(result.files.every((f) => f.path.startsWith('event_date=2024-06-0') && f.path.endsWith('.zstd.parquet'))).toBe(true);
    const stats = JSON.parse(result.files.find((f) => f.partitionValues['event_date'] === '2024-06-02')!.stats!);
    expect(stats).toMatchObject({ numRecords: 3, minValues: { event_id: 'e5', weight: 2.5 }, maxValues: { event_id: 'e7', weight: 3.5 } });

    const [row] = await engine.query(
      `SELECT event_date::VARCHAR AS d, count(*)::INT AS n, max(occurred_at)::VARCHAR AS last, any_value(props['surface']) AS surface FROM ${await table.scanSql()} WHERE event_date = DATE '2024-06-02' GROUP BY 1`,
    );
    expect(row).toEqual({ d: '2024-06-02', n: 3, last: '2024-06-02 10:00:07+00', surface: 'feed' });
    const compression = await engine.query<{ c: string }>(
      `SELECT DISTINCT compression AS c FROM parquet_metadata(${JSON.stringify(join(root, 'events', result.files[0].path)).replace(/"/g, "'")})`,
    );
    expect(compression).toEqual([{ c: 'ZSTD' }]);
    // The staging directory of the write is gone with it.
    expect(await readdir(join(root, 'events', '_pulse_staging'))).toEqual([]);
  });

  it('lets two writers append concurrently without losing either commit', async () => {
    await DeltaTable.create(storage, 'events', EVENTS, { engine });
    const a = await DeltaTable.open(storage, 'events', { engine });
    const b = await DeltaTable.open(storage, 'events', { engine });
    const results = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => a.append(rows(i * 10, 10))),
      ...Array.from({ length: 4 }, (_, i) => b.append(rows(100 + i * 10, 10))),
    ]);
    expect(new Set(results.map((r) => r.version)).size).toBe(8);
    const reader = await DeltaTable.open(storage, 'events', { engine });
    expect(reader.version).toBe(8);
    expect(await count(reader)).toBe(80);
  });

  it('refuses a replayed application transaction and leaves no file behind', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await table.append(rows(0, 4), { txns: [{ appId: 'etl:t:0', version: 4 }] });
    await expect(table.append(rows(0, 4), { txns: [{ appId: 'etl:t:0', version: 4 }] })).rejects.toBeInstanceOf(DeltaTxnReplayError);
    expect(await parquetFiles(join(root, 'events'))).toHaveLength(1);
    expect(table.snapshot().txns.get('etl:t:0')?.version).toBe(4);
    expect(await count(table)).toBe(4);
  });

  it('raises a conflict when another writer committed the same transaction first, and discards its files', async () => {
    await DeltaTable.create(storage, 'events', EVENTS, { engine });
    const a = await DeltaTable.open(storage, 'events', { engine });
    const b = await DeltaTable.open(storage, 'events', { engine });
    await a.append(rows(0, 4), { txns: [{ appId: 'etl:t:0', version: 4 }] });
    const error = await b.append(rows(0, 4), { txns: [{ appId: 'etl:t:0', version: 4 }] }).catch((e) => e);
    expect(error).toBeInstanceOf(DeltaConflictError);
    expect((error as DeltaConflictError).kind).toBe('transaction');
    expect(await parquetFiles(join(root, 'events'))).toHaveLength(1);
    const reader = await DeltaTable.open(storage, 'events', { engine });
    expect(await count(reader)).toBe(4);
  });

  it('writes Parquet checkpoints that a fresh reader starts from with the same state', async () => {
    await DeltaTable.create(storage, 'events', { ...EVENTS, configuration: { 'delta.checkpointInterval': '3' } }, { engine });
    const table = await DeltaTable.open(storage, 'events', { engine });
    for (let i = 0; i < 7; i++) await table.append(rows(i * 2, 2), { txns: [{ appId: 'etl:t:0', version: (i + 1) * 2 }] });
    const log = await readdir(join(root, 'events', '_delta_log'));
    expect(log.filter((f) => f.endsWith('.checkpoint.parquet')).sort()).toEqual([
      '00000000000000000003.checkpoint.parquet',
      '00000000000000000006.checkpoint.parquet',
    ]);
    const fresh = await DeltaTable.open(storage, 'events', { engine });
    expect(fresh.version).toBe(7);
    expect(
      fresh
        .snapshot()
        .files.map((f) => f.path)
        .sort(),
    ).toEqual(
      table
        .snapshot()
        .files.map((f) => f.path)
        .sort(),
    );
    expect(fresh.snapshot().txns.get('etl:t:0')?.version).toBe(14);
    expect(fresh.snapshot().metadata).toEqual(table.snapshot().metadata);
    expect(await count(fresh)).toBe(14);
    expect(await count(fresh, 5)).toBe(10);
  });

  it('drops log files before a checkpoint once older than the log retention, and still opens', async () => {
    await DeltaTable.create(
      storage,
      'events',
      { ...EVENTS, configuration: { 'delta.checkpointInterval': '3', 'delta.logRetentionDuration': 'interval 0 seconds' } },
      { engine },
    );
    const table = await DeltaTable.open(storage, 'events', { engine });
    for (let i = 0; i < 7; i++) await table.append(rows(i * 2, 2));
    const log = (await readdir(join(root, 'events', '_delta_log'))).filter((f) => !f.startsWith('.')).sort();
    expect(log).toEqual([
      '00000000000000000006.checkpoint.parquet',
      '00000000000000000006.json',
      '00000000000000000007.json',
      '_last_checkpoint',
    ]);
    const fresh = await DeltaTable.open(storage, 'events', { engine });
    expect(fresh.version).toBe(7);
    expect(await count(fresh)).toBe(14);
    await expect(fresh.snapshotAt(2)).rejects.toThrow(RangeError);
    // Opening it for writing again neither recreates version 0 nor loses anything.
    const again = await DeltaTable.create(
      storage,
      'events',
      { ...EVENTS, configuration: { 'delta.checkpointInterval': '3', 'delta.logRetentionDuration': 'interval 0 seconds' } },
      { engine },
    );
    expect(again.version).toBe(7);
    expect((await readdir(join(root, 'events', '_delta_log'))).includes('00000000000000000000.json')).toBe(false);
  });

  it('lets a writer that missed commits the erasure vacuum cleaned up catch up from its checkpoint, without undoing them', async () => {
    const writer = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await writer.append(rows(0, 6));
    // Another process erases u1 and purges at once: commits up to its checkpoint are gone from the log.
    const eraser = await DeltaTable.open(storage, 'events', { engine });
    await eraser.delete({ predicate: "user_id = 'u1'" });
    await eraser.purge({ minAgeMs: 0 });
    await eraser.append(rows(100, 1));
    expect(await readdir(join(root, 'events', '_delta_log'))).not.toContain('00000000000000000002.json');

    // The first writer, still at version 1, appends: it must not take the place of a cleaned-up commit.
    const { version } = await writer.append(rows(200, 2));
    expect(version).toBeGreaterThan(eraser.version);
    const reader = await DeltaTable.open(storage, 'events', { engine });
    expect(reader.version).toBe(version);
    const ids = await engine.query<{ event_id: string }>(`SELECT event_id FROM ${await reader.scanSql()} ORDER BY event_id`);
    expect(ids.map((r) => r.event_id)).toEqual(['e0', 'e100', 'e2', 'e200', 'e201', 'e3', 'e5']);
    // …and its checkpoints hold what the others committed (no erased file comes back).
    await writer.checkpoint();
    const fresh = await DeltaTable.open(storage, 'events', { engine });
    expect(await count(fresh)).toBe(7);
  });

  it('compacts small files per partition without changing the data, and time-travels past it', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    for (let i = 0; i < 5; i++) await table.append(rows(i * 10, 10));
    await table.append(rows(50, 10, '2024-06-02'));
    const before = table.version;
    const result = await table.compact({ targetFileSize: 64 * 1024 * 1024 });
    expect(result).toMatchObject({ version: before + 1, filesAdded: 1, filesRemoved: 5 });
    expect(table.snapshot().files).toHaveLength(2);
    expect(await count(table)).toBe(60);
    expect(await count(table, before)).toBe(60);
    expect((await table.snapshotAt(before)).files).toHaveLength(6);
    const [latest] = await table.history(1);
    expect(latest).toMatchObject({ operation: 'OPTIMIZE', operationMetrics: { numRemovedFiles: '5', numAddedFiles: '1' } });
    // A page of history from a version down: the writes before the compaction, with the rows each added.
    const page = await table.history(2, before - 1);
    expect(page.map((h) => [h.version, h.operation, h.operationMetrics['numOutputRows']])).toEqual([
      [before - 1, 'WRITE', '10'],
      [before - 2, 'WRITE', '10'],
    ]);
    expect(table.snapshot().files.find((f) => f.partitionValues['event_date'] === '2024-06-01')!.dataChange).toBe(false);
    // Nothing left to compact.
    expect((await table.compact({ targetFileSize: 64 * 1024 * 1024 })).version).toBeNull();
  });

  it('vacuums removed and never-committed files older than the retention, and keeps the rest', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    for (let i = 0; i < 3; i++) await table.append(rows(i * 10, 10));
    const orphan = await table.writeFiles(
      `SELECT 'x' AS event_id, NULL AS user_id, NULL::TIMESTAMPTZ AS occurred_at, 1.0 AS weight, NULL::MAP(VARCHAR,VARCHAR) AS props, DATE '2024-06-01' AS event_date`,
    );
    await table.compact({ targetFileSize: 64 * 1024 * 1024 });
    expect(await parquetFiles(join(root, 'events'))).toHaveLength(5);

    const kept = await table.vacuum({ retentionMs: 60_000 });
    expect(kept.deleted).toEqual([]);
    const dry = await table.vacuum({ retentionMs: 0, nowMs: Date.now() + 1000, dryRun: true });
    expect(dry.deleted).toHaveLength(4);
    expect(await parquetFiles(join(root, 'events'))).toHaveLength(5);
    const done = await table.vacuum({ retentionMs: 0, nowMs: Date.now() + 1000 });
    expect(done.deleted.map((d) => d.key)).toContain(`events/${orphan.files[0].path}`);
    expect(await parquetFiles(join(root, 'events'))).toHaveLength(1);
    expect(await count(table)).toBe(30);
    expect((await table.history(2)).map((h) => h.operation)).toEqual(['VACUUM END', 'VACUUM START']);
  });

  it('appends a column batch with every column type', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    const batch = new ColumnBatch(table.snapshot().schema);
    for (let i = 0; i < 3000; i++) {
      batch.push([`e${i}`, i % 2 ? null : `u${i}`, Date.UTC(2024, 5, 1, 10) + i, i / 4, { i: String(i) }, i < 1000 ? '2024-06-01' : 19876]);
    }
    const written = await table.appendBatch(batch, { txns: [{ appId: 'etl:t:0', version: 3000 }] });
    expect(written.rows).toBe(3000);
    const [row] = await engine.query(
      `SELECT count(*)::INT AS n, count(user_id)::INT AS users, min(occurred_at)::VARCHAR AS first, sum(weight) AS w, max(props['i']) AS maxi, count(DISTINCT event_date)::INT AS days, max(event_date)::VARCHAR AS last_day FROM ${await table.scanSql()}`,
    );
    expect(row).toEqual({
      n: 3000,
      users: 1500,
      first: '2024-06-01 10:00:00+00',
      w: 1124625,
      maxi: '999',
      days: 2,
      last_day: '2024-06-02',
    });
    expect(written.files).toHaveLength(2);
  });

  it('finds the version of a point in time', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await table.append(rows(0, 1));
    const between = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await table.append(rows(1, 1));
    expect(await table.versionAt(between)).toBe(1);
    expect(await table.versionAt(Date.now())).toBe(2);
    await expect(table.versionAt(0)).rejects.toThrow(/before the first commit/);
  });

  it('refuses to open a different table under an existing name', async () => {
    await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await expect(DeltaTable.create(storage, 'events', { columns: [{ name: 'x', type: 'long' }] }, { engine })).rejects.toThrow(
      /another schema/,
    );
  });
});
