import { generateWorld } from './world.generator';
import { TOPIC_CLUSTERS } from './topic-clusters';

const size = { seed: 4, users: 120, posts: 400, historyMs: 14 * 86_400_000 };

describe('generateWorld', () => {
  it('is the same world for the same seed', () => {
    expect(generateWorld(size)).toEqual(generateWorld(size));
    expect(generateWorld({ ...size, seed: 5 }).posts[0]).not.toEqual(generateWorld(size).posts[0]);
  });

  it('keeps the people and the graph when only the number of posts changes', () => {
    const more = generateWorld({ ...size, posts: 800 });
    const world = generateWorld(size);
    expect(more.people).toEqual(world.people);
    expect(more.graph.edges).toEqual(world.graph.edges);
  });

  it('tags each post with its cluster first, then 1–3 subtopics of that cluster, and writes it in its words', () => {
    for (const post of generateWorld(size).posts) {
      const cluster = TOPIC_CLUSTERS[post.cluster];
      expect(post.tags[0]).toBe(cluster.name);
      expect(post.tags.length).toBeGreaterThanOrEqual(2);
      expect(post.tags.length).toBeLessThanOrEqual(4);
      for (const tag of post.tags.slice(1)) expect(cluster.subtopics).toContain(tag);
      expect(cluster.nouns.some((n) => post.body.includes(n)) || cluster.tips.some((t) => post.body.includes(t))).toBe(true);
      expect(post.body.length).toBeLessThanOrEqual(5000);
      expect(post.agoMs).toBeLessThanOrEqual(size.historyMs);
    }
  });

  it('gives valid, unique handles and emails like user42@sim.pulse.example', () => {
    const { people } = generateWorld(size);
    expect(new Set(people.map((p) => p.handle)).size).toBe(people.length);
    for (const p of people) expect(p.handle).toMatch(/^[a-z0-9_]{3,30}$/);
    expect(people[42].email).toBe('user42@sim.pulse.example');
  });

  it('concentrates each taste on one to three clusters', () => {
    for (const p of generateWorld(size).people) {
      const top3 = [...p.taste].sort((a, b) => b - a).slice(0, 3);
      expect(top3.reduce((s, t) => s + t, 0)).toBeGreaterThan(0.85);
      expect(p.taste.reduce((s, t) => s + t, 0)).toBeCloseTo(1, 9);
    }
  });
});
