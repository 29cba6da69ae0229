/**
 * Where the acknowledged writes must be found after a scenario: the activity topic, the lake's bronze activity table
 * (etl), storage's activity table (Cassandra) and the app database's CDC topic. Each read counts what it finds of the
 * acknowledged ids and how many copies, so a lost write and a duplicate are both visible.
 */
import { cdcTopic, Topics } from '@pulse/contracts';
import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import type { KafkaClient } from '@pulse/platform';
import { readTopicUntil } from '@pulse/platform/testing';
import { type Client as CassandraClient, types } from 'cassandra-driver';

export interface SinkCount {
  /** Acknowledged ids found at least once. */
  found: number;
  /** Acknowledged ids not found. */
  lost: number;
  /** Copies beyond the first, over every id of the scenario (acknowledged or not). */
  duplicates: number;
  /** Ids of the scenario found that were never acknowledged (a write whose answer was lost: allowed, counted). */
  unacknowledgedFound: number;
}

/** The acknowledged ids (a set, or a map from id to how it was acknowledged). */
export type AckedIds = Pick<ReadonlySet<string>, 'has' | 'size'>;

/** Counts ids (each copy once) against the acknowledged set. */
export function countAgainst(acked: AckedIds, copies: Map<string, number>): SinkCount {
  let found = 0;
  let duplicates = 0;
  let unacknowledgedFound = 0;
  for (const [id, n] of copies) {
    duplicates += n - 1;
    if (acked.has(id)) found++;
    else unacknowledgedFound++;
  }
  return { found, lost: acked.size - found, duplicates, unacknowledgedFound };
}

const tally = (copies: Map<string, number>, id: string) => copies.set(id, (copies.get(id) ?? 0) + 1);

/** Copies of each event id of the scenario on the activity topic, read from `since` (end offsets at its start). */
export async function activityTopicCopies(
  kafka: KafkaClient,
  prefix: string,
  acked: AckedIds,
  since: readonly bigint[],
): Promise<Map<string, number>> {
  const copies = new Map<string, number>();
  let foundAcked = 0;
  await readTopicUntil(kafka, Topics.activityTracked, {
    since,
    timeoutMs: 30_000,
    filter: (r) => {
      const id = r.value?.event?.eventId ?? '';
      if (!id.startsWith(`${prefix}-`)) return false;
      if (!copies.has(id) && acked.has(id)) foundAcked++;
      tally(copies, id);
      return false; // counted here; nothing kept in memory
    },
    done: () => foundAcked >= acked.size,
  });
  return copies;
}

let engine: Promise<LakeEngine> | undefined;

/** Copies of each event id of the scenario in the lake's bronze activity table at its latest version. */
export async function lakeCopies(lakeRoot: string, prefix: string): Promise<Map<string, number>> {
  const storage = new LocalLakeStorage(lakeRoot);
  const copies = new Map<string, number>();
  if (!(await DeltaTable.exists(storage, 'bronze/activity'))) return copies;
  engine ??= LakeEngine.create({ threads: 1 });
  const e = await engine;
  const table = await DeltaTable.open(storage, 'bronze/activity', { engine: e });
  const rows = await e.query<{ event_id: string; n: number }>(
    `SELECT event_id, count(*)::INT AS n FROM ${await table.scanSql()} WHERE starts_with(event_id, '${prefix.replace(/'/g, "''")}-') GROUP BY event_id`,
  );
  for (const row of rows) copies.set(row.event_id, row.n);
  return copies;
}

/** Copies of each event id of the scenario in storage's activity_by_user (its users, the days around now). */
export async function storageCopies(cassandra: CassandraClient, users: string[], days: number[]): Promise<Map<string, number>> {
  const copies = new Map<string, number>();
  for (const userId of users) {
    const result = await cassandra.execute('SELECT event_id FROM activity_by_user WHERE user_id = ? AND day IN ?', [userId, days], {
      prepare: true,
      fetchSize: 100_000,
      consistency: types.consistencies.localQuorum,
    });
    for (const row of result.rows) tally(copies, row['event_id'] as string);
  }
  return copies;
}

/** Copies of each inserted row (by id) on the app database's users CDC topic, read from `since`. */
export async function cdcCopies(
  kafka: KafkaClient,
  schema: string,
  acked: AckedIds,
  since: readonly bigint[],
  handlePrefix: string,
): Promise<Map<string, number>> {
  const copies = new Map<string, number>();
  let foundAcked = 0;
  await readTopicUntil(kafka, cdcTopic('users', schema), {
    since,
    timeoutMs: 30_000,
    filter: (r) => {
      const after = r.value?.after;
      if (r.value?.op !== 'c' || !after || !String(after['handle'] ?? '').startsWith(`${handlePrefix}_`)) return false;
      const id = String(after['id']);
      if (!copies.has(id) && acked.has(id)) foundAcked++;
      tally(copies, id);
      return false;
    },
    done: () => foundAcked >= acked.size,
  });
  return copies;
}
