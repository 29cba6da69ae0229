// Shared by tools/bench/cdc/run.ts and conformance.ts: PostgreSQL helpers, the two capturers (Pulse's
// built cdc service and the Debezium embedded-engine harness), their topics, and reading them back.
// Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Consumer } from '@platformatic/kafka';
import pg from 'pg';
import { freePort, KAFKA_BROKERS, note, REPO, RUN_ID, sleep, spawnLogged, stopChild, tail } from '../lib/bench.ts';
import type { Admin } from '@platformatic/kafka';

export const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
export const HARNESS_DIR = process.env['BENCH_DEBEZIUM_DIR'] ?? join(REPO, '.stack/bench/cdc-debezium');
export const PULSE_DIST = process.env['BENCH_CDC_DIST'] ?? join(REPO, 'dist/apps/cdc');

export type Side = 'pulse' | 'debezium';

export function pgClient(): pg.Client {
  return new pg.Client({ connectionString: PG_URL });
}

export async function sql(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = pgClient();
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

/** Names of one capturer's run: its schema, slot, publication, topics. */
export interface Capture {
  side: Side;
  schema: string;
  slot: string;
  publication: string;
  /** Pulse: CDC_SERVER_NAME; Debezium: topic.prefix. */
  serverName: string;
  stateSchema?: string;
  offsetFile?: string;
  topicOf(table: string): string;
  /** Topics created for this capture (deleted at the end). */
  topics: string[];
}

export function pulseCapture(tag: string, dir: string): Capture {
  const schema = `cdcb_${RUN_ID}_${tag}_p`;
  return {
    side: 'pulse',
    schema,
    slot: `${schema}_slot`,
    publication: `${schema}_pub`,
    serverName: `pulse_bench_${RUN_ID}_${tag}`,
    stateSchema: `${schema}_state`,
    topicOf: (table) => `pulse.cdc.${schema}.${table}.v1`,
    topics: [],
    offsetFile: join(dir, `${schema}.offsets`),
  };
}

export function debeziumCapture(tag: string, dir: string): Capture {
  const schema = `cdcb_${RUN_ID}_${tag}_d`;
  const prefix = `pulse.bench.${RUN_ID}.${tag}.dbz`;
  return {
    side: 'debezium',
    schema,
    slot: `${schema}_slot`,
    publication: `${schema}_pub`,
    serverName: prefix,
    topicOf: (table) => `${prefix}.${schema}.${table}`,
    topics: [],
    offsetFile: join(dir, `${schema}.offsets`),
  };
}

/**
 * Creates the capture's table topics (6 partitions like Pulse's, broker append time so a record's
 * timestamp is when Kafka appended it) and, for Debezium, its transaction-metadata topic.
 */
export async function createCaptureTopics(admin: Admin, cap: Capture, tables: readonly string[]): Promise<void> {
  const names = tables.map((t) => cap.topicOf(t));
  if (cap.side === 'debezium') names.push(`${cap.serverName}.transaction`);
  for (const name of names) {
    await admin.createTopics({
      topics: [name],
      partitions: 6,
      replicas: -1,
      configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }],
    });
    cap.topics.push(name);
  }
  await sleep(500);
}

export interface Running {
  child: ChildProcess;
  log: string;
}

/** Starts a capturer and waits until it is ready and its slot is being read. */
export async function startCapturer(cap: Capture, dir: string, attempt: number): Promise<Running> {
  const log = join(dir, `${cap.side}-${cap.schema}-${attempt}.log`);
  let child: ChildProcess;
  let httpPort = 0;
  if (cap.side === 'pulse') {
    httpPort = await freePort();
    const grpcPort = await freePort();
    child = spawnLogged(process.execPath, [join(PULSE_DIST, 'main.js')], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        PG_URL,
        KAFKA_BROKERS,
        CDC_SCHEMA: cap.schema,
        CDC_SLOT: cap.slot,
        CDC_PUBLICATION: cap.publication,
        CDC_SERVER_NAME: cap.serverName,
        CDC_STATE_SCHEMA: cap.stateSchema,
        CDC_SNAPSHOT_MODE: 'no_data',
        GRPC_PORT: String(grpcPort),
        HTTP_PORT: String(httpPort),
      },
      logFile: log,
    });
  } else {
    const u = new URL(PG_URL);
    child = spawnLogged(
      'java',
      [
        '-cp',
        `${join(HARNESS_DIR, 'harness.jar')}:${join(HARNESS_DIR, 'lib')}/*`,
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        'bench.cdc.DebeziumToKafka',
      ],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS,
          DBZ_PG_HOST: u.hostname,
          DBZ_PG_PORT: u.port || '5432',
          DBZ_PG_USER: decodeURIComponent(u.username),
          DBZ_PG_PASSWORD: decodeURIComponent(u.password),
          DBZ_PG_DB: u.pathname.slice(1),
          DBZ_SCHEMA: cap.schema,
          DBZ_SLOT: cap.slot,
          DBZ_PUBLICATION: cap.publication,
          DBZ_TOPIC_PREFIX: cap.serverName,
          DBZ_OFFSET_FILE: cap.offsetFile,
          DBZ_SNAPSHOT_MODE: 'no_data',
        },
        logFile: log,
      },
    );
  }
  const deadline = Date.now() + 90_000;
  let ready = cap.side === 'debezium';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${cap.side} exited (${child.exitCode}) while starting:\n${tail(log, 30)}`);
    if (!ready) {
      try {
        ready = (await fetch(`http://127.0.0.1:${httpPort}/health/ready`)).ok;
      } catch {
        // not listening yet
      }
    }
    if (ready) {
      const r = await sql('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [cap.slot]);
      if (r.rows[0]?.active === true) return { child, log };
    }
    await sleep(200);
  }
  await stopChild(child);
  throw new Error(`${cap.side} did not become ready within 90 s:\n${tail(log, 30)}`);
}

export async function stopCapturer(run: Running): Promise<void> {
  await stopChild(run.child, 20_000);
}

/** Sum of the latest offsets of the given topics. */
export async function topicRecordCount(admin: Admin, topics: readonly string[]): Promise<number> {
  const listed = await admin.listOffsets({
    topics: topics.map((name) => ({ name, partitions: Array.from({ length: 6 }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) })),
  });
  let n = 0;
  for (const t of listed) for (const p of t.partitions) n += Number(p.offset);
  return n;
}

/** Waits until the topics hold `expected` records (or `timeoutMs` passed); returns the count reached. */
export async function waitForRecords(admin: Admin, topics: readonly string[], expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < deadline) {
    n = await topicRecordCount(admin, topics);
    if (n >= expected) return n;
    await sleep(200);
  }
  return n;
}

export interface Rec {
  topic: string;
  partition: number;
  offset: bigint;
  /** Broker append time (topics use LogAppendTime), ms since the epoch. */
  appendMs: number;
  keyRaw: string | null;
  valueRaw: string | null;
  headers: Record<string, string>;
}

/** Reads every record of the topics from the beginning up to their current end. */
export async function readAll(admin: Admin, topics: readonly string[]): Promise<Rec[]> {
  const expected = await topicRecordCount(admin, topics);
  const out: Rec[] = [];
  if (expected === 0) return out;
  const consumer = new Consumer({
    clientId: `pulse-bench-cdc-${RUN_ID}`,
    bootstrapBrokers: KAFKA_BROKERS.split(','),
    groupId: `pulse-bench-cdc-${RUN_ID}-${Math.random().toString(36).slice(2, 8)}`,
    autocommit: false,
    maxWaitTime: 200,
  });
  const stream = await consumer.consume({ topics: [...topics], mode: 'earliest' });
  try {
    const timer = setTimeout(() => void stream.close(), 120_000);
    for await (const m of stream) {
      const headers: Record<string, string> = {};
      for (const [k, v] of m.headers) headers[k.toString()] = v === undefined || v === null ? '' : v.toString();
      out.push({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        appendMs: Number(m.timestamp),
        keyRaw: m.key && m.key.length > 0 ? m.key.toString() : m.key ? '' : null,
        valueRaw: m.value && m.value.length > 0 ? m.value.toString() : null,
        headers,
      });
      if (out.length >= expected) break;
    }
    clearTimeout(timer);
  } finally {
    await stream.close().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
  }
  if (out.length < expected) throw new Error(`read ${out.length} of ${expected} records`);
  return out;
}

/** Drops what a capture created in PostgreSQL: slot, publication, schemas. */
export async function dropCapture(cap: Capture): Promise<void> {
  const c = pgClient();
  await c.connect();
  try {
    for (let i = 0; i < 50; i++) {
      const r = await c.query('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [cap.slot]);
      if (r.rows.length === 0) break;
      if (r.rows[0].active_pid === null) {
        await c.query('SELECT pg_drop_replication_slot($1)', [cap.slot]);
        break;
      }
      await sleep(200);
    }
    await c.query(`DROP PUBLICATION IF EXISTS "${cap.publication}"`);
    await c.query(`DROP SCHEMA IF EXISTS "${cap.schema}" CASCADE`);
    if (cap.stateSchema) await c.query(`DROP SCHEMA IF EXISTS "${cap.stateSchema}" CASCADE`);
  } catch (error) {
    note(`cleanup of ${cap.schema}: ${(error as Error).message}`);
  } finally {
    await c.end();
  }
}
