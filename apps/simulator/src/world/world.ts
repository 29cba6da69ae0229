import { WeightedSampler } from './sampling';
import { CLUSTER_COUNT } from './topic-clusters';
import type { SeedWorld } from './world.generator';

/** A simulated user as the behaviour loop sees it: its platform id and its hidden taste and activity. */
export interface Agent {
  index: number;
  /** String(users.id). */
  userId: string;
  /** Interest per topic cluster, summing to 1; drifts slowly. */
  taste: Float64Array;
  /** Relative session frequency. */
  activity: number;
  mainCluster: number;
}

/** What the simulator knows of a post: its cluster (-1: not one of the topic clusters) and author (-1: not an agent). */
export interface PostFact {
  cluster: number;
  author: number;
}

/** Affinity assumed for a post outside the topic clusters (for example an item of another catalogue). */
export const UNKNOWN_CLUSTER_AFFINITY = 0.1;

/**
 * The facts of the posts seen last, at most `capacity` (the oldest known is forgotten first and read again from
 * PostgreSQL when a list names it), so memory stays bounded however long the simulation runs.
 */
export class PostCatalog {
  private readonly facts = new Map<string, PostFact>();

  constructor(private readonly capacity = 50_000) {}

  get size(): number {
    return this.facts.size;
  }

  get(postId: string): PostFact | undefined {
    return this.facts.get(postId);
  }

  add(postId: string, fact: PostFact): void {
    this.facts.delete(postId);
    this.facts.set(postId, fact);
    if (this.facts.size > this.capacity) {
      const oldest = this.facts.keys().next();
      if (!oldest.done) this.facts.delete(oldest.value);
    }
  }
}

/** The living world: agents, who follows whom among them, and the posts known. */
export class World {
  readonly byUserId = new Map<string, number>();
  /** Agents by main cluster (the communities). */
  readonly byCluster: number[][] = Array.from({ length: CLUSTER_COUNT }, () => []);
  /** Draws the agent of the next session, in proportion to activity. */
  readonly sessionSampler: WeightedSampler;
  /** Agents whose taste drifted since the tastes were last saved. */
  readonly driftedTastes = new Set<number>();
  private follows: number;

  constructor(
    readonly seed: number,
    readonly agents: readonly Agent[],
    readonly following: readonly Set<number>[],
    readonly posts: PostCatalog,
    /** Posts of the world known in PostgreSQL (seeded or created). */
    public postCount: number,
  ) {
    for (const a of agents) {
      this.byUserId.set(a.userId, a.index);
      this.byCluster[a.mainCluster].push(a.index);
    }
    this.sessionSampler = new WeightedSampler(agents.map((a) => a.activity));
    this.follows = following.reduce((n, s) => n + s.size, 0);
  }

  /** The seed world once written: user ids by person index, post ids by seed post index. */
  static fromSeed(seed: SeedWorld, userIds: readonly string[], postIds: readonly string[], capacity?: number): World {
    const agents = seed.people.map((p) => ({
      index: p.index,
      userId: userIds[p.index],
      taste: Float64Array.from(p.taste),
      activity: p.activity,
      mainCluster: p.mainCluster,
    }));
    const posts = new PostCatalog(capacity);
    seed.posts.forEach((p, i) => posts.add(postIds[i], { cluster: p.cluster, author: p.author }));
    return new World(
      seed.seed,
      agents,
      seed.graph.following.map((s) => new Set(s)),
      posts,
      seed.posts.length,
    );
  }

  get followCount(): number {
    return this.follows;
  }

  /** How much an agent cares for a cluster, 0..1 (1 for its favourite). */
  affinity(agent: number, cluster: number): number {
    if (cluster < 0) return UNKNOWN_CLUSTER_AFFINITY;
    const taste = this.agents[agent].taste;
    let max = 0;
    for (const t of taste) max = Math.max(max, t);
    return max > 0 ? taste[cluster] / max : 0;
  }

  addFollow(follower: number, followee: number): void {
    if (!this.following[follower].has(followee)) this.follows++;
    this.following[follower].add(followee);
  }

  removeFollow(follower: number, followee: number): void {
    if (this.following[follower].delete(followee)) this.follows--;
  }
}
