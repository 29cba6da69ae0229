import type { Rng } from '@pulse/platform';
import { drawIndex } from './sampling';
import { CLUSTER_COUNT } from './topic-clusters';

/** What the graph generator needs to know of a person. */
export interface GraphMember {
  taste: readonly number[];
  mainCluster: number;
  activity: number;
}

export interface FollowGraphOptions {
  /** Share of follows drawn inside one of the follower's clusters (the rest from everyone). */
  withinCommunity: number;
  /** Chance that a followed user follows back. */
  followBack: number;
  /** Most follows one user makes when joining. */
  maxFollows: number;
}

export const DEFAULT_FOLLOW_GRAPH: FollowGraphOptions = { withinCommunity: 0.8, followBack: 0.15, maxFollows: 60 };

/** A directed follow graph over member indexes. */
export interface FollowGraph {
  /** `[follower, followee]` pairs, each once. */
  edges: [number, number][];
  /** Followees of each member. */
  following: Set<number>[];
}

/**
 * Preferential attachment with communities: members join in index order and follow members who joined before,
 * each draw mostly inside a cluster of the newcomer's taste (a community: members whose main cluster it is),
 * sometimes across all; within the pool a member is drawn in proportion to its followers + 1 (an urn holding each
 * member once plus once per follower), so early and popular members gather followers and in-degrees are
 * heavy-tailed. Active members follow more; some follows are returned.
 */
export function generateFollowGraph(rng: Rng, members: readonly GraphMember[], options = DEFAULT_FOLLOW_GRAPH): FollowGraph {
  const following = members.map(() => new Set<number>());
  const edges: [number, number][] = [];
  const everyone: number[] = [];
  const communities: number[][] = Array.from({ length: CLUSTER_COUNT }, () => []);
  const attach = (member: number) => {
    everyone.push(member);
    communities[members[member].mainCluster].push(member);
  };
  const follow = (follower: number, followee: number) => {
    following[follower].add(followee);
    edges.push([follower, followee]);
    attach(followee);
  };
  for (let u = 0; u < members.length; u++) {
    const wanted = Math.min(u, options.maxFollows, 3 + rng.int(6) + Math.round(2 * members[u].activity));
    for (let made = 0, tries = 0; made < wanted && tries < wanted * 10; tries++) {
      const pool = rng.chance(options.withinCommunity) ? communities[drawIndex(rng, members[u].taste)] : everyone;
      if (pool.length === 0) continue;
      const v = rng.pick(pool);
      if (v === u || following[u].has(v)) continue;
      follow(u, v);
      made++;
    }
    attach(u);
  }
  for (const [follower, followee] of edges.slice()) {
    if (!following[followee].has(follower) && rng.chance(options.followBack)) follow(followee, follower);
  }
  return { edges, following };
}
