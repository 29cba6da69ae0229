import { recsV1 } from '@pulse/contracts';
import { grpcClient, type UnaryClient } from '@pulse/platform';
import { issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type RunningApp } from '../src/app.factory';
import { main as recs } from '../src/cli/recs-cli';
import { ModelRegistry } from '../src/registry/model-registry';
import { syntheticMoviesCsv, writeSyntheticRatings } from '../src/testing/synthetic';

const { Strategy } = recsV1;

// Its own models directory, Redis prefix and consumer groups: nothing is shared with other runs.
const dir = mkdtempSync(join(tmpdir(), 'recs-zoo-int-'));
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const modelsDir = join(dir, 'models');
const ratings = writeSyntheticRatings(join(dir, 'ratings.csv'), { users: 120, items: 240, clusters: 6, perUser: 20 });
const movies = join(dir, 'movies.csv');
writeFileSync(movies, syntheticMoviesCsv({ items: 240, clusters: 6 }));

/** Each new model with small settings: a few epochs on the synthetic file. */
const MODELS: Record<string, string[]> = {
  ease: ['--l2', '20'],
  ials: ['--factors', '16', '--epochs', '4'],
  bpr: ['--factors', '16', '--epochs', '40'],
  content: ['--item-text', movies],
  hybrid: ['--item-text', movies, '--factors', '16', '--epochs', '6', '--batch-size', '256', '--lr', '0.01'],
  sasrec: ['--factors', '32', '--epochs', '60', '--max-len', '10', '--batch-size', '32', '--lr', '0.005'],
  ensemble: ['--members', 'itemknn,ease', '--l2', '20'],
};

const clusterOf = (itemId: string) => Math.floor(Number(itemId.slice(1)) / 40);

let running: RunningApp;
let client: UnaryClient;
let key: TestApiKey;
const versions = new Map<string, string>();

beforeAll(async () => {
  const quiet = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    for (const [model, flags] of Object.entries(MODELS))
      expect(await recs(['train', ratings, '--model', model, '--models-dir', modelsDir, ...flags])).toBe(0);
  } finally {
    quiet.mockRestore();
    out.mockRestore();
  }
  for (const record of new ModelRegistry(modelsDir).list()) versions.set(record.algorithm, record.version);
  running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    RECS_MODELS_DIR: modelsDir,
    RECS_REGISTRY_POLL: '100ms',
    RECS_REDIS_PREFIX: `pulse:recs:zoo:${run}:`,
    RECS_LIVE_GROUP: `recommender-live-zoo-${run}`,
    RECS_CATALOG_GROUP: `recommender-catalog-zoo-${run}`,
    RECS_CDC_SCHEMA: `recs_zoo_${run}`,
  });
  // An admin key: PromoteModel needs `admin`, the reads `recs:read`.
  key = await issueTestApiKey({ label: 'recommender-zoo', pgUrl: running.config.PULSE_AUTH_PG_URL });
  client = grpcClient(running.grpcAddress, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { credentials: key.key });
}, 600_000);

afterAll(async () => {
  client?.close();
  await key?.remove();
  await running?.close();
});

describe('RecsService serves every model of the zoo', () => {
  it.each(Object.keys(MODELS))(
    '%s: promoted, it serves personalised top-K from the user’s cluster, similar items and rankings',
    async (name) => {
      const version = versions.get(name) as string;
      expect(version).toBeDefined();
      const promoted = await client.call<{ model: { algorithm: string; hyperparameters: Record<string, unknown> } }>('PromoteModel', {
        version,
        reason: 'int test',
      });
      expect(promoted.model.algorithm).toBe(name);
      expect(promoted.model.hyperparameters['model']).toBe(name);
      for (const userId of ['u3', 'u10']) {
        const res = await client.call<{ strategy: number; modelVersion: string; items: { itemId: string; score: number }[] }>('Recommend', {
          userId,
          numResults: 10,
          excludeSeen: true,
        });
        expect(res.strategy).toBe(Strategy.STRATEGY_PERSONALIZED);
        expect(res.modelVersion).toBe(version);
        expect(res.items).toHaveLength(10);
        const cluster = Number(userId.slice(1)) % 6;
        expect(res.items.filter((i) => clusterOf(i.itemId) === cluster).length).toBeGreaterThanOrEqual(5);
      }
      const similar = await client.call<{ strategy: number; items: { itemId: string }[] }>('RecommendSimilar', {
        itemId: 'm41',
        numResults: 5,
      });
      expect(similar.strategy).toBe(Strategy.STRATEGY_ITEM_SIMILARITY);
      expect(similar.items.map((i) => i.itemId)).not.toContain('m41');
      const ranked = await client.call<{ items: { itemId: string }[] }>('RankItems', { userId: 'u1', itemIds: ['nope', 'm230', 'm45'] });
      expect(ranked.items.map((i) => i.itemId)[2]).toBe('nope');
    },
  );
});
