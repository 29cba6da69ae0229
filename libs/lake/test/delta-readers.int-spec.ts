import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeltaTable, LakeEngine, type LakeStorage, LocalLakeStorage, S3LakeStorage } from '../src';

/**
 * Tables written by the lake library are read by delta-rs, the Rust implementation of Delta Lake
 * (PyPI `deltalake`, installed by tools/lake/python-env.sh): every version, the partitioning, the
 * application transactions of streams, the history, from the JSON log and from Parquet checkpoints.
 */
const repo = resolve(__dirname, '../../..');
const python = execFileSync(join(repo, 'tools/lake/python-env.sh'), { encoding: 'utf8' }).trim();

interface DeltaRsView {
  version: number;
  rows: number;
  distinct_event_ids: number | null;
  files: number;
  partition_columns: string[];
  columns: string[];
  protocol: [number, number];
  txn: Record<string, number | null>;
  groups: Record<string, number> | null;
  history: { version: number; operation: string }[];
}

function deltaRs(uri: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): DeltaRsView {
  const out = execFileSync(python, [join(repo, 'tools/lake/delta_rs_read.py'), uri, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return JSON.parse(out) as DeltaRsView;
}

const COLUMNS = [
  { name: 'event_id', type: 'string' as const, nullable: false },
  { name: 'user_id', type: 'string' as const },
  { name: 'occurred_at', type: 'timestamp' as const },
  { name: 'kafka_offset', type: 'long' as const },
  { name: 'properties', type: 'map<string,string>' as const },
  { name: 'event_date', type: 'date' as const },
];

function batch(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const day = `2024-06-0${1 + (n % 3)}`;
    return {
      event_id: `e${n}`,
      user_id: `u${n % 7}`,
      occurred_at: `${day}T08:00:00Z`,
      kafka_offset: n,
      properties: { n: String(n) },
      event_date: day,
    };
  });
}

async function writeHistory(storage: LakeStorage, path: string, engine: LakeEngine): Promise<DeltaTable> {
  const table = await DeltaTable.create(
    storage,
    path,
    { columns: COLUMNS, partitionColumns: ['event_date'], configuration: { 'delta.checkpointInterval': '4' } },
    { engine },
  );
  // Versions 1..6: stream batches with their offsets as the application transaction.
  for (let v = 1; v <= 6; v++) {
    await table.append(batch((v - 1) * 20, 20), { operation: 'STREAMING UPDATE', txns: [{ appId: 'etl:topic:0', version: v * 20 }] });
  }
  await table.compact({ targetFileSize: 16 * 1024 * 1024 }); // version 7
  return table;
}

describe('Delta tables read by delta-rs', () => {
  let engine: LakeEngine;
  beforeAll(async () => {
    engine = await LakeEngine.create({ threads: 1 });
  });
  afterAll(() => engine.close());

  it('reads a local table: latest version after compaction, a checkpoint, time travel, txn and history', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lake-delta-rs-'));
    try {
      const table = await writeHistory(new LocalLakeStorage(root), 'bronze/events', engine);
      const uri = join(root, 'bronze/events');
      const latest = deltaRs(uri, ['--txn', 'etl:topic:0', '--group-by', 'event_date']);
      expect(latest).toMatchObject({
        version: 7,
        rows: 120,
        distinct_event_ids: 120,
        files: 3,
        partition_columns: ['event_date'],
        columns: COLUMNS.map((c) => c.name),
        protocol: [1, 2],
        txn: { 'etl:topic:0': 120 },
        groups: { '2024-06-01': 40, '2024-06-02': 40, '2024-06-03': 40 },
      });
      expect(latest.history[0]).toEqual({ version: 7, operation: 'OPTIMIZE' });
      expect(latest.history.map((h) => h.operation)).toContain('CREATE TABLE');

      const v2 = deltaRs(uri, ['--version', '2', '--txn', 'etl:topic:0']);
      expect(v2).toMatchObject({ version: 2, rows: 40, txn: { 'etl:topic:0': 40 } });
      // Version 4 carries a checkpoint; 5 is read from it plus one JSON commit.
      const v5 = deltaRs(uri, ['--version', '5']);
      expect(v5).toMatchObject({ version: 5, rows: 100 });

      const vacuumed = await table.vacuum({ retentionMs: 0, nowMs: Date.now() + 1000 });
      expect(vacuumed.deleted.length).toBe(18);
      expect(deltaRs(uri)).toMatchObject({ version: 9, rows: 120, files: 3 });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads a table after a DELETE: the other rows, the DELETE in the history, and after the erasure vacuum no older version', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lake-delta-rs-delete-'));
    try {
      const table = await writeHistory(new LocalLakeStorage(root), 'bronze/events', engine);
      const uri = join(root, 'bronze/events');
      // u3 has 17 of the 120 rows (n % 7 = 3), spread over every partition.
      const deleted = await table.delete({ predicate: "user_id = 'u3'", recordedPredicate: 'erasure' });
      expect(deleted).toMatchObject({ version: 8, numDeletedRows: 17, numRemovedFiles: 3, numAddedFiles: 3 });
      const after = deltaRs(uri, ['--txn', 'etl:topic:0', '--group-by', 'user_id']);
      expect(after).toMatchObject({ version: 8, rows: 103, distinct_event_ids: 103, files: 3, txn: { 'etl:topic:0': 120 } });
      expect(Object.keys(after.groups!)).not.toContain('u3');
      expect(after.history[0]).toEqual({ version: 8, operation: 'DELETE' });
      // Before the purge, time travel still reads the deleted rows.
      expect(deltaRs(uri, ['--version', '7'])).toMatchObject({ rows: 120 });

      const purged = await table.purge({ minAgeMs: 0, nowMs: Date.now() + 1000 });
      expect(purged.checkpointVersion).toBe(10);
      const latest = deltaRs(uri, ['--group-by', 'user_id']);
      expect(latest).toMatchObject({ version: 10, rows: 103, files: 3 });
      expect(Object.keys(latest.groups!)).not.toContain('u3');
      expect(() => deltaRs(uri, ['--version', '7'])).toThrow();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads a table on an S3-compatible store', async () => {
    const storage = await new S3LakeStorage({
      endpoint: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:29000',
      region: process.env.S3_REGION ?? 'us-east-1',
      bucket: 'pulse-lake-test',
      prefix: `run-${randomUUID()}`,
      accessKeyId: process.env.S3_ACCESS_KEY_ID ?? 'pulse',
      secretAccessKey: process.env.S3_SECRET_ACCESS_KEY ?? 'pulse-stack-secret',
      forcePathStyle: true,
      createBucket: true,
    }).init();
    try {
      await writeHistory(storage, 'bronze/events', engine);
      const reopened = await DeltaTable.open(storage, 'bronze/events', { engine });
      expect(reopened.version).toBe(7);
      const [row] = await engine.query<{ n: number }>(`SELECT count(*)::INT AS n FROM ${await reopened.scanSql()}`);
      expect(row.n).toBe(120);
      const view = deltaRs(`${storage.location}bronze/events`, ['--txn', 'etl:topic:0'], {
        AWS_ENDPOINT_URL: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:29000',
        AWS_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY_ID ?? 'pulse',
        AWS_SECRET_ACCESS_KEY: process.env.S3_SECRET_ACCESS_KEY ?? 'pulse-stack-secret',
      });
      expect(view).toMatchObject({ version: 7, rows: 120, distinct_event_ids: 120, txn: { 'etl:topic:0': 120 } });
    } finally {
      await storage.delete((await storage.list('')).map((o) => o.key));
      storage.close();
    }
  });
});
