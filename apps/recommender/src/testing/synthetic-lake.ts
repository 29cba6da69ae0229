import { activityBronzeLayout, bronzeConfiguration, cdcBronzeLayout, DeltaTable, type LakeEngine, LocalLakeStorage } from '@pulse/lake';
import { Rng } from '@pulse/platform';

/*
 * Bronze tables written the way etl writes them (their layout from @pulse/lake with etl's default properties,
 * rows as apps/etl/src/bronze/bronze-tables.ts maps records, one STREAMING UPDATE commit per batch carrying the
 * application transaction of the Kafka offsets it holds). For tests and for trying `recs train --source lake`
 * without running the platform.
 */
const CONFIGURATION = bronzeConfiguration(128 * 1024 * 1024, 10);

/** One tracked event as ingest accepted it. */
export interface LakeActivity {
  eventId: string;
  userId: string;
  /** VIEW, CLICK, LIKE, UNLIKE, HIDE, … (ActivityType without its prefix). */
  type: string;
  targetType?: 'POST' | 'USER' | 'COMMENT';
  targetId: string;
  occurredAtMs: number;
}

/** One change of a post in the app database, as cdc captures it. */
export interface LakePostChange {
  op: 'r' | 'c' | 'u' | 'd';
  id: string;
  authorId: string;
  tags?: string[];
  visibility?: 'public' | 'followers' | 'private';
  atMs: number;
  lsn: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const date = (ms: number) => iso(ms).slice(0, 10);

/** The next offset of partition 0 of `topic` that `table` has committed (its exactly-once progress). */
function nextOffset(table: DeltaTable, topic: string): number {
  return table.snapshot().txns.get(`etl:${topic}:0`)?.version ?? 0;
}

/** Appends tracked events to bronze/activity (creating it) in one commit, as partition 0 of the activity topic; returns the version. */
export async function appendActivity(lakeRoot: string, events: readonly LakeActivity[], engine?: LakeEngine): Promise<number> {
  const topic = 'pulse.activity.tracked.v1';
  const { path, create } = activityBronzeLayout(CONFIGURATION);
  const table = await DeltaTable.create(new LocalLakeStorage(lakeRoot), path, create, { engine });
  const first = nextOffset(table, topic);
  const rows = events.map((e, n) => ({
    event_id: e.eventId,
    user_id: e.userId,
    type: e.type,
    target_type: e.targetType ?? 'POST',
    target_id: e.targetId,
    occurred_at: iso(e.occurredAtMs),
    received_at: iso(e.occurredAtMs + 50),
    session_id: `s-${e.userId}`,
    recommendation_id: null,
    properties: {},
    platform: 'WEB',
    app_version: '1.0.0',
    client_id: 'synthetic',
    kafka_partition: 0,
    kafka_offset: first + n,
    kafka_timestamp: iso(e.occurredAtMs + 60),
    event_date: date(e.occurredAtMs),
  }));
  const result = await table.append(rows, {
    operation: 'STREAMING UPDATE',
    txns: [{ appId: `etl:${topic}:0`, version: first + rows.length }],
  });
  return result.version;
}

/** Appends post changes to bronze/cdc/<schema>.posts (creating it) in one commit; returns the version. */
export async function appendPostChanges(
  lakeRoot: string,
  cdcSchema: string,
  changes: readonly LakePostChange[],
  engine?: LakeEngine,
): Promise<number> {
  const topic = cdcSchema === 'public' ? 'pulse.cdc.posts.v1' : `pulse.cdc.${cdcSchema}.posts.v1`;
  const { path, create } = cdcBronzeLayout(`${cdcSchema}.posts`, CONFIGURATION);
  const table = await DeltaTable.create(new LocalLakeStorage(lakeRoot), path, create, { engine });
  const first = nextOffset(table, topic);
  const rows = changes.map((c, n) => {
    const row = {
      id: Number(c.id),
      author_id: Number(c.authorId),
      body: `post ${c.id}`,
      visibility: c.visibility ?? 'public',
      media: [],
      tags: c.tags ?? [],
      like_count: 0,
      comment_count: 0,
      score: '0.000000',
      created_at: iso(c.atMs),
      edited_at: null,
    };
    return {
      key: JSON.stringify({ id: Number(c.id) }),
      op: c.op,
      // A delete carries the replica identity (the key) in before; an update, the new row in after.
      before: c.op === 'd' ? JSON.stringify({ id: Number(c.id) }) : null,
      after: c.op === 'd' ? null : JSON.stringify(row),
      source_ts: iso(c.atMs),
      lsn: c.lsn,
      tx_id: 1000 + c.lsn,
      snapshot: c.op === 'r' ? 'true' : 'false',
      ts: iso(c.atMs + 20),
      kafka_partition: 0,
      kafka_offset: first + n,
      kafka_timestamp: iso(c.atMs + 30),
      change_date: date(c.atMs),
    };
  });
  const result = await table.append(rows, {
    operation: 'STREAMING UPDATE',
    txns: [{ appId: `etl:${topic}:0`, version: first + rows.length }],
  });
  return result.version;
}

/** Sizes of a synthetic network: users in taste clusters, each cluster's posts by its own author and tag. */
export interface SyntheticLakeOptions {
  users?: number;
  posts?: number;
  clusters?: number;
  /** Posts each user engages with. */
  perUser?: number;
  seed?: number;
  /** Time of the first event, ms; the events follow a minute apart per user. */
  startMs?: number;
}

/**
 * Activity and posts with structure a collaborative model can find and popularity cannot: user `u` belongs to
 * cluster u mod clusters and mostly views (and often likes) posts of that cluster, the rest being a few posts
 * everyone sees. Post ids are the app database's (numbers as strings, from 1001), user ids too (from 1).
 */
export function syntheticLake(options: SyntheticLakeOptions = {}): { activity: LakeActivity[]; posts: LakePostChange[] } {
  const users = options.users ?? 90;
  const numPosts = options.posts ?? 120;
  const clusters = options.clusters ?? 6;
  const perUser = options.perUser ?? 10;
  const start = options.startMs ?? Date.UTC(2024, 5, 1);
  const rng = new Rng(options.seed ?? 11);
  const perCluster = Math.floor(numPosts / clusters);
  const postId = (i: number) => String(1001 + i);
  const posts: LakePostChange[] = Array.from({ length: numPosts }, (_, i) => {
    const cluster = Math.min(Math.floor(i / perCluster), clusters - 1);
    return { op: 'r', id: postId(i), authorId: String(900 + cluster), tags: [`topic${cluster}`], atMs: start - 86_400_000, lsn: 100 + i };
  });
  const activity: LakeActivity[] = [];
  for (let u = 0; u < users; u++) {
    const cluster = u % clusters;
    const chosen = new Set<number>();
    while (chosen.size < perUser) {
      // 80 %: a post of the user's cluster, skewed to its first posts; 20 %: one of the five posts everyone sees.
      chosen.add(rng.next() < 0.8 ? cluster * perCluster + Math.floor(perCluster * rng.next() ** 2) : numPosts - 1 - rng.int(5));
    }
    let t = start + u * 3_600_000;
    for (const p of chosen) {
      const userId = String(1 + u);
      activity.push({ eventId: `ev-${u}-${p}-view`, userId, type: 'VIEW', targetId: postId(p), occurredAtMs: (t += 60_000) });
      if (rng.next() < 0.5)
        activity.push({ eventId: `ev-${u}-${p}-like`, userId, type: 'LIKE', targetId: postId(p), occurredAtMs: (t += 5_000) });
    }
  }
  return { activity, posts };
}

/** Writes `syntheticLake(options)` into a lake directory (bronze/activity and bronze/cdc/<schema>.posts). */
export async function writeSyntheticLake(lakeRoot: string, cdcSchema = 'public', options: SyntheticLakeOptions = {}): Promise<void> {
  const { activity, posts } = syntheticLake(options);
  await appendPostChanges(lakeRoot, cdcSchema, posts);
  await appendActivity(lakeRoot, activity);
}
