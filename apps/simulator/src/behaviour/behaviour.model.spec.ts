import { Rng } from '@pulse/platform';
import { generateWorld } from '../world/world.generator';
import { World } from '../world/world';
import { BehaviourModel, type FeedItem, type SessionPlan } from './behaviour.model';

const SIZE = { users: 200, posts: 600, historyMs: 7 * 86_400_000 };

function world(seed: number): World {
  const seedWorld = generateWorld({ seed, ...SIZE });
  return World.fromSeed(
    seedWorld,
    seedWorld.people.map((p) => `u${p.index}`),
    seedWorld.posts.map((_, i) => `p${i}`),
  );
}

/** A feed that depends only on the session number, the way a recommender that ignores the simulator would answer. */
function feed(w: World, session: number): FeedItem[] {
  return Array.from({ length: 20 }, (_, i) => {
    const postId = `p${(session * 7 + i * 31) % SIZE.posts}`;
    const fact = w.posts.get(postId)!;
    return { postId, cluster: fact.cluster, author: fact.author, position: i + 1 };
  });
}

/** Everything the model decided over `sessions` sessions, as plain data. */
function transcript(seed: number, sessions: number): unknown[] {
  const w = world(7);
  const model = new BehaviourModel(w, seed);
  const out: unknown[] = [];
  for (let s = 0; s < sessions; s++) {
    const plan = model.startSession({ media: true });
    const reactions = model.react(plan, feed(w, s));
    model.drift(plan, reactions);
    out.push({ ...plan, rng: undefined, reactions: reactions.map((r) => ({ ...r, item: r.item.postId })) });
  }
  return out;
}

/** Clicks and hides per cluster when one agent is shown `a` and `b` items in turn, `sessions` times. */
function engagement(w: World, agent: number, a: number, b: number, sessions: number) {
  const model = new BehaviourModel(w, 1);
  const counts = { [a]: { shown: 0, clicks: 0, likes: 0, hides: 0 }, [b]: { shown: 0, clicks: 0, likes: 0, hides: 0 } };
  for (let s = 0; s < sessions; s++) {
    const plan: SessionPlan = { agent, rng: new Rng(1000 + s) };
    const items = Array.from({ length: 20 }, (_, i) => ({ postId: `x${i}`, cluster: i % 2 ? b : a, author: -1, position: i + 1 }));
    for (const item of items) counts[item.cluster].shown++;
    for (const r of model.react(plan, items)) {
      const c = counts[r.item.cluster];
      if (r.dwellMs !== undefined) c.clicks++;
      if (r.like) c.likes++;
      if (r.hide) c.hides++;
    }
  }
  return counts;
}

describe('BehaviourModel', () => {
  it('makes the same sessions and reactions from the same seed, other ones from another seed', () => {
    const first = transcript(99, 300);
    expect(transcript(99, 300)).toEqual(first);
    expect(transcript(100, 300)).not.toEqual(first);
    expect(JSON.stringify(first)).toContain('"like":true');
  });

  it('engages far more with a cluster the user likes than with one they do not, and hides only the latter', () => {
    const w = world(3);
    const agent = 5;
    const taste = w.agents[agent].taste;
    const liked = w.agents[agent].mainCluster;
    const disliked = taste.indexOf(Math.min(...taste));
    const counts = engagement(w, agent, liked, disliked, 2000);
    const clickRate = (c: { shown: number; clicks: number }) => c.clicks / c.shown;
    expect(clickRate(counts[liked])).toBeGreaterThan(5 * clickRate(counts[disliked]));
    expect(counts[liked].likes).toBeGreaterThan(10 * Math.max(1, counts[disliked].likes));
    expect(counts[disliked].hides).toBeGreaterThan(100);
    expect(counts[liked].hides).toBe(0);
  });

  it('now and then blocks the author of an item it hides, and only then', () => {
    const w = world(3);
    const agent = 5;
    const disliked = w.agents[agent].taste.indexOf(Math.min(...w.agents[agent].taste));
    const model = new BehaviourModel(w, 1);
    let hides = 0;
    let blocks = 0;
    for (let s = 0; s < 3000; s++) {
      const items = Array.from({ length: 20 }, (_, i) => ({ postId: `x${i}`, cluster: disliked, author: i % 2 ? 7 : -1, position: i + 1 }));
      for (const r of model.react({ agent, rng: new Rng(5000 + s) }, items)) {
        if (r.hide && r.item.author >= 0) hides++;
        if (r.blockAuthor) {
          blocks++;
          expect(r.hide).toBe(true);
          expect(r.item.author).toBe(7);
        }
      }
    }
    expect(hides).toBeGreaterThan(1000);
    expect(blocks / hides).toBeGreaterThan(0.03);
    expect(blocks / hides).toBeLessThan(0.07);
  });

  it('engages more with items higher in the list (position bias)', () => {
    const w = world(3);
    const agent = 8;
    const cluster = w.agents[agent].mainCluster;
    const model = new BehaviourModel(w, 1);
    const clicks = new Array<number>(21).fill(0);
    for (let s = 0; s < 2000; s++) {
      const items = Array.from({ length: 20 }, (_, i) => ({ postId: `x${i}`, cluster, author: -1, position: i + 1 }));
      for (const r of model.react({ agent, rng: new Rng(s) }, items)) if (r.dwellMs !== undefined) clicks[r.item.position]++;
    }
    expect(clicks[1]).toBeGreaterThan(2 * clicks[20]);
  });

  it('drifts a taste toward what the user keeps opening', () => {
    const w = world(3);
    const agent = 2;
    const taste = w.agents[agent].taste;
    const cluster = taste.indexOf(Math.min(...taste));
    const before = taste[cluster];
    const model = new BehaviourModel(w, 1);
    const item = { postId: 'x', cluster, author: -1, position: 1 };
    for (let s = 0; s < 200; s++)
      model.drift({ agent, rng: new Rng(s) }, [
        { item, dwellMs: 1000, like: true, share: false, bookmark: false, hide: false, followAuthor: false, blockAuthor: false },
      ]);
    expect(taste[cluster]).toBeGreaterThan(before + 0.2);
    expect(taste.reduce((s, t) => s + t, 0)).toBeCloseTo(1, 9);
    expect(w.driftedTastes.has(agent)).toBe(true);
  });

  it('picks active users more often and plans posts in the clusters they like', () => {
    const w = world(3);
    const model = new BehaviourModel(w, 5);
    const sessions = new Array<number>(w.agents.length).fill(0);
    let posts = 0;
    let inTaste = 0;
    for (let s = 0; s < 20_000; s++) {
      const plan = model.startSession({ media: false });
      sessions[plan.agent]++;
      if (plan.post) {
        posts++;
        if (w.affinity(plan.agent, plan.post.topic.cluster) > 0.2) inTaste++;
        expect(plan.post.withMedia).toBe(false);
      }
    }
    const byActivity = w.agents.map((a) => a.index).sort((x, y) => w.agents[y].activity - w.agents[x].activity);
    const top = byActivity.slice(0, 20).reduce((s, i) => s + sessions[i], 0);
    const bottom = byActivity.slice(-20).reduce((s, i) => s + sessions[i], 0);
    expect(top).toBeGreaterThan(3 * bottom);
    expect(inTaste / posts).toBeGreaterThan(0.85);
  });
});
