import { Rng } from '@pulse/platform';
import { drawIndex, logNormal } from '../world/sampling';
import { commentBody, postBody, type PostTopic, postTopic } from '../world/text.generator';
import { CLUSTER_COUNT } from '../world/topic-clusters';
import type { World } from '../world/world';

/** The knobs of the behaviour; DEFAULT_BEHAVIOUR is what the simulator runs. */
export interface BehaviourParams {
  /** Chance that a session starts with the user publishing a post. */
  post: number;
  /** Chance that a new post carries an image (when media uploads are on). */
  media: number;
  /** Chance that a session includes following someone new, and unfollowing someone. */
  follow: number;
  unfollow: number;
  /** Click probability of a fully examined item: base + scale · affinity². */
  clickBase: number;
  clickScale: number;
  /** How fast attention falls with the position: examined = 0.95 / (1 + decay · (position − 1)). */
  positionDecay: number;
  /** Spread of the per-item multiplicative noise (log scale). */
  noise: number;
  /** After a click, base + scale · affinity. */
  like: [number, number];
  comment: [number, number];
  share: [number, number];
  bookmark: [number, number];
  followAuthor: [number, number];
  /** Items below this affinity may be hidden, at most with `hide` for an examined item of no affinity. */
  hideBelow: number;
  hide: number;
  /** Chance that hiding an item also blocks its author. */
  blockOnHide: number;
  /** Taste moved toward a clicked cluster (doubled for a like), and toward a random cluster now and then. */
  drift: number;
  wander: number;
}

export const DEFAULT_BEHAVIOUR: BehaviourParams = {
  post: 0.08,
  media: 0.25,
  follow: 0.04,
  unfollow: 0.01,
  clickBase: 0.03,
  clickScale: 0.45,
  positionDecay: 0.12,
  noise: 0.3,
  like: [0.15, 0.45],
  comment: [0.02, 0.12],
  share: [0.01, 0.08],
  bookmark: [0.02, 0.1],
  followAuthor: [0.01, 0.08],
  hideBelow: 0.2,
  hide: 0.12,
  blockOnHide: 0.05,
  drift: 0.004,
  wander: 0.02,
};

/** One session: who, with its own random stream, and what they do besides reading the feed. */
export interface SessionPlan {
  agent: number;
  rng: Rng;
  post?: { topic: PostTopic; body: string; withMedia: boolean };
  /** Agent index to follow / unfollow. */
  follow?: number;
  unfollow?: number;
}

/** An item shown in a feed, 1-based position. */
export interface FeedItem {
  postId: string;
  cluster: number;
  /** Agent index of the author; -1 when not an agent. */
  author: number;
  position: number;
}

/** What the user did with one shown item (the impression is implied). */
export interface Reaction {
  item: FeedItem;
  /** Set when the user opened the item: how long they stayed. */
  dwellMs?: number;
  like: boolean;
  /** The comment's text when the user commented. */
  comment?: string;
  share: boolean;
  bookmark: boolean;
  hide: boolean;
  followAuthor: boolean;
  /** Blocks the author (after hiding their item). */
  blockAuthor: boolean;
}

/**
 * How the simulated users behave, deterministic from a seed: the main stream decides who has the next session and
 * what they plan; each session draws its reactions from a sub-stream forked at its start, so sessions running
 * concurrently do not disturb each other's draws. Given the same seed, world and feeds, the same sessions and
 * reactions follow.
 */
export class BehaviourModel {
  private readonly rng: Rng;

  constructor(
    private readonly world: World,
    seed: number,
    private readonly params: BehaviourParams = DEFAULT_BEHAVIOUR,
  ) {
    this.rng = new Rng(seed);
  }

  startSession(options: { media: boolean }): SessionPlan {
    const rng = this.rng;
    const agent = this.world.sessionSampler.draw(rng);
    const plan: SessionPlan = { agent, rng: rng.fork() };
    const taste = this.world.agents[agent].taste;
    if (rng.chance(this.params.post)) {
      const topic = postTopic(rng, drawIndex(rng, taste));
      plan.post = { topic, body: postBody(rng, topic), withMedia: options.media && rng.chance(this.params.media) };
    }
    if (rng.chance(this.params.follow)) plan.follow = this.someoneToFollow(rng, agent);
    if (rng.chance(this.params.unfollow)) plan.unfollow = this.someoneToUnfollow(rng, agent);
    return plan;
  }

  /** The user's reactions to a feed, item by item in position order; items without any action are left out. */
  react(plan: SessionPlan, items: readonly FeedItem[]): Reaction[] {
    const p = this.params;
    const rng = plan.rng;
    const reactions: Reaction[] = [];
    for (const item of items) {
      const a = this.world.affinity(plan.agent, item.cluster);
      const examined = 0.95 / (1 + p.positionDecay * (item.position - 1));
      const noise = Math.exp(p.noise * rng.normal());
      const own = item.author === plan.agent;
      const reaction: Reaction = {
        item,
        like: false,
        share: false,
        bookmark: false,
        hide: false,
        followAuthor: false,
        blockAuthor: false,
      };
      if (!own && rng.chance(examined * (p.clickBase + p.clickScale * a * a) * noise)) {
        reaction.dwellMs = Math.round(1500 + 25_000 * a * logNormal(rng, 0, 0.5));
        reaction.like = rng.chance(p.like[0] + p.like[1] * a);
        if (item.cluster >= 0 && rng.chance(p.comment[0] + p.comment[1] * a)) reaction.comment = commentBody(rng, item.cluster);
        reaction.share = rng.chance(p.share[0] + p.share[1] * a);
        reaction.bookmark = rng.chance(p.bookmark[0] + p.bookmark[1] * a);
        reaction.followAuthor =
          item.author >= 0 && !this.world.following[plan.agent].has(item.author) && rng.chance(p.followAuthor[0] + p.followAuthor[1] * a);
        reactions.push(reaction);
      } else if (!own && a < p.hideBelow && rng.chance(examined * p.hide * (1 - a / p.hideBelow))) {
        reaction.hide = true;
        reaction.blockAuthor = item.author >= 0 && rng.chance(p.blockOnHide);
        reactions.push(reaction);
      }
    }
    return reactions;
  }

  /**
   * Tastes drift: toward the clusters the user opened (twice as much for a like), away from hidden ones, and
   * now and then toward a cluster at random (a new interest).
   */
  drift(plan: SessionPlan, reactions: readonly Reaction[]): void {
    const p = this.params;
    const taste = this.world.agents[plan.agent].taste;
    let moved = false;
    for (const r of reactions) {
      if (r.item.cluster < 0) continue;
      const step = r.hide ? -p.drift : r.like ? 2 * p.drift : p.drift;
      taste[r.item.cluster] = Math.max(0.0005, taste[r.item.cluster] + step);
      moved = true;
    }
    if (plan.rng.chance(p.wander)) {
      taste[plan.rng.int(CLUSTER_COUNT)] += p.drift;
      moved = true;
    }
    if (!moved) return;
    const sum = taste.reduce((s, t) => s + t, 0);
    for (let c = 0; c < taste.length; c++) taste[c] /= sum;
    this.world.driftedTastes.add(plan.agent);
  }

  /** A friend of a friend, or else someone of a cluster the user likes; undefined when nobody new is found. */
  private someoneToFollow(rng: Rng, agent: number): number | undefined {
    const following = this.world.following[agent];
    for (let tries = 0; tries < 5; tries++) {
      let candidate: number | undefined;
      if (following.size > 0 && rng.chance(0.5)) {
        const friend = nth(following, rng.int(following.size));
        const theirs = this.world.following[friend];
        if (theirs.size > 0) candidate = nth(theirs, rng.int(theirs.size));
      } else {
        const community = this.world.byCluster[drawIndex(rng, this.world.agents[agent].taste)];
        if (community.length > 0) candidate = rng.pick(community);
      }
      if (candidate !== undefined && candidate !== agent && !following.has(candidate)) return candidate;
    }
    return undefined;
  }

  /** Of a few followees, the one whose main cluster the user cares least for. */
  private someoneToUnfollow(rng: Rng, agent: number): number | undefined {
    const following = this.world.following[agent];
    if (following.size === 0) return undefined;
    let worst: number | undefined;
    let worstAffinity = Infinity;
    for (let i = 0; i < 3; i++) {
      const candidate = nth(following, rng.int(following.size));
      const a = this.world.affinity(agent, this.world.agents[candidate].mainCluster);
      if (a < worstAffinity) [worst, worstAffinity] = [candidate, a];
    }
    return worst;
  }
}

function nth(set: ReadonlySet<number>, n: number): number {
  let i = 0;
  for (const v of set) if (i++ === n) return v;
  throw new Error(`no element ${n} in a set of ${set.size}`);
}
