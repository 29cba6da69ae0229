import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recommenderConfigSchema } from '../config/recommender.config';
import { syntheticPlatform } from '../testing/synthetic-platform';
import { loadTf } from '../tf/tf-backend';
import { evaluateLoop, LOOP_VARIANTS, loopEvaluationTable, loopTestCases } from './loop-evaluation';

jest.setTimeout(120_000);

const DAY = 86_400_000;
const world = syntheticPlatform({ users: 48, days: 5, seed: 3 });
const splitAtMs = world.startMs + 4 * DAY;
const dir = mkdtempSync(join(tmpdir(), 'recs-loop-'));

beforeAll(async () => {
  await loadTf('auto');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the simulated platform', () => {
  it('is the same for the same seed, and has follows, tags and posts written every day', () => {
    expect(syntheticPlatform({ users: 48, days: 5, seed: 3 })).toEqual(world);
    expect(world.follows.length).toBeGreaterThanOrEqual(48 * 3);
    expect(world.posts.every((p) => p.tags?.[0]?.startsWith('topic'))).toBe(true);
    expect(world.posts.some((p) => p.atMs >= splitAtMs)).toBe(true);
    expect(world.activity.some((a) => a.type === 'HIDE')).toBe(true);
  });
});

describe('the temporal split', () => {
  it("holds out each user's post after their fresh actions, which all come after the split", () => {
    const cases = loopTestCases(world.activity, splitAtMs, 3, DAY);
    expect(cases.length).toBeGreaterThan(10);
    for (const c of cases) {
      expect(c.atMs).toBeGreaterThanOrEqual(splitAtMs);
      const before = world.activity.filter((a) => a.userId === c.userId && a.occurredAtMs < c.atMs);
      // The post to predict is new to the user; their fresh actions are what they did since the split.
      expect(before.some((a) => a.targetId === c.postId)).toBe(false);
      expect(new Set(c.fresh.filter((a) => a.type !== 'HIDE').map((a) => a.targetId)).size).toBeGreaterThanOrEqual(3);
      for (const a of c.fresh) expect(a.atMs >= splitAtMs && a.atMs < c.atMs).toBe(true);
    }
  });
});

describe('evaluateLoop', () => {
  it('trains from the lake and scores ItemPop, the model alone and the pipeline on the same test users', async () => {
    const evaluation = await evaluateLoop(world, {
      spec: { name: 'gmf' },
      settings: { epochs: 3, seed: 1 },
      splitAtMs,
      freshActions: 3,
      freshWindowMs: DAY,
      k: 10,
      workDir: dir,
      config: recommenderConfigSchema.parse({}),
      halfLifeMs: 30 * DAY,
    });
    expect(evaluation.test_users).toBe(loopTestCases(world.activity, splitAtMs, 3, DAY).length);
    expect(evaluation.training.positives).toBeGreaterThan(100);
    expect(Object.keys(evaluation.results)).toEqual([...LOOP_VARIANTS]);
    for (const variant of LOOP_VARIANTS) {
      const { hr_at_10: hr, ndcg_at_10: ndcg } = evaluation.results[variant];
      expect(hr).toBeGreaterThanOrEqual(0);
      expect(hr).toBeLessThanOrEqual(1);
      expect(ndcg).toBeGreaterThanOrEqual(0);
      expect(ndcg).toBeLessThanOrEqual(hr);
    }
    // Posts written after the split reach users only through the pipeline's other sources.
    expect(evaluation.test_posts_newer_than_model).toBeGreaterThan(0);
    expect(evaluation.results.loop.hr_at_10).toBeGreaterThan(0);
    expect(loopEvaluationTable(evaluation).split('\n')).toHaveLength(2 + LOOP_VARIANTS.length);
  });
});
