import { Rng } from '@pulse/platform';
import { generateFollowGraph } from './follow-graph.generator';
import { generatePeople } from './people.generator';

const people = generatePeople(new Rng(11), 500);
const graph = generateFollowGraph(new Rng(12), people);

function inDegrees(): number[] {
  const degrees = new Array<number>(people.length).fill(0);
  for (const [, followee] of graph.edges) degrees[followee]++;
  return degrees;
}

describe('generateFollowGraph', () => {
  it('makes every follow once, never of oneself', () => {
    const keys = graph.edges.map(([a, b]) => `${a}>${b}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(graph.edges.every(([a, b]) => a !== b)).toBe(true);
    expect(graph.edges.length).toBeGreaterThan(people.length * 5);
  });

  it('gives a heavy-tailed follower distribution: a few users hold many of the follows', () => {
    const sorted = inDegrees().sort((a, b) => b - a);
    const median = sorted[Math.floor(sorted.length / 2)];
    const top10 = sorted.slice(0, sorted.length / 10).reduce((s, d) => s + d, 0);
    expect(sorted[0]).toBeGreaterThan(8 * Math.max(1, median));
    expect(top10 / graph.edges.length).toBeGreaterThan(0.35);
  });

  it('keeps most follows inside the follower’s clusters (communities), some across', () => {
    const topClusters = (taste: number[]) =>
      taste
        .map((t, c) => [t, c])
        .sort((a, b) => b[0] - a[0])
        .slice(0, 3)
        .map(([, c]) => c);
    const within = graph.edges.filter(([f, e]) => topClusters(people[f].taste).includes(people[e].mainCluster)).length;
    const share = within / graph.edges.length;
    // Random follows would land in one of the follower's three clusters about a quarter of the time.
    expect(share).toBeGreaterThan(0.6);
    expect(share).toBeLessThan(0.97);
  });

  it('is the same graph for the same seed', () => {
    expect(generateFollowGraph(new Rng(12), people).edges).toEqual(graph.edges);
    expect(generateFollowGraph(new Rng(13), people).edges).not.toEqual(graph.edges);
  });
});
