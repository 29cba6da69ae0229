/**
 * The disaster-recovery drill (issue: resilience, item 6). Region A is the replicated stack (tools/stack/ha); region B
 * is one Kafka broker that MirrorMaker 2 keeps a copy of A's topics on (instances kafka-b, mirror-b), a Redis,
 * pg_receivewal streaming A's WAL (walreceiver-b), and a PostgreSQL restored on demand from A's base backup, A's WAL
 * archive and the streamed WAL (postgres-b).
 *
 *   1. region B up; a model trained and promoted in A's model registry;
 *   2. a checked workload on A: TrackEvents through an ingest replica (unique event ids) and INSERTs into A's database;
 *      etl on A writes the lake's bronze/activity (the lake is an object store replicated across regions: it survives),
 *      storage on A the activity by user (Cassandra); halfway, a backup of A (tools/dr/backup: PostgreSQL base backup,
 *      Cassandra snapshots of storage's keyspace, the model registry);
 *   3. region A lost under load: kill -9 of its brokers, PostgreSQL servers, Redis and Sentinels, ingest, etl, storage;
 *   4. failover: PostgreSQL B restored (base backup + archive, promoted); the Cassandra snapshot restored
 *      (tools/dr/restore-cassandra) into a new keyspace — region B has no Cassandra of its own here, so it goes into the
 *      replicated cluster, which the drill leaves running — and storage on B replaying the activity from B's copy of
 *      the topic from the snapshot's time; the model registry restored from the backup; ingest, etl (on the same lake,
 *      its consumer group where MirrorMaker 2 translated it) and the recommender started on region B;
 *   5. RPO: acknowledged events missing from B's copy of the activity topic, from the lake and from the restored
 *      storage, acknowledged rows missing from B's database; RTO: seconds from the loss until B's database takes a
 *      write, B's ingest acknowledges a TrackEvents call, that event is in the lake, B's recommender serves the
 *      promoted model, and B's storage serves the activity.
 *
 * Region A is started again afterwards, region B's PostgreSQL removed (the next drill restores it again).
 *   tools/dr/drill [--seconds N] [--rate EVENTS_PER_S] [--out FILE]
 */
import { Topics } from '@pulse/contracts';
import { grpcClient, PlatformaticKafkaClient } from '@pulse/platform';
import { groupsAtEnd, issueTestApiKey, runBuilt, type ServiceProcess, stackCassandraClient, startService } from '@pulse/platform/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseCommandLine, promisify } from 'node:util';
import { Client as PgClient } from 'pg';
import { activityTopicCopies, countAgainst, lakeCopies, type SinkCount, storageCopies } from '../chaos/sinks';
import { ActivityLoad, RowLoad } from '../chaos/workload';
import { activityStorageEnv, harnessEtlEnv, retried, ROOT, sleep, stackEnv } from '../chaos/world';

const HA = join(ROOT, 'tools', 'stack', 'ha');
const exec = promisify(execFile);
const USAGE = 'usage: tools/dr/drill [--seconds N] [--rate EVENTS_PER_S] [--out FILE]';
const REGION_A = [
  'kafka-1',
  'kafka-2',
  'kafka-3',
  'postgres-1',
  'postgres-2',
  'redis-1',
  'redis-2',
  'sentinel-1',
  'sentinel-2',
  'sentinel-3',
];
const INGEST_PROTO = ['pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService'] as const;
const RECS_PROTO = ['pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService'] as const;
const STORAGE_PROTO = ['pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService'] as const;

class UsageError extends Error {}

interface Args {
  seconds: number;
  rate: number;
  out?: string;
}

function parseArgs(argv: string[]): Args {
  let values: { seconds?: string; rate?: string; out?: string; help?: boolean };
  try {
    ({ values } = parseCommandLine({
      args: argv,
      options: { seconds: { type: 'string' }, rate: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const args: Args = { seconds: Number(values.seconds ?? 40), rate: Number(values.rate ?? 200), out: values.out };
  if (!Number.isFinite(args.seconds) || args.seconds < 10) throw new UsageError(`--seconds must be at least 10\n${USAGE}`);
  if (!Number.isFinite(args.rate) || args.rate < 10) throw new UsageError(`--rate must be at least 10\n${USAGE}`);
  return args;
}

const ha = (...args: string[]) => exec(HA, args, { cwd: ROOT, timeout: 900_000, maxBuffer: 16 << 20 });
const say = (line: string) => process.stderr.write(`drill: ${line}\n`);

/** When `attempt` first succeeded, tried every 250 ms for up to `timeoutMs`. */
async function until(what: string, attempt: () => Promise<unknown>, timeoutMs: number): Promise<number> {
  await retried(what, attempt, timeoutMs, 250);
  return Date.now();
}

/** MirrorMaker 2's tasks that stopped on an error, as `ha status` names them ('' when none). */
async function mirrorFailedTasks(): Promise<string> {
  const { stdout } = await ha('status');
  const failed = /^mirror-b .* failed-tasks=(\S+)/m.exec(stdout)?.[1];
  return failed && failed !== 'none' ? failed : '';
}

async function pgQuery<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const pg = new PgClient({ connectionString: url, connectionTimeoutMillis: 2_000 });
  pg.on('error', () => undefined);
  await pg.connect();
  try {
    return (await pg.query<T>(sql, params)).rows;
  } finally {
    await pg.end().catch(() => undefined);
  }
}

/** A region's services: its connection variables (tools/stack/ha env / env-b), API keys checked in its database. */
function regionEnv(region: Record<string, string>): Record<string, string> {
  return { LOG_LEVEL: 'warn', ...region, PULSE_AUTH_PG_URL: region['PG_URL'] };
}

/** The replicated stack's Cassandra (region A's; region B has none here, so storage on B uses it too). */
function cassandraEnv(a: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(a).filter(([name]) => name.startsWith('CASSANDRA_')));
}

/** storage with the activity consumer only (its group `group`), on a region, writing `keyspace`. */
function storageEnv(
  region: Record<string, string>,
  cassandra: Record<string, string>,
  keyspace: string,
  group: string,
  mediaRoot: string,
): Record<string, string> {
  return { ...regionEnv(region), ...cassandra, ...activityStorageEnv(keyspace, group, mediaRoot) };
}

/** etl with the bronze activity stream only, on a region, writing the lake at `lakeRoot`. */
function etlEnv(region: Record<string, string>, lakeRoot: string, groupPrefix: string): Record<string, string> {
  return { ...regionEnv(region), ...harnessEtlEnv(lakeRoot, groupPrefix), ETL_AGGREGATE_STREAMS: 'false' };
}

/** Re-reads a sink's count every second until nothing acknowledged is missing from it, or two minutes passed. */
async function complete(count: () => Promise<SinkCount>): Promise<SinkCount> {
  const deadline = Date.now() + 120_000;
  let counted = await count();
  while (counted.lost > 0 && Date.now() < deadline) {
    await sleep(1_000);
    counted = await count();
  }
  return counted;
}

async function drill(args: Args): Promise<Record<string, unknown>> {
  const run = randomUUID().replace(/-/g, '').slice(0, 8);
  const prefix = `dr-${run}`;
  const schema = `dr_${run}`;
  say(`the replicated stack (region A) and region B (kafka-b, redis-b, mirror-b, walreceiver-b)`);
  await exec(join(ROOT, 'tools', 'stack', 'stack'), ['up', '--ha'], { cwd: ROOT, timeout: 1_200_000 });
  await ha('down', 'postgres-b').catch(() => undefined);
  rmSync(join(ROOT, '.stack-ha', 'postgres-b'), { recursive: true, force: true });
  await ha('start', 'kafka-b', 'redis-b', 'mirror-b', 'walreceiver-b');
  const [a, b] = await Promise.all([stackEnv('env'), stackEnv('env-b')]);
  const pgA = a['PG_URL'];
  const pgB = b['PG_URL'];
  say('building ingest, etl, storage and the recommender');
  await exec('nx', ['run-many', '-t', 'build', '-p', 'ingest', 'etl', 'storage', 'recommender', '--output-style=static'], {
    cwd: ROOT,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    timeout: 1_200_000,
    maxBuffer: 64 << 20,
  });

  // The app's table and the API key exist before the backup (as a platform's schema and keys do).
  await pgQuery(
    pgA,
    `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.users (id bigserial PRIMARY KEY, handle text NOT NULL, display_name text, email text)`,
  );
  const key = await issueTestApiKey({ label: 'dr-drill', scopes: ['events:write', 'recs:read', 'storage:read'], pgUrl: pgA });
  // Region A's model registry, with a promoted version (ItemPop on a synthetic MovieLens-format file, with `recs`).
  const work = mkdtempSync(join(tmpdir(), `pulse-dr-${run}-`));
  const modelsA = join(work, 'models-a');
  const recs = (...argv: string[]) =>
    exec(process.execPath, [join(ROOT, 'dist', 'apps', 'recommender', 'recs.js'), ...argv], { cwd: ROOT });
  await recs('synthetic', '--out', join(work, 'ratings.csv'));
  await recs('train', join(work, 'ratings.csv'), '--model', 'itempop', '--models-dir', modelsA, '--promote');
  const promoted = (JSON.parse(readFileSync(join(modelsA, 'registry.json'), 'utf8')) as { promoted: string }).promoted;

  const dedupePrefix = { INGEST_DEDUP_KEY_PREFIX: `pulse:dr:${prefix}:` };
  let ingestA: ServiceProcess | undefined = await startService('ingest', { ...regionEnv(a), ...dedupePrefix }, 120_000);
  let ingestB: ServiceProcess | undefined;
  // The lake survives the region (an object store replicated across regions); etl's group starts at the topic's end.
  const lakeRoot = mkdtempSync(join(tmpdir(), `pulse-dr-${run}-lake-`));
  const groupPrefix = `dr-${run}.`;
  const kafkaA = new PlatformaticKafkaClient({ brokers: a['KAFKA_BROKERS'].split(','), clientId: `pulse-dr-${run}` });
  await groupsAtEnd(kafkaA, [`${groupPrefix}activity_bronze`, `${groupPrefix}storage`], [Topics.activityTracked]);
  // Region B in its steady state before the load: MirrorMaker 2's copy of the activity topic holds as many records
  // as A's (both start at 0; ingest writes no control records). A mirror still copying a long history, or one whose
  // task stopped (run c9f93185: B's copy of the odd partitions stood at ~15,700 records of ~35,000 and 5,307 of the
  // drill's 9,480 events were lost with A), would measure that, not the mirror's lag: the drill refuses to start.
  const mirrorStart = Date.now();
  const backlog = await kafkaA.admin.endOffsets(Topics.activityTracked.name);
  const kafkaB = new PlatformaticKafkaClient({ brokers: b['KAFKA_BROKERS'].split(','), clientId: `pulse-dr-${run}` });
  say(`waiting for region B's copy of ${Topics.activityTracked.name} to reach A's end (${backlog.reduce((x, y) => x + y, 0n)} records)`);
  let failedTasks = '';
  let tasksCheckedAt = 0;
  await until(
    "region B's copy of the activity topic caught up with A",
    async () => {
      const copied = await kafkaB.admin.endOffsets(Topics.activityTracked.name);
      if (backlog.every((end, p) => (copied[p] ?? 0n) >= end)) return;
      // Behind: a task that stopped on an error copies nothing more until MirrorMaker restarts, no use waiting for it
      // (`ha status` runs ps for every instance: looked at every 5 s, not at every poll).
      if (Date.now() - tasksCheckedAt >= 5_000) {
        tasksCheckedAt = Date.now();
        failedTasks = await mirrorFailedTasks();
        if (failedTasks) return;
      }
      throw new Error(`B at ${copied.join(',')}, A at ${backlog.join(',')}`);
    },
    Number(process.env['DR_MIRROR_CATCH_UP_TIMEOUT'] ?? 600) * 1000,
  );
  if (failedTasks) throw new Error(`MirrorMaker 2's task(s) ${failedTasks} stopped on an error (.stack-ha/mirror-b/mirror/mirror.log)`);
  const mirrorCaughtUpS = Math.round((Date.now() - mirrorStart) / 100) / 10;
  await kafkaA.close();
  let etlA: ServiceProcess | undefined = await startService('etl', etlEnv(a, lakeRoot, groupPrefix), 120_000);
  // storage's keyspace on A, and the new one its snapshot is restored into
  const cassandra = cassandraEnv(a);
  const keyspace = schema;
  const restoredKeyspace = `${schema}_b`;
  const mediaRoot = join(work, 'media');
  let storageA: ServiceProcess | undefined = await startService(
    'storage',
    storageEnv(a, cassandra, keyspace, `${groupPrefix}storage`, mediaRoot),
    120_000,
  );
  let storageB: ServiceProcess | undefined;
  let etlB: ServiceProcess | undefined;
  let recsB: ServiceProcess | undefined;
  const clientA = grpcClient(ingestA.grpcAddress, ...INGEST_PROTO, { credentials: key.key });
  const activity = new ActivityLoad(() => (ingestA?.running() ? [{ replica: 'ingest-a', client: clientA }] : []), {
    prefix,
    rate: args.rate,
    users: 50,
    posts: 997,
    retryForMs: 3_000,
  });
  const rows = new RowLoad(pgA, schema, prefix.replace(/-/g, '_'), 20);
  // Where B's copy of the activity topic ends before the load: the drill's events are copied after it.
  const sinceB = await kafkaB.admin.endOffsets(Topics.activityTracked.name);
  try {
    say(`load on region A for ${args.seconds} s (${args.rate} events/s, 20 rows/s)`);
    const loadStart = Date.now();
    activity.start();
    rows.start();
    await sleep(args.seconds * 500);
    // Halfway, the backup, under load.
    const backupAt = Date.now();
    say(`backup of region A: PostgreSQL base backup, Cassandra snapshots of ${keyspace}, the model registry (tools/dr/backup)`);
    const backupDir = (
      await exec(join(ROOT, 'tools', 'dr', 'backup'), ['--keyspaces', keyspace, '--models', modelsA], { cwd: ROOT, timeout: 600_000 })
    ).stdout.trim();
    // A's archive (whole segments, shipped every archive_timeout) and region B's streamed copy (down to the last record).
    const archive = readFileSync(join(backupDir, 'postgres', 'archive'), 'utf8').trim();
    const streamed = join(ROOT, '.stack-ha', 'walreceiver-b', 'wal', 'segments');
    await sleep(Math.max(0, loadStart + args.seconds * 1000 - Date.now()));

    // Region A is lost with the load running (a mirror task stopped by then would show as events lost: named in the report).
    const mirrorFailedAtLoss = await mirrorFailedTasks();
    const lostAt = Date.now();
    say('region A lost: kill -9 of its brokers, PostgreSQL, Redis, Sentinels, ingest, etl and storage');
    await Promise.all([ha('kill', ...REGION_A), ingestA.kill('SIGKILL'), etlA.kill('SIGKILL'), storageA.kill('SIGKILL')]);
    ingestA = undefined;
    etlA = undefined;
    storageA = undefined;
    await Promise.all([activity.stop(), rows.stop()]);

    // Failover: PostgreSQL B restored from the backup and the archive, ingest on region B.
    say('failover: PostgreSQL B from the base backup and the WAL archive, the Cassandra snapshot; services on region B');
    // Cassandra, beside PostgreSQL's restore: the new keyspace's tables (storage's migrations), each node's snapshot
    // imported, and storage's group on B placed a minute before the snapshot (its writes are idempotent: what it reads
    // again costs nothing; what it skipped would be lost).
    const storageGroupB = `${groupPrefix}storage-b`;
    const cassandraRestore = (async () => {
      await runBuilt('storage', 'migrate.js', { ...cassandra, CASSANDRA_KEYSPACE: restoredKeyspace });
      await exec(join(ROOT, 'tools', 'dr', 'restore-cassandra'), [backupDir, keyspace, restoredKeyspace], { cwd: ROOT, timeout: 600_000 });
      await ha(
        'kafka-tool',
        'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
        '--bootstrap-server',
        b['KAFKA_BROKERS'],
        '--group',
        storageGroupB,
        '--topic',
        Topics.activityTracked.name,
        '--reset-offsets',
        '--to-datetime',
        new Date(backupAt - 60_000).toISOString(),
        '--execute',
      );
      return Date.now();
    })();
    const pgRestore = exec(HA, ['start', 'postgres-b'], {
      cwd: ROOT,
      timeout: 900_000,
      env: { ...process.env, PG_RESTORE_BACKUP: join(backupDir, 'postgres', 'base'), PG_RESTORE_ARCHIVE: `${archive}:${streamed}` },
    });
    await pgRestore;
    const pgWritableAt = await until(
      'a write to PostgreSQL B',
      () => pgQuery(pgB, `INSERT INTO ${schema}.users (handle) VALUES ('dr-probe')`),
      300_000,
    );
    // The model registry restored from the backup (as a copy from the backup store to region B's volume).
    const modelsB = join(work, 'models-b');
    cpSync(join(backupDir, 'models'), modelsB, { recursive: true });
    [ingestB, etlB, recsB] = await Promise.all([
      startService('ingest', { ...regionEnv(b), ...dedupePrefix }, 120_000),
      startService('etl', etlEnv(b, lakeRoot, groupPrefix), 120_000),
      startService(
        'recommender',
        {
          ...regionEnv(b),
          RECS_MODELS_DIR: modelsB,
          RECS_LAKE_ROOT: lakeRoot,
          RECS_REDIS_PREFIX: `pulse:dr:${prefix}:recs:`,
          RECS_LIVE_GROUP: `${groupPrefix}recs-live`,
          RECS_CATALOG_GROUP: `${groupPrefix}recs-catalog`,
          RECS_CDC_SCHEMA: schema,
          // Storage, the feature store and experiments are not part of this drill: ranking goes without them (and says so).
          STORAGE_GRPC_ADDR: '127.0.0.1:9',
          FEATURES_GRPC_ADDR: '127.0.0.1:9',
          EXPERIMENTS_GRPC_ADDR: '127.0.0.1:9',
        },
        120_000,
      ),
    ]);
    const clientB = grpcClient(ingestB.grpcAddress, ...INGEST_PROTO, { credentials: key.key });
    const probeId = `${prefix}-probe-${Date.now()}`;
    const ingestAt = await until(
      'TrackEvents on region B',
      async () => {
        const now = Date.now();
        const response = await clientB.call<{ acceptedCount: number }>(
          'TrackEvents',
          {
            events: [
              {
                eventId: probeId,
                userId: `${prefix}-u0`,
                type: 1,
                target: { type: 1, id: 'p1' },
                occurredAt: { seconds: Math.floor(now / 1000), nanos: 0 },
              },
            ],
            clientId: 'dr',
          },
          { deadlineMs: 5_000 },
        );
        if (response.acceptedCount !== 1) throw new Error('the probe was not accepted');
      },
      300_000,
    );
    clientB.close();
    const recsClient = grpcClient(recsB.grpcAddress, ...RECS_PROTO, { credentials: key.key });
    const recommendAt = await until(
      "Recommend on region B from the restored registry's promoted model",
      async () => {
        const response = await recsClient.call<{ modelVersion: string; items: unknown[] }>(
          'Recommend',
          // a user the model was trained on (the synthetic file's u1): a list from the model, not a fallback
          { userId: 'u1', numResults: 10 },
          { deadlineMs: 5_000 },
        );
        if (response.modelVersion !== promoted || response.items.length === 0)
          throw new Error(`served ${response.modelVersion || 'no model'} with ${response.items.length} items`);
      },
      300_000,
    ).finally(() => recsClient.close());
    const probeInLakeAt = await until(
      'the probe in the lake',
      async () => {
        if (!(await lakeCopies(lakeRoot, prefix)).has(probeId)) throw new Error('not yet');
      },
      300_000,
    );
    // Storage on B, once its keyspace is restored (the restore ran beside the steps above).
    const cassandraRestoredAt = await cassandraRestore;
    // What the snapshot alone brought back, before storage on B replays the rest.
    const days = [-1, 0, 1].map((d) => Math.floor(lostAt / 86_400_000) + d);
    const cassandraClient = stackCassandraClient({ keyspace: restoredKeyspace, overrides: cassandra });
    const inSnapshot = countAgainst(activity.acked, await storageCopies(cassandraClient, activity.userIds(), days)).found;
    storageB = await startService('storage', storageEnv(b, cassandra, restoredKeyspace, storageGroupB, mediaRoot), 120_000);
    const storageClient = grpcClient(storageB.grpcAddress, ...STORAGE_PROTO, { credentials: key.key });
    const storageAt = await until(
      'ListActivity on region B from the restored keyspace',
      async () => {
        const response = await storageClient.call<{ activities: unknown[] }>(
          'ListActivity',
          { userId: `${prefix}-u0`, pageSize: 10 },
          { deadlineMs: 5_000 },
        );
        if (response.activities.length === 0) throw new Error('no activity yet');
      },
      300_000,
    ).finally(() => storageClient.close());

    // RPO: what region B holds of what region A acknowledged.
    const topic = countAgainst(activity.acked, await activityTopicCopies(kafkaB, prefix, activity.acked, sinceB));
    const restored = await pgQuery<{ id: string }>(pgB, `SELECT id::text AS id FROM ${schema}.users WHERE handle <> 'dr-probe'`);
    const restoredIds = new Set(restored.map((r) => r.id));
    const rowsLost = [...rows.acked].filter((id) => !restoredIds.has(id)).length;
    // The lake: every acknowledged event once, written by etl on A before the loss or on B after it.
    const lake = await complete(async () => countAgainst(activity.acked, await lakeCopies(lakeRoot, prefix)));
    // Storage on B: the snapshot, then the replay from B's copy of the topic.
    const storage = await complete(async () =>
      countAgainst(activity.acked, await storageCopies(cassandraClient, activity.userIds(), days)),
    );
    await cassandraClient.shutdown();
    const lastAck = Math.max(...[...activity.acked.values()].map((a) => a.at));
    return {
      drill: run,
      seconds: args.seconds,
      rate: args.rate,
      events: {
        sent: activity.sent.size,
        acknowledged: activity.acked.size,
        lost: topic.lost,
        on_b: topic.found,
        copies: topic.duplicates,
      },
      // etl on A before the loss, etl on B after it (from its group's translated offsets), one lake
      lake: { found: lake.found, lost: lake.lost, copies: lake.duplicates },
      // the snapshot taken halfway (events in it), then storage on B replaying B's copy of the topic from before it
      storage: { in_snapshot: inSnapshot, found: storage.found, lost: storage.lost, copies: storage.duplicates },
      rows: { acknowledged: rows.acked.size, lost: rowsLost, restored: restoredIds.size },
      rpo: {
        events_lost: topic.lost,
        lake_events_lost: lake.lost,
        storage_events_lost: storage.lost,
        rows_lost: rowsLost,
        // how long before the loss the last event was acknowledged (the window the figures above cover)
        last_acknowledged_event_before_loss_s: Math.round((lostAt - lastAck) / 100) / 10,
      },
      rto_s: {
        postgres_writable: Math.round((pgWritableAt - lostAt) / 100) / 10,
        ingest_accepting: Math.round((ingestAt - lostAt) / 100) / 10,
        // an event acknowledged on B in the lake: ingest → Kafka B → etl on B → the lake
        ingest_to_lake: Math.round((probeInLakeAt - lostAt) / 100) / 10,
        // B's recommender serving the promoted version of the restored registry
        recommend_serving: Math.round((recommendAt - lostAt) / 100) / 10,
        // the Cassandra snapshot imported (and storage's group placed), then storage on B serving ListActivity
        cassandra_restored: Math.round((cassandraRestoredAt - lostAt) / 100) / 10,
        storage_serving: Math.round((storageAt - lostAt) / 100) / 10,
      },
      model: { promoted },
      backup: backupDir,
      // how long region B's mirror took to reach A's end before the load (its first start copies A's history)
      mirror_caught_up_before_load_s: mirrorCaughtUpS,
      mirror_failed_tasks_at_loss: mirrorFailedAtLoss || 'none',
    };
  } finally {
    clientA.close();
    await Promise.all([ingestA?.stop(), ingestB?.stop(), etlA?.stop(), etlB?.stop(), recsB?.stop(), storageA?.stop(), storageB?.stop()]);
    rmSync(lakeRoot, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    await kafkaB.close().catch(() => undefined);
    say('region A started again; PostgreSQL B removed');
    await ha('start', ...REGION_A).catch((error: unknown) => say(`region A did not start again: ${String(error)}`));
    await ha('down', 'postgres-b').catch(() => undefined);
    await key.remove().catch(() => undefined);
    await pgQuery(pgA, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    const cassandraAdmin = stackCassandraClient({ overrides: cassandra });
    for (const ks of [keyspace, restoredKeyspace]) await cassandraAdmin.execute(`DROP KEYSPACE IF EXISTS ${ks}`).catch(() => undefined);
    await cassandraAdmin.shutdown().catch(() => undefined);
  }
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const report = await drill(args);
  const line = JSON.stringify(report);
  console.log(line);
  if (args.out) appendFileSync(args.out, `${line}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`drill: ${error instanceof UsageError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
