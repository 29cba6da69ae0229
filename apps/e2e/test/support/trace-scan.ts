import { type IncomingRecord, type KafkaClient } from '@pulse/platform';
import { stackCassandraClient } from '@pulse/platform/testing';
import type Redis from 'ioredis';
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client as PgClient } from 'pg';
import type { TopicDefinition } from '@pulse/contracts';

/**
 * Scans of every store for the traces of a user: each returns where the needles were found, as `store: place`
 * lines (empty: nowhere). They read the stores directly, not through the services, as an auditor would.
 */

const REPO = resolve(__dirname, '../../../..');

/** Whether a text holds any needle. */
const holds = (text: string, needles: readonly string[]) => needles.some((n) => text.includes(n));

/** Every row of every table of a Cassandra keyspace. */
export async function scanCassandra(keyspace: string, needles: readonly string[]): Promise<string[]> {
  const client = stackCassandraClient();
  const found: string[] = [];
  try {
    const tables = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace]);
    for (const t of tables.rows) {
      const name = t.get('table_name') as string;
      for await (const row of await client.execute(`SELECT * FROM ${keyspace}.${name}`, [], { fetchSize: 2000 })) {
        if (holds(JSON.stringify(row), needles)) found.push(`cassandra: ${name} ${JSON.stringify(row).slice(0, 200)}`);
      }
    }
  } finally {
    await client.shutdown();
  }
  return found;
}

/** Every key under the prefixes, by name and by value (strings, hashes, lists, sets, sorted sets). */
export async function scanRedis(redis: Redis, prefixes: readonly string[], needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const prefix of prefixes) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? await redis.hgetall(key)
              : type === 'list'
                ? await redis.lrange(key, 0, -1)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type === 'zset'
                    ? await redis.zrange(key, 0, -1)
                    : '';
        if (holds(key, needles) || holds(JSON.stringify(value), needles)) found.push(`redis: ${key}`);
      }
    } while (cursor !== '0');
  }
  return found;
}

/** Every file under a directory, recursively. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => join(f.parentPath, f.name));
}

/** The Delta tables under a lake root (directories with a `_delta_log`). */
export function lakeTables(root: string): string[] {
  return [
    ...new Set(
      files(root)
        .filter((f) => f.includes('/_delta_log/'))
        .map((f) => f.slice(0, f.indexOf('/_delta_log/'))),
    ),
  ].sort();
}

/** Every row of every table's latest version, as delta-rs reads it (tools/lake/delta_rs_rows.py). */
export function scanLakeWithDeltaRs(root: string, needles: readonly string[]): string[] {
  const python = execFileSync(join(REPO, 'tools/lake/python-env.sh'), { encoding: 'utf8' }).trim();
  const found: string[] = [];
  for (const table of lakeTables(root)) {
    const rows = execFileSync(python, [join(REPO, 'tools/lake/delta_rs_rows.py'), table], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    rows.split('\n').forEach((line, i) => {
      if (line && holds(line, needles)) found.push(`lake (delta-rs): ${table.slice(root.length + 1)} row ${i}`);
    });
  }
  return found;
}

/** The rows of a table's latest version, as delta-rs reads them. */
export function deltaRsRows(table: string): Record<string, unknown>[] {
  const python = execFileSync(join(REPO, 'tools/lake/python-env.sh'), { encoding: 'utf8' }).trim();
  const out = execFileSync(python, [join(REPO, 'tools/lake/delta_rs_rows.py'), table], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Every file on disk under the lake root, whatever version it belongs to: Parquet files (data files, removed or not,
 * and checkpoints) read row by row with DuckDB, every other file (the JSON log, stream state) as text.
 */
export async function scanLakeFiles(root: string, needles: readonly string[]): Promise<string[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  const found: string[] = [];
  try {
    for (const file of files(root)) {
      const where = `lake (disk): ${file.slice(root.length + 1)}`;
      if (file.endsWith('.parquet')) {
        const reader = await connection.runAndReadAll(`SELECT to_json(t)::VARCHAR AS j FROM read_parquet('${file.replace(/'/g, "''")}') t`);
        if (reader.getRowObjectsJson().some((r) => holds(String(r['j']), needles))) found.push(where);
      } else if (holds(readFileSync(file, 'latin1'), needles)) found.push(where);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return found;
}

/** Every file under a directory (media content in every tier, model artifacts), by name and content. */
export function scanFiles(label: string, dir: string, needles: readonly string[], contents: readonly Buffer[] = []): string[] {
  const found: string[] = [];
  for (const file of files(dir)) {
    const data = readFileSync(file);
    if (holds(file, needles) || holds(data.toString('latin1'), needles) || contents.some((c) => data.equals(c))) {
      found.push(`${label}: ${file.slice(dir.length + 1)}`);
    }
  }
  return found;
}

/** Every row of every table of PostgreSQL schemas. */
export async function scanPostgres(pg: PgClient, schemas: readonly string[], needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const schema of schemas) {
    const { rows: tables } = await pg.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'`,
      [schema],
    );
    for (const { table_name } of tables) {
      const { rows } = await pg.query<{ j: string }>(`SELECT to_jsonb(t)::text AS j FROM "${schema}"."${table_name}" t`);
      for (const r of rows) if (holds(r.j, needles)) found.push(`postgres: ${schema}.${table_name} ${r.j.slice(0, 200)}`);
    }
  }
  return found;
}

/**
 * A topic read from its earliest offset to its end: every record whose key or value holds a needle, and the keys
 * holding one whose latest record is not a tombstone (what a compacted topic keeps).
 */
export async function scanTopic(
  kafka: KafkaClient,
  topic: TopicDefinition<any, any>,
  needles: readonly string[],
): Promise<{ records: IncomingRecord<unknown, unknown>[]; liveKeys: string[] }> {
  const end = await kafka.admin.endOffsets(topic.name).catch(() => [] as bigint[]);
  const positions = end.map(() => -1n);
  const caughtUp = () => end.every((e, p) => e === 0n || positions[p] >= e - 1n);
  const records: IncomingRecord<unknown, unknown>[] = [];
  const latest = new Map<string, boolean>();
  if (!caughtUp()) {
    const consumer = kafka.consumer([topic], { groupId: `e2e-scan-${randomUUID()}`, from: 'earliest', maxBatchSize: 5000 });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      consumer.run(async (batch) => {
        for (const r of batch) {
          const key = JSON.stringify(r.key);
          const text = `${key} ${JSON.stringify(r.value, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`;
          if (holds(text, needles)) {
            records.push(r);
            latest.set(key, r.value !== null);
          } else if (latest.has(key)) latest.set(key, r.value !== null);
          if (r.offset > positions[r.partition]) positions[r.partition] = r.offset;
        }
        if (caughtUp()) await consumer.close();
      }),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 120_000))),
    ]);
    clearTimeout(timer);
    await consumer.close().catch(() => undefined);
    if (!caughtUp()) throw new Error(`could not read ${topic.name} to its end`);
  }
  return { records, liveKeys: [...latest].filter(([, live]) => live).map(([key]) => key) };
}
