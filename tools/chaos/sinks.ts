/**
 * Where the acknowledged writes must be found after a scenario: the activity topic, the lake's bronze activity table
 * (etl), storage's activity table (Cassandra), the recommender's live state (Redis) and the app database's CDC topic.
 * Each read counts what it finds of the acknowledged ids and how many copies, so a lost write and a duplicate are both
 * visible. The feature store's online engagement counts are checked against the events themselves.
 */
import { cdcTopic, featuresV1, timestampToMillis, Topics } from '@pulse/contracts';
import { DeltaTable, LakeEngine, LocalLakeStorage } from '@pulse/lake';
import { type KafkaClient, readTopicRanges, type UnaryClient } from '@pulse/platform';
import { readTopicUntil } from '@pulse/platform/testing';
import { type Client as CassandraClient, types } from 'cassandra-driver';
import type Redis from 'ioredis';
import type { SentEvent } from './workload';

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

/**
 * Copies of each event in the recommender's live state: the users' lists of recent actions (`<prefix>u:<user>:acts`,
 * `POST|VIEW|<at>|<post>`), an event known by its user and time (one event of a user per instant in the workload).
 */
export async function recommenderCopies(
  redis: Redis,
  redisPrefix: string,
  sent: ReadonlyMap<string, SentEvent>,
  users: string[],
): Promise<Map<string, number>> {
  const idOf = new Map<string, string>();
  for (const [id, e] of sent) idOf.set(`${e.userId}|${e.occurredAt}|${e.postId}`, id);
  const copies = new Map<string, number>();
  for (const userId of users) {
    for (const entry of await redis.lrange(`${redisPrefix}u:${userId}:acts`, 0, -1)) {
      const [, , at, postId] = entry.split('|');
      const id = idOf.get(`${userId}|${at}|${postId}`);
      if (id) tally(copies, id);
    }
  }
  return copies;
}

/** The etl settings of the windows checked (post_engagement_1h: tumbling, one hour). */
export interface EngagementWindows {
  /** The aggregate's stream name, as on the late topic. */
  stream: string;
  sizeMs: number;
  watermarkDelayMs: number;
  allowedLatenessMs: number;
}

/** Ids of the scenario's events the stream set aside as late (pulse.activity.late.v1), read from `since` to its end. */
export async function lateEventIds(kafka: KafkaClient, prefix: string, stream: string, since: readonly bigint[]): Promise<Set<string>> {
  const end = await kafka.admin.endOffsets(Topics.activityLate.name);
  const ranges = new Map(since.map((from, partition) => [partition, { from, to: end[partition] }]));
  const ids = new Set<string>();
  for (const r of await readTopicRanges(kafka, Topics.activityLate, ranges, 20_000)) {
    const id = r.value?.tracked?.event?.eventId ?? '';
    if (r.value?.stream === stream && id.startsWith(`${prefix}-`)) ids.add(id);
  }
  return ids;
}

/** What the online store serves of a post, against what the events say. */
export interface EngagementCheck {
  /** Posts with a closed window of events to look for (each must be: else the run checked nothing). */
  checked: number;
  /** Posts whose online `views` is the count of their events in the window it is for, and that window is recent. */
  correct: number;
  /** Posts with a value for the right window but another count. */
  wrong: number;
  /** Posts served for an older window than the last one that closed with their events in it. */
  stale: number;
  /** Posts with no value although a window with their events closed. */
  missing: number;
  /** Events of the scenario the aggregate set aside as late (on pulse.activity.late.v1; not counted, by design). */
  late: number;
  /** The first posts that are not correct: served (views, window end) and expected. */
  examples: Record<string, unknown>[];
}

/**
 * Checks the feature store's `post_engagement_1h:views` of each post against the events on the activity topic
 * (each once, however many copies), less the ones the aggregate set aside as late: exactly once through etl's
 * windows, the aggregates topic and the feature store's push, whatever was killed on the way. The window that must
 * be online is the last one that closed (its end plus the allowed lateness behind the final watermark) with events
 * of the post in it; a later one already pushed (the watermark passed its end) is served correctly too.
 */
export async function checkEngagementFeatures(
  features: UnaryClient,
  posts: string[],
  events: ReadonlyMap<string, SentEvent>,
  onTopic: ReadonlyMap<string, number>,
  late: ReadonlySet<string>,
  windows: EngagementWindows,
): Promise<EngagementCheck> {
  const counted = [...onTopic.keys()].flatMap((id) => {
    const e = events.get(id);
    return e && !late.has(id) ? [e] : [];
  });
  const maxEventTime = Math.max(...[...onTopic.keys()].map((id) => events.get(id)?.occurredAt ?? -Infinity));
  const watermark = maxEventTime - windows.watermarkDelayMs;
  const windowEnd = (t: number) => (Math.floor(t / windows.sizeMs) + 1) * windows.sizeMs;
  const views = new Map<string, number>(); // `${post}|${end}` → events counted
  const lastClosed = new Map<string, number>(); // post → end of its last closed window with events
  for (const e of counted) {
    const end = windowEnd(e.occurredAt);
    views.set(`${e.postId}|${end}`, (views.get(`${e.postId}|${end}`) ?? 0) + 1);
    if (end + windows.allowedLatenessMs <= watermark && end > (lastClosed.get(e.postId) ?? 0)) lastClosed.set(e.postId, end);
  }
  const response = await features.call<featuresV1.GetOnlineFeaturesResponse>(
    'GetOnlineFeatures',
    {
      entityRows: posts.map((p) => ({ joinKeys: { post_id: { stringValue: p } } })),
      features: { refs: ['post_engagement_1h:views'] },
    },
    { deadlineMs: 10_000 },
  );
  const check: EngagementCheck = { checked: lastClosed.size, correct: 0, wrong: 0, stale: 0, missing: 0, late: late.size, examples: [] };
  posts.forEach((post, i) => {
    const feature = response.rows[i]?.features[0];
    const must = lastClosed.get(post);
    const present = feature?.status === featuresV1.FeatureStatus.FEATURE_STATUS_PRESENT;
    const served = present && feature.eventTimestamp ? timestampToMillis(feature.eventTimestamp) : undefined;
    const value = present ? Number(feature.value?.int64Value ?? feature.value?.doubleValue) : undefined;
    let verdict: 'correct' | 'wrong' | 'stale' | 'missing';
    if (served === undefined) verdict = must === undefined ? 'correct' : 'missing';
    else if (must !== undefined && served < must) verdict = 'stale';
    else verdict = value === (views.get(`${post}|${served}`) ?? 0) ? 'correct' : 'wrong';
    check[verdict]++;
    if (verdict !== 'correct' && check.examples.length < 5)
      check.examples.push({
        post,
        verdict,
        served: served === undefined ? null : { views: value, window_end: new Date(served).toISOString() },
        expected: must === undefined ? null : { views: views.get(`${post}|${must}`), window_end: new Date(must).toISOString() },
        status: feature ? featuresV1.FeatureStatus[feature.status] : null,
      });
  });
  return check;
}
