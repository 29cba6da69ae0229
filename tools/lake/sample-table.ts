/**
 * Writes a sample Delta table with @pulse/lake, the way the etl service writes bronze activity, and
 * prints as JSON what a reader of it must find (tools/lake/spark_read.py compares Spark's view).
 *
 *   ts-node --transpile-only -r tsconfig-paths/register tools/lake/sample-table.ts <table dir>
 *
 * History (delta.checkpointInterval = 5):
 *   v0        CREATE TABLE, partitioned by event_date
 *   v1..v8    STREAMING UPDATE appends, each with the application transaction of its Kafka offsets
 *   v5        also a Parquet checkpoint
 *   v9        OPTIMIZE: the small files of each partition rewritten into one (add + remove, dataChange=false)
 *   v10, v11  STREAMING UPDATE appends (v10 also a checkpoint, holding the OPTIMIZE's tombstones)
 *   v12, v13  VACUUM START / VACUUM END with the default retention (nothing deleted, time travel intact)
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DeltaTable, LakeEngine, LocalLakeStorage, type DeltaColumn } from '@pulse/lake';

const APP_ID = 'etl:pulse.activity.tracked.v1:0';
const BATCH = 30;
const DAYS = ['2024-06-01', '2024-06-02', '2024-06-03'];

const COLUMNS: DeltaColumn[] = [
  { name: 'event_id', type: 'string', nullable: false },
  { name: 'user_id', type: 'string' },
  { name: 'event_type', type: 'string' },
  { name: 'occurred_at', type: 'timestamp' },
  { name: 'kafka_offset', type: 'long' },
  { name: 'duration_ms', type: 'integer' },
  { name: 'score', type: 'double' },
  { name: 'is_bot', type: 'boolean' },
  { name: 'properties', type: 'map<string,string>' },
  { name: 'event_date', type: 'date' },
];

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Rows of Kafka offsets [from, from + count): spread over three days, every 7th without a user. */
function batch(from: number, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const day = DAYS[n % DAYS.length];
    const ms = String(n % 1000).padStart(3, '0');
    return {
      event_id: `evt-${String(n).padStart(6, '0')}`,
      user_id: n % 7 === 0 ? null : `user-${n % 11}`,
      event_type: ['post.viewed', 'post.liked', 'comment.created'][(n >> 2) % 3],
      occurred_at: `${day}T${String(8 + (n % 12)).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}:00.${ms}Z`,
      kafka_offset: n,
      duration_ms: 100 + (n % 50),
      score: n / 4,
      is_bot: n % 10 === 0,
      properties: { source: n % 2 === 0 ? 'web' : 'ios', seq: String(n) },
      event_date: day,
    };
  });
}

async function main(): Promise<void> {
  const target = process.argv[2];
  if (!target) throw new Error('usage: sample-table.ts <table directory>');
  const dir = resolve(target);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} exists and is not empty`);
  const root = resolve(dir, '..');
  const name = dir.slice(root.length + 1);

  const engine = await LakeEngine.create({ threads: 1, memoryLimit: '512MB' });
  const warnings: string[] = [];
  const table = await DeltaTable.create(
    new LocalLakeStorage(root),
    name,
    {
      columns: COLUMNS,
      partitionColumns: ['event_date'],
      name: 'activity_sample',
      description: 'pulse.activity.tracked.v1 sample for reader checks',
      configuration: { 'delta.checkpointInterval': '5' },
    },
    { engine, onWarning: (message, error) => warnings.push(`${message}: ${String(error)}`) },
  );

  const rowsAt: Record<string, number> = { '0': 0 };
  const perPartitionAt: Record<string, Record<string, number>> = {};
  const counts: Record<string, number> = Object.fromEntries(DAYS.map((d) => [d, 0]));
  let offset = 0;
  const appendBatch = async (): Promise<number> => {
    await sleep(50); // commits at distinct, ordered times for time travel by timestamp
    const rows = batch(offset, BATCH);
    offset += BATCH;
    const result = await table.append(rows, { operation: 'STREAMING UPDATE', txns: [{ appId: APP_ID, version: offset }] });
    for (const r of rows) counts[r['event_date'] as string]++;
    rowsAt[String(result.version)] = offset;
    perPartitionAt[String(result.version)] = { ...counts };
    return result.version;
  };

  for (let i = 0; i < 8; i++) await appendBatch();
  const beforeCompaction = table.version;
  const filesBeforeCompaction = table.snapshot().files.length;
  await sleep(50);
  const compaction = await table.compact({ targetFileSize: 16 * 1024 * 1024 });
  if (compaction.version === null) throw new Error('OPTIMIZE rewrote nothing');
  rowsAt[String(compaction.version)] = offset;
  perPartitionAt[String(compaction.version)] = { ...counts };
  for (let i = 0; i < 2; i++) await appendBatch();
  await sleep(50);
  await table.vacuum();
  for (let v = compaction.version + 3; v <= table.version; v++) {
    rowsAt[String(v)] = offset;
    perPartitionAt[String(v)] = { ...counts };
  }

  const history = await table.history();
  const snapshot = table.snapshot();
  const optimize = history.find((h) => h.operation === 'OPTIMIZE')!;
  const checkpoints = readdirSync(resolve(dir, '_delta_log'))
    .map((f) => f.match(/^(\d{20})\.checkpoint\.parquet$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (warnings.length > 0) throw new Error(`the lake library warned:\n${warnings.join('\n')}`);
  engine.close();

  const expected = {
    table: dir,
    version: snapshot.version,
    rows: offset,
    distinct_event_ids: offset,
    files: snapshot.files.length,
    partition_columns: snapshot.partitionColumns,
    columns: COLUMNS.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable ?? true })),
    per_partition: { ...counts },
    rows_at: rowsAt,
    per_partition_at: perPartitionAt,
    before_compaction: { version: beforeCompaction, rows: rowsAt[String(beforeCompaction)], files: filesBeforeCompaction },
    checkpoints,
    txn: { [APP_ID]: offset },
    commit_timestamps: Object.fromEntries(history.map((h) => [String(h.version), h.timestamp])),
    history: history.map((h) => ({ version: h.version, operation: h.operation })).sort((a, b) => a.version - b.version),
    optimize: { version: optimize.version, operationMetrics: optimize.operationMetrics },
    /** One row as written (no user, a map, a timestamp with milliseconds). */
    probe: batch(7, 1)[0],
  };
  process.stdout.write(JSON.stringify(expected) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`[sample-table] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
