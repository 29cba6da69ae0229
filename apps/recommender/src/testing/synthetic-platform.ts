import { Rng } from '@pulse/platform';
import type { LakeActivity, LakePostChange } from './synthetic-lake';

const DAY_MS = 86_400_000;

/** One edge of the follow graph as storage keeps it. */
export interface SyntheticFollow {
  followerId: string;
  followeeId: string;
  atMs: number;
}

/** A simulated platform over time: posts written day after day, who follows whom, and what users did. */
export interface SyntheticPlatform {
  /** Post creations (op `c`), oldest first. */
  posts: LakePostChange[];
  follows: SyntheticFollow[];
  /** Every event, oldest first. */
  activity: LakeActivity[];
  startMs: number;
  endMs: number;
}

export interface SyntheticPlatformOptions {
  /** Users who read (ids 1…users), in taste clusters u mod clusters. */
  users?: number;
  clusters?: number;
  /** Accounts who write, each in one cluster (ids from 10001); their posts carry the cluster's tag. */
  authorsPerCluster?: number;
  days?: number;
  postsPerAuthorPerDay?: number;
  /** Share of users who join on a later day than the first. */
  lateJoiners?: number;
  seed?: number;
  startMs?: number;
}

/**
 * A platform whose activity has the structure the loop is built for: users of a taste cluster follow a few of
 * its authors (and one outside it) and mostly read the last week's posts of the accounts they follow or of their
 * cluster, sometimes any recent post or one of the platform's evergreen hits (posts of high appeal, however old),
 * now and then hiding an off-topic post.
 * New posts arrive every day, so a model trained up to some day has not seen what is read after it. Each user has
 * one or two sessions on most days from the day they join, a few posts a minute or two apart; a view is often
 * followed by a like (more often for an appealing post). Deterministic in `seed`.
 */
export function syntheticPlatform(options: SyntheticPlatformOptions = {}): SyntheticPlatform {
  const users = options.users ?? 300;
  const clusters = options.clusters ?? 6;
  const authorsPerCluster = options.authorsPerCluster ?? 5;
  const days = options.days ?? 14;
  const perDay = options.postsPerAuthorPerDay ?? 2;
  const lateJoiners = options.lateJoiners ?? 0.25;
  const start = options.startMs ?? Date.UTC(2024, 5, 1);
  const rng = new Rng(options.seed ?? 17);

  const authors = Array.from({ length: clusters * authorsPerCluster }, (_, a) => ({
    id: String(10_001 + a),
    cluster: Math.floor(a / authorsPerCluster),
  }));
  const drafts: { authorId: string; cluster: number; atMs: number; appeal: number }[] = [];
  // Posts of the day before the first one give the first sessions something to read.
  for (let d = -1; d < days; d++)
    for (const author of authors)
      for (let n = 0; n < perDay; n++)
        drafts.push({ authorId: author.id, cluster: author.cluster, atMs: start + d * DAY_MS + rng.int(DAY_MS), appeal: rng.next() ** 3 });
  drafts.sort((a, b) => a.atMs - b.atMs);
  const catalogue = drafts.map((p, i) => ({ ...p, id: String(1001 + i) }));
  const posts: LakePostChange[] = catalogue.map((p, i) => ({
    op: 'c',
    id: p.id,
    authorId: p.authorId,
    tags: [`topic${p.cluster}`],
    atMs: p.atMs,
    lsn: 100 + i,
  }));

  const follows: SyntheticFollow[] = [];
  const sessions: { user: number; atMs: number }[] = [];
  const followed: Set<string>[] = [];
  for (let u = 0; u < users; u++) {
    const cluster = u % clusters;
    const joinDay = rng.chance(lateJoiners) ? 1 + rng.int(Math.max(1, days - 1)) : 0;
    const joinedAt = start + joinDay * DAY_MS;
    const own = authors.filter((a) => a.cluster === cluster);
    const mine = new Set<string>();
    while (mine.size < Math.min(3, own.length)) mine.add(rng.pick(own).id);
    const other = authors.filter((a) => a.cluster !== cluster);
    if (other.length > 0) mine.add(rng.pick(other).id);
    followed.push(mine);
    for (const followeeId of mine) follows.push({ followerId: String(1 + u), followeeId, atMs: joinedAt });
    for (let d = joinDay; d < days; d++) {
      if (!rng.chance(0.75)) continue;
      const count = rng.chance(0.3) ? 2 : 1;
      for (let s = 0; s < count; s++) sessions.push({ user: u, atMs: start + d * DAY_MS + rng.int(DAY_MS - 3_600_000) });
    }
  }
  sessions.sort((a, b) => a.atMs - b.atMs || a.user - b.user);

  const seen: Set<string>[] = Array.from({ length: users }, () => new Set());
  const activity: LakeActivity[] = [];
  let first = 0; // catalogue[first..] are the posts of the last week
  for (const session of sessions) {
    const u = session.user;
    const userId = String(1 + u);
    const cluster = u % clusters;
    let t = session.atMs;
    const reads = 3 + rng.int(6);
    for (let r = 0; r < reads; r++) {
      while (first < catalogue.length && catalogue[first].atMs < t - 7 * DAY_MS) first++;
      const roll = rng.next();
      const pool: typeof catalogue = [];
      // 40 %: followed accounts' posts, 35 %: the cluster's, 15 %: anything recent; 10 %: the platform's
      // evergreen hits, however old (the most appealing posts).
      const from = roll < 0.9 ? first : 0;
      for (let i = from; i < catalogue.length && catalogue[i].atMs <= t; i++) {
        const p = catalogue[i];
        if (seen[u].has(p.id)) continue;
        if (roll < 0.4 ? followed[u].has(p.authorId) : roll < 0.75 ? p.cluster === cluster : roll < 0.9 || p.appeal > 0.5) pool.push(p);
      }
      if (pool.length === 0) continue;
      // Recent and appealing posts first: weight = appeal (plus a floor) halved every two days of age; hits by appeal alone.
      const weights = pool.map((p) => (roll < 0.9 ? (0.05 + p.appeal) * 0.5 ** ((t - p.atMs) / (2 * DAY_MS)) : p.appeal));
      let x = rng.next() * weights.reduce((a, b) => a + b, 0);
      let pick = 0;
      while (pick < pool.length - 1 && (x -= weights[pick]) > 0) pick++;
      const post = pool[pick];
      seen[u].add(post.id);
      const n = activity.length;
      activity.push({ eventId: `ev-${userId}-${n}`, userId, type: 'VIEW', targetId: post.id, occurredAtMs: t });
      if (post.cluster !== cluster && !followed[u].has(post.authorId) && rng.chance(0.15))
        activity.push({ eventId: `ev-${userId}-${n}-h`, userId, type: 'HIDE', targetId: post.id, occurredAtMs: t + 4_000 });
      else if (rng.chance(0.25 + 0.5 * post.appeal))
        activity.push({ eventId: `ev-${userId}-${n}-l`, userId, type: 'LIKE', targetId: post.id, occurredAtMs: t + 5_000 });
      t += 60_000 + rng.int(60_000);
    }
  }
  activity.sort((a, b) => a.occurredAtMs - b.occurredAtMs);
  return { posts, follows, activity, startMs: start, endMs: start + days * DAY_MS };
}
