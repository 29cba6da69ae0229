import {
  ACTIVITY_BRONZE_PATH,
  cdcBronzePath,
  type DeltaSnapshot,
  DeltaTable,
  type LakeEngine,
  LocalLakeStorage,
  sqlString,
} from '@pulse/lake';
import { resolve } from 'node:path';
import { type Interactions, InteractionsBuilder } from './interactions';
import type { ItemAttributes } from './item-attributes';

/** Tracked activity as etl lands it (activityBronzeLayout of @pulse/lake): one row per event, `event_id` unique per event. */
export const ACTIVITY_TABLE = ACTIVITY_BRONZE_PATH;

/** The change events of the app database's posts, Debezium envelope with before/after as JSON text. */
export function postsTable(cdcSchema: string): string {
  return cdcBronzePath(`${cdcSchema}.posts`);
}

/** How actions become implicit feedback. */
export interface FeedbackRules {
  /** Weight of each action type (VIEW, LIKE, …, as in src/live/action-weights.ts); types without one are ignored. */
  weights: Readonly<Record<string, number>>;
  /** An action's weight halves every half-life of age, measured from the newest action read; 0: no decay. */
  halfLifeMs: number;
  /** A (user, post) pair is a positive when its decayed net weight is above this (and it has a positive action). */
  minWeight: number;
}

export interface LakeReadOptions extends FeedbackRules {
  /** Directory of the lake (etl's LAKE_ROOT). */
  lakeRoot: string;
  /** Schema of the app database's tables: the posts are read from bronze/cdc/<schema>.posts. */
  cdcSchema: string;
  /** Table path → version to read (time travel); the latest version of the others. */
  asOf?: ReadonlyMap<string, number>;
}

/** What the reading found, for the summary line and the checks of minimum data. */
export interface LakeReadStats {
  /** Distinct events on posts with a weighted type. */
  events: number;
  /** Rows dropped because their event_id was read before (a replayed event). */
  duplicates: number;
  /** Distinct (user, post) pairs with at least one such event. */
  pairs: number;
  /** Pairs whose net weight is not above the minimum, or that have no positive action (hidden, unliked). */
  negative: number;
  /** Pairs on posts that are deleted or not public in the latest state of the posts table. */
  removed: number;
  /** Pairs on posts the posts table has never seen. */
  unknown: number;
  /** The positives kept: interactions, their users and posts. */
  positives: number;
  users: number;
  items: number;
}

export interface LakeTrainingData {
  /** The positive pairs as implicit feedback, oldest first; timestamps in seconds (latest positive action). */
  interactions: Interactions;
  /** Item attributes for Recommend's filters: `tag` (every tag of the post) and `author_id`. */
  attributes: ItemAttributes;
  /** The Delta version read of each table, by path. */
  tableVersions: Record<string, number>;
  stats: LakeReadStats;
}

/** The lake has nothing (or too little) to train on: nothing is registered. */
export class NoTrainingDataError extends Error {}

/**
 * The SQL that turns bronze activity and the posts' change events into (user, post) feedback, as temporary
 * tables of one connection: `recs_events` (activity on posts with a weighted type; `copy` > 1 marks a row
 * whose event_id came before), `recs_posts` (the latest state of each post by LSN: `live` when neither
 * deleted nor other than public, its author and tags) and `recs_pairs` (per pair: the decayed net weight, the
 * time of its latest positive action, and its `kind`: positive, negative, removed or unknown).
 */
export function feedbackSql(activity: string, posts: string, rules: FeedbackRules): { events: string; posts: string; pairs: string } {
  const weighted = Object.entries(rules.weights).filter(([, w]) => Number.isFinite(w) && w !== 0);
  if (!weighted.some(([, w]) => w > 0)) throw new Error('no action type has a positive weight: nothing could be a positive');
  if (!(rules.halfLifeMs >= 0) || !Number.isFinite(rules.minWeight)) throw new Error('bad feedback rules');
  const weights = weighted.map(([type, w]) => `(${sqlString(type.toUpperCase())}, ${Number(w)}::DOUBLE)`).join(', ');
  const decay = rules.halfLifeMs > 0 ? `pow(0.5, date_diff('millisecond', e.occurred_at, r.newest)::DOUBLE / ${rules.halfLifeMs})` : '1.0';
  const id = (column: string) => `json_extract_string(${column}, '$.id')`;
  return {
    events: `CREATE OR REPLACE TEMP TABLE recs_events AS
       SELECT user_id, target_id AS post_id, upper(type) AS type, occurred_at,
              row_number() OVER (PARTITION BY event_id ORDER BY kafka_partition, kafka_offset) AS copy
       FROM ${activity}
       WHERE target_type = 'POST' AND coalesce(user_id, '') <> '' AND coalesce(target_id, '') <> '' AND occurred_at IS NOT NULL
         AND upper(type) IN (SELECT type FROM (VALUES ${weights}) w(type, weight))`,
    posts: `CREATE OR REPLACE TEMP TABLE recs_posts AS
       SELECT post_id,
              op <> 'd' AND after IS NOT NULL AND coalesce(json_extract_string(after, '$.visibility'), 'public') = 'public' AS live,
              json_extract_string(after, '$.author_id') AS author_id,
              CAST(json_extract(after, '$.tags') AS VARCHAR) AS tags
       FROM (SELECT coalesce(${id('after')}, ${id('before')}, ${id('key')}) AS post_id, * FROM ${posts})
       WHERE post_id IS NOT NULL
       QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY lsn DESC NULLS LAST, source_ts DESC NULLS LAST, kafka_offset DESC) = 1`,
    pairs: `CREATE OR REPLACE TEMP TABLE recs_pairs AS
       WITH r AS (SELECT max(occurred_at) AS newest FROM recs_events WHERE copy = 1),
       pairs AS (
         SELECT e.user_id, e.post_id, sum(w.weight * ${decay}) AS net, max(e.occurred_at) FILTER (WHERE w.weight > 0) AS last_positive
         FROM recs_events e JOIN (VALUES ${weights}) w(type, weight) USING (type) CROSS JOIN r
         WHERE e.copy = 1
         GROUP BY e.user_id, e.post_id
       )
       SELECT p.user_id, p.post_id, p.net, epoch_ms(p.last_positive)::DOUBLE AS at_ms,
              CASE WHEN q.post_id IS NULL THEN 'unknown'
                   WHEN NOT q.live THEN 'removed'
                   WHEN p.last_positive IS NULL OR p.net <= ${rules.minWeight} THEN 'negative'
                   ELSE 'positive' END AS kind
       FROM pairs p LEFT JOIN recs_posts q USING (post_id)`,
  };
}

/**
 * Reads implicit feedback from the lake through DuckDB: bronze/activity on posts, deduplicated on event_id,
 * each action weighted by type and decayed by age; a (user, post) pair whose net weight is above the minimum
 * (and that has a positive action) is a positive at the time of its latest positive action, provided the post
 * is public and not deleted in the latest state of bronze/cdc/<schema>.posts. Reads each table at its latest
 * version or at the version `asOf` names, and says which it read.
 */
export async function readLakeInteractions(options: LakeReadOptions, engine: LakeEngine): Promise<LakeTrainingData> {
  const storage = new LocalLakeStorage(resolve(options.lakeRoot));
  const paths = [ACTIVITY_TABLE, postsTable(options.cdcSchema)];
  for (const path of options.asOf?.keys() ?? []) {
    if (!paths.includes(path)) throw new Error(`--as-of: ${path} is not a table this training reads (${paths.join(', ')})`);
  }
  const missing: string[] = [];
  for (const path of paths) if (!(await DeltaTable.exists(storage, path))) missing.push(path);
  if (missing.length === paths.length) {
    throw new NoTrainingDataError(`the lake at ${storage.location} is empty: no ${paths.join(' and no ')} (etl writes them from Kafka)`);
  }
  if (missing.length > 0) {
    throw new NoTrainingDataError(`the lake at ${storage.location} has no table ${missing.join(', ')} (etl writes it from Kafka)`);
  }
  const tableVersions: Record<string, number> = {};
  const relations: string[] = [];
  for (const path of paths) {
    const table = await DeltaTable.open(storage, path, { engine });
    const wanted = options.asOf?.get(path);
    let snapshot: DeltaSnapshot;
    if (wanted === undefined) snapshot = table.snapshot();
    else if (wanted > table.version) throw new Error(`--as-of: ${path} has no version ${wanted} (its latest is ${table.version})`);
    else snapshot = await unreadable(path, wanted, () => table.snapshotAt(wanted));
    tableVersions[path] = snapshot.version;
    relations.push(await table.scanSql(snapshot));
  }
  const connection = await engine.connect();
  try {
    const sql = feedbackSql(relations[0], relations[1], options);
    await unreadable(paths[0], tableVersions[paths[0]], () => connection.run(sql.events));
    await unreadable(paths[1], tableVersions[paths[1]], () => connection.run(sql.posts));
    await connection.run(sql.pairs);
    const counts = new Map<string, number>();
    const read = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
    for (const row of await read(`SELECT kind, count(*)::DOUBLE AS n FROM recs_pairs GROUP BY kind`))
      counts.set(String(row.kind), Number(row.n));
    const [events] = await read(
      `SELECT count(*) FILTER (WHERE copy = 1)::DOUBLE AS events, count(*) FILTER (WHERE copy > 1)::DOUBLE AS duplicates FROM recs_events`,
    );
    const builder = new InteractionsBuilder();
    const result = await connection.stream(
      `SELECT user_id, post_id, net, at_ms FROM recs_pairs WHERE kind = 'positive' ORDER BY at_ms, user_id, post_id`,
    );
    for await (const rows of result.yieldRowObjectJs()) {
      for (const row of rows) builder.add(String(row.user_id), String(row.post_id), Number(row.net), Number(row.at_ms) / 1000);
    }
    const interactions = builder.build();
    const attributes: ItemAttributes = { tag: {}, author_id: {} };
    const posts = await read(
      `SELECT post_id, author_id, tags FROM recs_posts WHERE post_id IN (SELECT post_id FROM recs_pairs WHERE kind = 'positive')`,
    );
    for (const post of posts) {
      const id = String(post.post_id);
      if (post.author_id !== null && post.author_id !== undefined) attributes.author_id[id] = [String(post.author_id)];
      const tags = parseTags(post.tags);
      if (tags.length > 0) attributes.tag[id] = tags;
    }
    return {
      interactions,
      attributes,
      tableVersions,
      stats: {
        events: Number(events.events),
        duplicates: Number(events.duplicates),
        pairs: [...counts.values()].reduce((a, b) => a + b, 0),
        negative: counts.get('negative') ?? 0,
        removed: counts.get('removed') ?? 0,
        unknown: counts.get('unknown') ?? 0,
        positives: interactions.users.length,
        users: interactions.userIds.size,
        items: interactions.itemIds.size,
      },
    };
  } finally {
    connection.closeSync();
  }
}

/** Fails with NoTrainingDataError when the positives are fewer than the minimums. */
export function requireEnoughData(stats: LakeReadStats, minimum: { interactions: number; users: number }): void {
  if (stats.positives >= minimum.interactions && stats.users >= minimum.users) return;
  throw new NoTrainingDataError(
    `too little data to train on: ${stats.positives} interactions of ${stats.users} users ` +
      `(at least ${minimum.interactions} interactions and ${minimum.users} users are required: --min-interactions, --min-users)`,
  );
}

/** Parses `path=version,...` (the table versions to read, as a version's tableVersions lists them). */
export function parseAsOf(text: string): Map<string, number> {
  const versions = new Map<string, number>();
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([^=\s]+)=(\d+)$/.exec(entry);
    if (!match) throw new Error(`--as-of: "${entry}" is not table-path=version`);
    versions.set(match[1].replace(/\/+$/, ''), Number(match[2]));
  }
  return versions;
}

/** A post's tags from the JSON text of its `tags` column: non-empty strings of at most 64 characters, as the catalogue keeps them. */
function parseTags(text: unknown): string[] {
  if (typeof text !== 'string') return [];
  try {
    const tags: unknown = JSON.parse(text);
    return Array.isArray(tags) ? tags.map(String).filter((t) => t.length > 0 && t.length <= 64) : [];
  } catch {
    return [];
  }
}

/** Runs `read`, naming the table and version when it fails (a missing data file, a corrupt log). */
async function unreadable<T>(path: string, version: number, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new Error(`could not read ${path} at version ${version}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
