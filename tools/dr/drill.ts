/**
 * The disaster-recovery drill (issue: resilience, item 6). Region A is the replicated stack (tools/stack/ha); region B
 * is one Kafka broker that MirrorMaker 2 keeps a copy of A's topics on (instances kafka-b, mirror-b), a Redis,
 * pg_receivewal streaming A's WAL (walreceiver-b), and a PostgreSQL restored on demand from A's base backup, A's WAL
 * archive and the streamed WAL (postgres-b).
 *
 *   1. region B up; a base backup of A's PostgreSQL (tools/dr/backup);
 *   2. a checked workload on A: TrackEvents through an ingest replica (unique event ids) and INSERTs into A's database;
 *      etl on A writes the lake's bronze/activity (the lake is an object store replicated across regions: it survives);
 *   3. region A lost under load: kill -9 of its brokers, PostgreSQL servers, Redis and Sentinels, ingest and etl;
 *   4. failover: PostgreSQL B restored (base backup + archive, promoted), ingest and etl started on region B (etl on
 *      the same lake, its consumer group where MirrorMaker 2 translated it);
 *   5. RPO: acknowledged events missing from B's copy of the activity topic and from the lake, acknowledged rows
 *      missing from B's database; RTO: seconds from the loss until B's database takes a write, B's ingest
 *      acknowledges a TrackEvents call, and that event is in the lake.
 *
 * Region A is started again afterwards, region B's PostgreSQL removed (the next drill restores it again).
 *   tools/dr/drill [--seconds N] [--rate EVENTS_PER_S] [--out FILE]
 */
import { Topics } from '@pulse/contracts';
import { grpcClient, kafkaErrorMessage, PlatformaticKafkaClient } from '@pulse/platform';
import { issueTestApiKey, type ServiceProcess, startService } from '@pulse/platform/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs as parseCommandLine, promisify } from 'node:util';
import { Client as PgClient } from 'pg';
import { activityTopicCopies, countAgainst, lakeCopies } from '../chaos/sinks';
import { ActivityLoad, RowLoad } from '../chaos/workload';
import { sleep, stackEnv } from '../chaos/world';

const ROOT = join(__dirname, '..', '..');
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

/** Polls `attempt` until it succeeds; resolves with the time it first did. */
async function until(what: string, attempt: () => Promise<unknown>, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await attempt();
      return Date.now();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not succeed within ${timeoutMs / 1000} s: ${kafkaErrorMessage(error)}`);
      await sleep(250);
    }
  }
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

/** etl with the bronze activity stream only, on a region, writing the lake at `lakeRoot`. */
function etlEnv(region: Record<string, string>, lakeRoot: string, groupPrefix: string): Record<string, string> {
  return {
    ...regionEnv(region),
    LAKE_ROOT: lakeRoot,
    ETL_GROUP_PREFIX: groupPrefix,
    ETL_AGGREGATE_STREAMS: 'false',
    ETL_SERVED_TOPIC: '',
    ETL_CDC_TABLES: '',
    ETL_TRIGGER_INTERVAL: '500ms',
    LAKE_COMPACTION_INTERVAL: '0s',
  };
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
  say('building ingest and etl');
  await exec('nx', ['run-many', '-t', 'build', '-p', 'ingest', 'etl', '--output-style=static'], {
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
  const key = await issueTestApiKey({ label: 'dr-drill', scopes: ['events:write'], pgUrl: pgA });
  say('base backup of region A (tools/dr/backup)');
  const backupDir = (await exec(join(ROOT, 'tools', 'dr', 'backup'), [], { cwd: ROOT, timeout: 600_000 })).stdout.trim();
  // A's archive (whole segments, shipped every archive_timeout) and region B's streamed copy (down to the last record).
  const archive = readFileSync(join(backupDir, 'postgres', 'archive'), 'utf8').trim();
  const streamed = join(ROOT, '.stack-ha', 'walreceiver-b', 'wal', 'segments');

  const dedupePrefix = { INGEST_DEDUP_KEY_PREFIX: `pulse:dr:${prefix}:` };
  let ingestA: ServiceProcess | undefined = await startService('ingest', { ...regionEnv(a), ...dedupePrefix }, 120_000);
  let ingestB: ServiceProcess | undefined;
  // The lake survives the region (an object store replicated across regions); etl's group starts at the topic's end.
  const lakeRoot = mkdtempSync(join(tmpdir(), `pulse-dr-${run}-lake-`));
  const groupPrefix = `dr-${run}.`;
  const kafkaA = new PlatformaticKafkaClient({ brokers: a['KAFKA_BROKERS'].split(','), clientId: `pulse-dr-${run}` });
  await kafkaA.admin.setGroupOffsets(
    `${groupPrefix}activity_bronze`,
    Topics.activityTracked.name,
    await kafkaA.admin.endOffsets(Topics.activityTracked.name),
  );
  await kafkaA.close();
  let etlA: ServiceProcess | undefined = await startService('etl', etlEnv(a, lakeRoot, groupPrefix), 120_000);
  let etlB: ServiceProcess | undefined;
  const clientA = grpcClient(ingestA.grpcAddress, ...INGEST_PROTO, { credentials: key.key });
  const activity = new ActivityLoad(() => (ingestA?.running() ? [{ replica: 'ingest-a', client: clientA }] : []), {
    prefix,
    rate: args.rate,
    users: 50,
    retryForMs: 3_000,
  });
  const rows = new RowLoad(pgA, schema, prefix.replace(/-/g, '_'), 20);
  const kafkaB = new PlatformaticKafkaClient({ brokers: b['KAFKA_BROKERS'].split(','), clientId: `pulse-dr-${run}` });
  try {
    say(`load on region A for ${args.seconds} s (${args.rate} events/s, 20 rows/s)`);
    activity.start();
    rows.start();
    await sleep(args.seconds * 1000);

    // Region A is lost with the load running.
    const lostAt = Date.now();
    say('region A lost: kill -9 of its brokers, PostgreSQL, Redis, Sentinels, ingest and etl');
    await Promise.all([ha('kill', ...REGION_A), ingestA.kill('SIGKILL'), etlA.kill('SIGKILL')]);
    ingestA = undefined;
    etlA = undefined;
    await Promise.all([activity.stop(), rows.stop()]);

    // Failover: PostgreSQL B restored from the backup and the archive, ingest on region B.
    say('failover: PostgreSQL B from the base backup and the WAL archive; ingest on region B');
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
    [ingestB, etlB] = await Promise.all([
      startService('ingest', { ...regionEnv(b), ...dedupePrefix }, 120_000),
      startService('etl', etlEnv(b, lakeRoot, groupPrefix), 120_000),
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
    const probeInLakeAt = await until(
      'the probe in the lake',
      async () => {
        if (!(await lakeCopies(lakeRoot, prefix)).has(probeId)) throw new Error('not yet');
      },
      300_000,
    );

    // RPO: what region B holds of what region A acknowledged.
    const partitions = (await kafkaB.admin.endOffsets(Topics.activityTracked.name)).map(() => 0n);
    const topic = countAgainst(activity.acked, await activityTopicCopies(kafkaB, prefix, activity.acked, partitions));
    const restored = await pgQuery<{ id: string }>(pgB, `SELECT id::text AS id FROM ${schema}.users WHERE handle <> 'dr-probe'`);
    const restoredIds = new Set(restored.map((r) => r.id));
    const rowsLost = [...rows.acked].filter((id) => !restoredIds.has(id)).length;
    // The lake: every acknowledged event once, written by etl on A before the loss or on B after it.
    let lake = countAgainst(activity.acked, await lakeCopies(lakeRoot, prefix));
    const lakeDeadline = Date.now() + 120_000;
    while (lake.lost > 0 && Date.now() < lakeDeadline) {
      await sleep(1_000);
      lake = countAgainst(activity.acked, await lakeCopies(lakeRoot, prefix));
    }
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
      rows: { acknowledged: rows.acked.size, lost: rowsLost, restored: restoredIds.size },
      rpo: {
        events_lost: topic.lost,
        lake_events_lost: lake.lost,
        rows_lost: rowsLost,
        // how long before the loss the last event was acknowledged (the window the figures above cover)
        last_acknowledged_event_before_loss_s: Math.round((lostAt - lastAck) / 100) / 10,
      },
      rto_s: {
        postgres_writable: Math.round((pgWritableAt - lostAt) / 100) / 10,
        ingest_accepting: Math.round((ingestAt - lostAt) / 100) / 10,
        // an event acknowledged on B in the lake: ingest → Kafka B → etl on B → the lake
        ingest_to_lake: Math.round((probeInLakeAt - lostAt) / 100) / 10,
      },
      backup: backupDir,
    };
  } finally {
    clientA.close();
    await Promise.all([ingestA?.stop(), ingestB?.stop(), etlA?.stop(), etlB?.stop()]);
    rmSync(lakeRoot, { recursive: true, force: true });
    await kafkaB.close().catch(() => undefined);
    say('region A started again; PostgreSQL B removed');
    await ha('start', ...REGION_A).catch((error: unknown) => say(`region A did not start again: ${String(error)}`));
    await ha('down', 'postgres-b').catch(() => undefined);
    await key.remove().catch(() => undefined);
    await pgQuery(pgA, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
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
