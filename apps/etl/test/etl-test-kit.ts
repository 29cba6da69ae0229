import { ingestV1, millisToTimestamp, Topics } from '@pulse/contracts';
import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import { grpcClient, type KafkaClient, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import { eventually, issueTestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type RunningApp } from '../src/app.factory';
import { loadEtlConfig } from '../src/config/etl.config';

/** The stack's addresses as the service reads them (env of `tools/stack/stack env`, else the defaults). */
export const stackConfig = loadEtlConfig();

/**
 * An isolated run: its own activity, late and aggregate topics, consumer groups and lake directory,
 * so tests share the stack without seeing each other.
 */
export interface EtlRun {
  id: string;
  lakeRoot: string;
  activityTopic: typeof Topics.activityTracked;
  lateTopic: typeof Topics.activityLate;
  env: Record<string, string>;
}

export function newRun(): EtlRun {
  const id = `t${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const lakeRoot = mkdtempSync(join(tmpdir(), `etl-${id}-`));
  const activityTopic = { ...Topics.activityTracked, name: `pulse.activity.tracked.${id}.v1` };
  const lateTopic = { ...Topics.activityLate, name: `pulse.activity.late.${id}.v1` };
  return {
    id,
    lakeRoot,
    activityTopic,
    lateTopic,
    env: {
      LOG_LEVEL: 'warn',
      LAKE_ROOT: lakeRoot,
      ETL_ACTIVITY_TOPIC: activityTopic.name,
      ETL_LATE_TOPIC: lateTopic.name,
      ETL_SERVED_TOPIC: `pulse.recs.served.${id}.v1`,
      ETL_CDC_TABLES: '',
      ETL_AGGREGATE_PREFIX: `${id}_`,
      ETL_GROUP_PREFIX: `etl-${id}.`,
      ETL_TRIGGER_INTERVAL: '200ms',
      LAKE_COMPACTION_INTERVAL: '0s',
    },
  };
}

export interface EtlTestApp {
  running: RunningApp;
  client: UnaryClient;
  close(): Promise<void>;
}

export async function startEtl(run: EtlRun, overrides: Record<string, string> = {}): Promise<EtlTestApp> {
  const running = await createApp({ GRPC_PORT: '0', HTTP_PORT: '0', ...run.env, ...overrides });
  // The client calls with an admin key of its own (the authorisation matrix checks the scopes).
  const key = await issueTestApiKey({ label: 'etl', pgUrl: running.config.PULSE_AUTH_PG_URL, schema: running.config.PULSE_AUTH_PG_SCHEMA });
  const client = grpcClient(running.grpcAddress, 'pulse/etl/v1/etl_service.proto', 'pulse.etl.v1.EtlService', { credentials: key.key });
  return {
    running,
    client,
    close: async () => {
      client.close();
      await key.remove();
      await running.close();
    },
  };
}

export function testKafka(name: string): KafkaClient {
  return new PlatformaticKafkaClient({ brokers: stackConfig.KAFKA_BROKERS, clientId: `etl-test-${name}-${randomUUID().slice(0, 6)}` });
}

const { ActivityType, TargetType } = ingestV1;
export { ActivityType, TargetType };

export function tracked(
  eventId: string,
  userId: string,
  type: ingestV1.ActivityType,
  occurredMs: number,
  target: { type: ingestV1.TargetType; id: string } = { type: TargetType.TARGET_TYPE_POST, id: 'p1' },
): ingestV1.ActivityTracked {
  return {
    event: {
      eventId,
      userId,
      type,
      target,
      occurredAt: millisToTimestamp(occurredMs),
      sessionId: 's1',
      properties: { surface: 'feed' },
      context: undefined,
      recommendationId: '',
    },
    receivedAt: millisToTimestamp(Date.now()),
    ingest: { schemaVersion: 1, sourceIp: '', clientId: 'etl-test', requestId: 'r' },
  };
}

/** Writes tracked events keyed by user, as ingest does (one user stays on one partition). */
export async function produce(kafka: KafkaClient, run: EtlRun, events: ingestV1.ActivityTracked[]): Promise<void> {
  for (let i = 0; i < events.length; i += 5000) {
    await kafka.producer.send(
      run.activityTopic,
      events.slice(i, i + 5000).map((value) => ({ key: value.event!.userId, value })),
    );
  }
}

let engine: Promise<LakeEngine> | undefined;
export function testEngine(): Promise<LakeEngine> {
  engine ??= LakeEngine.create({ threads: 1 });
  return engine;
}

/** Runs SQL over a table of the run's lake at its latest version; `{t}` stands for the table. */
export async function queryTable<T = Record<string, unknown>>(run: EtlRun, path: string, sql: string): Promise<T[]> {
  const e = await testEngine();
  const table = await DeltaTable.open(new LocalLakeStorage(run.lakeRoot), path, { engine: e });
  return e.query<T>(sql.replaceAll('{t}', await table.scanSql()));
}

export async function bronzeCounts(run: EtlRun): Promise<{ rows: number; distinct: number }> {
  const exists = await DeltaTable.exists(new LocalLakeStorage(run.lakeRoot), 'bronze/activity');
  if (!exists) return { rows: 0, distinct: 0 };
  const [row] = await queryTable<{ rows: number; distinct: number }>(
    run,
    'bronze/activity',
    'SELECT count(*)::INT AS rows, count(DISTINCT event_id)::INT AS distinct FROM {t}',
  );
  return row;
}

/** `eventually` of @pulse/platform that fails the test, naming the last value, when `ok` never holds. */
export async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const holds = (v: T | undefined) => v !== undefined && ok(v);
  const value = await eventually(read, holds, timeoutMs);
  if (!holds(value)) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
  return value;
}

/** `count` views numbered from `from`, one second apart from 2024-06-01 12:00 UTC, spread over `users` users. */
export function viewEvents(run: EtlRun, from: number, count: number, users = 200): ingestV1.ActivityTracked[] {
  const t0 = Date.UTC(2024, 5, 1, 12);
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return tracked(`${run.id}-e${n}`, `u${n % users}`, ActivityType.ACTIVITY_TYPE_VIEW, t0 + n * 1000);
  });
}

/** The bronze activity table of a run at its latest version. */
export async function bronzeTable(run: EtlRun): Promise<DeltaTable> {
  return DeltaTable.open(new LocalLakeStorage(run.lakeRoot), 'bronze/activity', { engine: await testEngine() });
}

/** Sum of the next offsets the bronze table committed over the partitions (its txns). */
export async function bronzeTxnOffsets(run: EtlRun): Promise<number> {
  return [...(await bronzeTable(run)).snapshot().txns.values()].reduce((sum, t) => sum + t.version, 0);
}
