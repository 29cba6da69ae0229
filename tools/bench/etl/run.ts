// ETL bench: events/s from Kafka to committed Delta (the built etl service's bronze stream) beside
// DuckDB's own COPY of the same rows to zstd Parquet in the same run; and window-aggregate end-to-end
// latency (event produced → its window update on pulse.aggregates.<name>.v1) at a stated rate.
// Prints one JSON line. Run by Node 24 with type stripping (see tools/bench/README.md).
import { DuckDBInstance } from '@duckdb/node-api';
import { Consumer, Producer, stringSerializers } from '@platformatic/kafka';
import protobuf from 'protobufjs';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CpuMeter,
  createBenchTopic,
  deleteTopics,
  envInt,
  freePort,
  KAFKA_BROKERS,
  kafkaAdmin,
  median,
  NODE,
  note,
  percentile,
  REPO,
  round,
  RUN_ID,
  runDir,
  sleep,
  spawnLogged,
  stackPids,
  stopChild,
  tail,
  waitForReady,
} from '../lib/bench.ts';
import { PROTO_DIR } from '../lib/proto.ts';

const EVENTS = envInt('BENCH_EVENTS', 600_000);
const BATCH = envInt('BENCH_BATCH', 50_000);
const ROUNDS = envInt('BENCH_ROUNDS', 3);
const PARTITIONS = 12;
const RATE = envInt('BENCH_AGG_RATE', 2000);
const PROBES = envInt('BENCH_AGG_PROBES', 40);
const TRIGGER_MS = envInt('BENCH_TRIGGER_MS', 500);
const DIST = join(REPO, 'dist/apps/etl/main.js');
/** SERVICE_PROCESSES of the etl service: its workers share the topic's partitions (one consumer group) and commit to one table. */
const PROCESSES = envInt('BENCH_SERVICE_PROCESSES', 1);
/** BENCH_PROFILE=1: V8 CPU profiles of the service (one per run) in the run's directory. */
let PROFILE_DIR = '';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) =>
  target.startsWith('google/') ? join(REPO, 'node_modules/protobufjs', target) : join(PROTO_DIR, target);
root.loadSync('pulse/ingest/v1/events.proto');
root.loadSync('pulse/etl/v1/events.proto');
const ActivityTracked = root.lookupType('pulse.ingest.v1.ActivityTracked');
const WindowAggregate = root.lookupType('pulse.etl.v1.WindowAggregate');

const T0 = Date.UTC(2024, 5, 1, 0);
const TYPES = ['VIEW', 'IMPRESSION', 'CLICK', 'LIKE', 'COMMENT', 'SHARE'];
const TYPE_NUMBER: Record<string, number> = { VIEW: 1, IMPRESSION: 2, CLICK: 3, LIKE: 4, COMMENT: 6, SHARE: 7 };

interface Row {
  event_id: string;
  user_id: string;
  type: string;
  target_id: string;
  occurred_at: number;
}

function rowsOf(count: number, salt: string): Row[] {
  return Array.from({ length: count }, (_, i) => ({
    event_id: `${salt}-${i}-0123456789abcdef`,
    user_id: `u${(i * 7919) % 50_000}`,
    type: TYPES[i % TYPES.length],
    target_id: `p${(i * 104_729) % 200_000}`,
    occurred_at: T0 + i * 250,
  }));
}

function encode(row: Row, occurredMs = row.occurred_at, postId = row.target_id): Buffer {
  const message = ActivityTracked.create({
    event: {
      eventId: row.event_id,
      userId: row.user_id,
      type: TYPE_NUMBER[row.type],
      target: { type: 1, id: postId },
      occurredAt: { seconds: Math.floor(occurredMs / 1000), nanos: (occurredMs % 1000) * 1e6 },
      sessionId: 's1',
      properties: { surface: 'home_feed', position: '3' },
    },
    receivedAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
    ingest: { schemaVersion: 1, clientId: 'bench', requestId: 'r' },
  });
  return Buffer.from(ActivityTracked.encode(message).finish());
}

function producer(): Producer<string, Buffer, string, string> {
  return new Producer({
    clientId: `pulse-bench-etl-${RUN_ID}`,
    bootstrapBrokers: KAFKA_BROKERS.split(','),
    serializers: { ...stringSerializers, value: (v?: Buffer) => v },
    acks: -1,
    idempotent: true,
  } as any);
}

async function produceAll(topic: string, rows: Row[]): Promise<void> {
  const p = producer();
  try {
    for (let i = 0; i < rows.length; i += 10_000) {
      await p.send({ messages: rows.slice(i, i + 10_000).map((r) => ({ topic, key: r.user_id, value: encode(r) })) });
    }
  } finally {
    await p.close();
  }
}

/** Sum of the bronze table's committed offsets (its txn versions), read from the Delta log. */
function committedInTable(lake: string): number {
  const log = join(lake, 'bronze/activity/_delta_log');
  let names: string[];
  try {
    names = readdirSync(log).filter((n) => /^\d{20}\.json$/.test(n));
  } catch {
    return 0;
  }
  const latest = new Map<string, number>();
  for (const name of names.sort()) {
    for (const line of readFileSync(join(log, name), 'utf8').split('\n')) {
      if (!line.startsWith('{"txn"')) continue;
      const { txn } = JSON.parse(line) as { txn: { appId: string; version: number } };
      latest.set(txn.appId, Math.max(latest.get(txn.appId) ?? 0, txn.version));
    }
  }
  return [...latest.values()].reduce((s, v) => s + v, 0);
}

async function startEtl(env: Record<string, string>, logFile: string) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const nodeArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = spawnLogged(NODE, [...nodeArgs, DIST], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      LAKE_COMPACTION_INTERVAL: '0s',
      SERVICE_PROCESSES: String(PROCESSES),
      ...env,
    },
    logFile,
  });
  await waitForReady(child, httpPort, { name: 'etl', logFile });
  return child;
}

/** The bronze table's STREAMING UPDATE commits: their time and rows, from the Delta log. */
function streamingCommits(lake: string): { timestamp: number; rows: number }[] {
  const log = join(lake, 'bronze/activity/_delta_log');
  const out: { timestamp: number; rows: number }[] = [];
  for (const name of readdirSync(log)
    .filter((n) => /^\d{20}\.json$/.test(n))
    .sort()) {
    const first = readFileSync(join(log, name), 'utf8').split('\n')[0];
    const info = (JSON.parse(first) as { commitInfo?: { timestamp: number; operation: string; operationMetrics?: Record<string, string> } })
      .commitInfo;
    if (info?.operation === 'STREAMING UPDATE')
      out.push({ timestamp: info.timestamp, rows: Number(info.operationMetrics?.['numOutputRows'] ?? 0) });
  }
  return out;
}

/**
 * The built etl service drains a topic already holding the events into a fresh bronze table. The rate
 * is taken from the Delta log: rows of every commit after the first over the time from the first commit
 * to the last (steady state, without the service's start-up).
 */
async function pulseRound(round: number, rows: Row[], dir: string) {
  const admin = kafkaAdmin();
  const topic = `pulse.activity.tracked.bench${RUN_ID}${round}.v1`;
  const lake = join(dir, `lake-${round}`);
  try {
    await createBenchTopic(admin, topic, PARTITIONS);
    await produceAll(topic, rows);
    const spawned = performance.now();
    const child = await startEtl(
      {
        LAKE_ROOT: lake,
        ETL_ACTIVITY_TOPIC: topic,
        ETL_LATE_TOPIC: `pulse.activity.late.bench${RUN_ID}${round}.v1`,
        ETL_AGGREGATE_STREAMS: 'false',
        ETL_CDC_TABLES: '',
        ETL_SERVED_TOPIC: '',
        ETL_AGGREGATE_PREFIX: `bench${RUN_ID}${round}_`,
        ETL_GROUP_PREFIX: `bench-${RUN_ID}-${round}.`,
        ETL_MAX_BATCH_RECORDS: String(BATCH),
        ETL_TRIGGER_INTERVAL: '1s',
      },
      join(dir, `etl-${round}.log`),
    );
    const meter = new CpuMeter()
      .trackService('etl', child.pid)
      .track('kafka_broker', stackPids(['kafka'])['kafka'])
      .start();
    while (committedInTable(lake) < rows.length) {
      if (child.exitCode !== null) throw new Error(`etl exited:\n${tail(join(dir, `etl-${round}.log`))}`);
      if (performance.now() - spawned > 300_000) throw new Error('bronze table did not reach the event count in 5 min');
      await sleep(20);
    }
    const wallFromSpawn = (performance.now() - spawned) / 1000;
    const cpu = meter.stop();
    await stopChild(child);
    const commits = streamingCommits(lake);
    if (commits.length < 3) throw new Error(`only ${commits.length} commits: raise BENCH_EVENTS or lower BENCH_BATCH`);
    const seconds = (commits.at(-1)!.timestamp - commits[0].timestamp) / 1000;
    const steadyRows = commits.slice(1).reduce((s, c) => s + c.rows, 0);
    return { events_per_s: steadyRows / seconds, seconds, wall_from_spawn_s: wallFromSpawn, commits: commits.length, cpu };
  } finally {
    await deleteTopics(admin, [topic, `pulse.activity.late.bench${RUN_ID}${round}.v1`]);
    await admin.close();
    rmSync(lake, { recursive: true, force: true });
  }
}

/** DuckDB's own COPY of the same rows (as NDJSON, the bronze columns) to a zstd Parquet file. */
async function duckdbRound(rows: Row[], dir: string) {
  const json = join(dir, 'rows.ndjson');
  writeFileSync(json, rows.map((r) => JSON.stringify(r)).join('\n'));
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const select =
      `SELECT event_id, user_id, type, 'POST' AS target_type, target_id, make_timestamptz(occurred_at * 1000) AS occurred_at, ` +
      `map(['surface', 'position'], ['home_feed', '3']) AS properties, CAST(make_timestamptz(occurred_at * 1000) AS DATE) AS event_date ` +
      `FROM read_json('${json}', format = 'newline_delimited', columns = {event_id: 'VARCHAR', user_id: 'VARCHAR', type: 'VARCHAR', target_id: 'VARCHAR', occurred_at: 'BIGINT'})`;
    let t = performance.now();
    await c.run(`COPY (${select}) TO '${join(dir, 'anchor-json.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
    const fromJson = rows.length / ((performance.now() - t) / 1000);
    await c.run(`CREATE TABLE staged AS ${select}`);
    t = performance.now();
    await c.run(`COPY staged TO '${join(dir, 'anchor-table.parquet')}' (FORMAT parquet, COMPRESSION zstd)`);
    const fromTable = rows.length / ((performance.now() - t) / 1000);
    return { from_json_rows_per_s: fromJson, from_table_rows_per_s: fromTable };
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/**
 * Events at RATE/s with event time = now; once a second a probe event on its own post. Latency = from
 * producing a probe to reading the first window update of its post on the aggregate topic.
 */
async function latencyRun(dir: string) {
  const admin = kafkaAdmin();
  const id = `bench${RUN_ID}lat`;
  const topic = `pulse.activity.tracked.${id}.v1`;
  const aggTopic = `pulse.aggregates.${id}_post_engagement_1h.v1`;
  const lake = join(dir, 'lake-latency');
  await createBenchTopic(admin, topic, PARTITIONS);
  const child = await startEtl(
    {
      LAKE_ROOT: lake,
      ETL_ACTIVITY_TOPIC: topic,
      ETL_LATE_TOPIC: `pulse.activity.late.${id}.v1`,
      ETL_BRONZE_STREAMS: 'false',
      ETL_AGGREGATE_PREFIX: `${id}_`,
      ETL_GROUP_PREFIX: `bench-${id}.`,
      ETL_TRIGGER_INTERVAL: `${TRIGGER_MS}ms`,
    },
    join(dir, 'etl-latency.log'),
  );
  const sent = new Map<string, number>();
  const seen = new Map<string, number>();
  const consumer = new Consumer({
    clientId: `pulse-bench-etl-lat-${RUN_ID}`,
    groupId: `pulse-bench-etl-lat-${RUN_ID}`,
    bootstrapBrokers: KAFKA_BROKERS.split(','),
    deserializers: { ...stringSerializers, value: (v?: Buffer) => v },
    maxWaitTime: 50,
  } as any);
  const stream = await consumer.consume({ topics: [aggTopic], mode: 'latest' } as any);
  stream.on('data', (m: { value: Buffer }) => {
    const agg = WindowAggregate.toObject(WindowAggregate.decode(m.value)) as { groupKey?: Record<string, string> };
    const post = agg.groupKey?.['post_id'] ?? '';
    if (post.startsWith('probe-') && !seen.has(post)) seen.set(post, performance.now());
  });
  await sleep(1000);
  const p = producer();
  const meter = new CpuMeter().trackService('etl', child.pid).start();
  try {
    const tickMs = 100;
    const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
    let n = 0;
    const ticks = (PROBES * 1000) / tickMs;
    const start = performance.now();
    for (let tick = 0; tick < ticks; tick++) {
      const now = Date.now();
      const messages = Array.from({ length: perTick }, () => {
        const row = {
          event_id: `lat-${n}`,
          user_id: `u${n % 5000}`,
          type: TYPES[n % TYPES.length],
          target_id: `p${n % 20_000}`,
          occurred_at: now,
        };
        n++;
        return { topic, key: row.user_id, value: encode(row) };
      });
      if (tick % (1000 / tickMs) === 0) {
        const probe = `probe-${tick}`;
        messages.push({
          topic,
          key: `probe-user-${tick}`,
          value: encode({ event_id: probe, user_id: `probe-user-${tick}`, type: 'VIEW', target_id: probe, occurred_at: now }),
        });
        sent.set(probe, performance.now());
      }
      await p.send({ messages });
      const next = start + (tick + 1) * tickMs;
      await sleep(Math.max(0, next - performance.now()));
    }
    const deadline = performance.now() + 30_000;
    while (seen.size < sent.size && performance.now() < deadline) await sleep(100);
    const cpu = meter.stop();
    const latencies = [...sent].flatMap(([probe, at]) => (seen.has(probe) ? [seen.get(probe)! - at] : [])).sort((a, b) => a - b);
    return {
      rate_events_per_s: RATE,
      trigger_interval_ms: TRIGGER_MS,
      probes: sent.size,
      probes_seen: latencies.length,
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      max_ms: round(latencies.at(-1) ?? NaN),
      etl_cpu_pct_of_core: cpu,
    };
  } finally {
    await p.close();
    await stream.close().catch(() => undefined);
    await consumer.close(true).catch(() => undefined);
    await stopChild(child);
    await deleteTopics(admin, [
      topic,
      aggTopic,
      `pulse.aggregates.${id}_user_actions_1h.v1`,
      `pulse.aggregates.${id}_user_sessions.v1`,
      `pulse.activity.late.${id}.v1`,
    ]);
    await admin.close();
    rmSync(lake, { recursive: true, force: true });
  }
}

async function main() {
  const dir = runDir('etl');
  if (process.env['BENCH_PROFILE'] === '1') PROFILE_DIR = dir;
  note(`${EVENTS} events, ${ROUNDS} rounds, ${PARTITIONS} partitions; logs in ${dir}`);
  const rows = rowsOf(EVENTS, RUN_ID);
  const pulse: Awaited<ReturnType<typeof pulseRound>>[] = [];
  const anchor: Awaited<ReturnType<typeof duckdbRound>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    anchor.push(await duckdbRound(rows, dir));
    note(`round ${r + 1}: duckdb COPY ${round(anchor.at(-1)!.from_json_rows_per_s)} rows/s from NDJSON`);
    pulse.push(await pulseRound(r, rows, dir));
    note(`round ${r + 1}: etl ${round(pulse.at(-1)!.events_per_s)} events/s (${pulse.at(-1)!.commits} commits)`);
  }
  const best = pulse.reduce((a, b) => (b.events_per_s > a.events_per_s ? b : a));
  const bestAnchor = Math.max(...anchor.map((a) => a.from_json_rows_per_s));
  note('window-aggregate latency');
  const latency = await latencyRun(dir);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'etl',
      events: EVENTS,
      pulse_events_per_s: round(best.events_per_s),
      anchor_duckdb_copy_from_ndjson_rows_per_s: round(bestAnchor),
      ratio: round(best.events_per_s / bestAnchor, 3),
      anchor_duckdb_copy_from_table_rows_per_s: round(Math.max(...anchor.map((a) => a.from_table_rows_per_s))),
      ratio_to_copy_from_table: round(best.events_per_s / Math.max(...anchor.map((a) => a.from_table_rows_per_s)), 3),
      runs_events_per_s: pulse.map((p) => round(p.events_per_s)),
      anchor_runs_rows_per_s: anchor.map((a) => round(a.from_json_rows_per_s)),
      ratio_of_medians: round(median(pulse.map((p) => p.events_per_s)) / median(anchor.map((a) => a.from_json_rows_per_s)), 3),
      commits_in_best_run: best.commits,
      batch_records: BATCH,
      service_processes: PROCESSES,
      steady_seconds_in_best_run: round(best.seconds, 2),
      wall_from_spawn_s_in_best_run: round(best.wall_from_spawn_s, 2),
      cpu_in_best_run: best.cpu,
      window_latency: latency,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
