import { status } from '@grpc/grpc-js';
import { recsV1 } from '@pulse/contracts';
import { decodeFieldViolations, grpcClient, type UnaryClient } from '@pulse/platform';
import { eventually, issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type RunningApp } from '../src/app.factory';
import { main as recs } from '../src/cli/recs-cli';
import { ModelRegistry } from '../src/registry/model-registry';
import { syntheticMoviesCsv, writeSyntheticRatings } from '../src/testing/synthetic';

const { Strategy } = recsV1;

// Each run has its own models directory, Redis prefix and consumer groups.
const dir = mkdtempSync(join(tmpdir(), 'recs-int-'));
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const modelsDir = join(dir, 'models');
const ratings = writeSyntheticRatings(join(dir, 'ratings.csv'), { users: 120, items: 240, clusters: 6, perUser: 20 });
const movies = join(dir, 'movies.csv');
writeFileSync(movies, syntheticMoviesCsv({ items: 240, clusters: 6 }));
let running: RunningApp;
let client: UnaryClient;
let key: TestApiKey;
let gmfVersion: string;
let popVersion: string;

const call = <T = any>(method: string, request: unknown) => client.call<T>(method, request);
const fail = (method: string, request: unknown) =>
  client.call(method, request).then(
    () => undefined,
    (e: { code: number; details: string; metadata: unknown }) => e,
  );

/** Training rows of a user from the synthetic file's generator: cluster = user number mod 6, 40 items each. */
const clusterOf = (itemId: string) => Math.floor(Number(itemId.slice(1)) / 40);

beforeAll(async () => {
  // Train two models with the command line, as an operator would.
  const quiet = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    expect(
      await recs([
        'train',
        ratings,
        '--model',
        'gmf',
        '--models-dir',
        modelsDir,
        '--item-metadata',
        movies,
        '--epochs',
        '6',
        '--lr',
        '0.01',
        '--batch-size',
        '128',
      ]),
    ).toBe(0);
    expect(await recs(['train', ratings, '--model', 'itempop', '--models-dir', modelsDir])).toBe(0);
  } finally {
    quiet.mockRestore();
    out.mockRestore();
  }
  const versions = new ModelRegistry(modelsDir).list();
  gmfVersion = versions.find((v) => v.algorithm === 'gmf')?.version as string;
  popVersion = versions.find((v) => v.algorithm === 'itempop')?.version as string;
  running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    RECS_MODELS_DIR: modelsDir,
    RECS_REGISTRY_POLL: '100ms',
    // Its own live state and catalogue: nothing of other runs leaks into the lists.
    RECS_REDIS_PREFIX: `pulse:recs:t:${run}:`,
    RECS_LIVE_GROUP: `recommender-live-t-${run}`,
    RECS_CATALOG_GROUP: `recommender-catalog-t-${run}`,
    RECS_CDC_SCHEMA: `recs_t_${run}`,
  });
  key = await issueTestApiKey({ label: 'recommender', pgUrl: running.config.PULSE_AUTH_PG_URL });
  client = grpcClient(running.grpcAddress, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { credentials: key.key });
}, 120_000);

afterAll(async () => {
  client?.close();
  await key?.remove();
  await running?.close();
});

describe('RecsService', () => {
  it('answers with the popularity fallback and no version before any model is promoted', async () => {
    const res = await call('Recommend', { userId: 'u1', numResults: 5 });
    expect(res).toMatchObject({ items: [], modelVersion: '', strategy: Strategy.STRATEGY_POPULAR_FALLBACK });
    expect((await fail('GetModel', {}))?.code).toBe(status.NOT_FOUND);
  });

  it('promotes the trained model and serves personalised top-K from the user’s taste cluster, without seen items', async () => {
    const promoted = await call('PromoteModel', { version: gmfVersion, reason: 'int test' });
    expect(promoted.model).toMatchObject({ version: gmfVersion, algorithm: 'gmf', promoted: true });
    expect(promoted.model.metrics.hr_at_10).toBeGreaterThan(0.3);
    const registry = new ModelRegistry(modelsDir);
    const loaded = await registry.load(gmfVersion);
    for (const userId of ['u3', 'u10', 'u44']) {
      const res = await call('Recommend', { userId, numResults: 10, excludeSeen: true });
      expect(res.strategy).toBe(Strategy.STRATEGY_PERSONALIZED);
      expect(res.modelVersion).toBe(gmfVersion);
      expect(res.items).toHaveLength(10);
      expect(res.items.map((i: { rank: number }) => i.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const scores = res.items.map((i: { score: number }) => i.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      const u = loaded.users.get(userId) as number;
      const seen = new Set(
        Array.from(loaded.seen.items.subarray(loaded.seen.offsets[u], loaded.seen.offsets[u + 1]), (i) => loaded.items.id(i)),
      );
      for (const item of res.items) expect(seen.has(item.itemId)).toBe(false);
      const cluster = Number(userId.slice(1)) % 6;
      const inCluster = res.items.filter((i: { itemId: string }) => clusterOf(i.itemId) === cluster).length;
      expect(inCluster).toBeGreaterThanOrEqual(6);
    }
    loaded.model.dispose();
  });

  it('gives an unknown user the most popular items, never an error', async () => {
    const res = await call('Recommend', { userId: 'someone-new', numResults: 3 });
    expect(res.strategy).toBe(Strategy.STRATEGY_POPULAR_FALLBACK);
    expect(res.modelVersion).toBe(gmfVersion);
    const loaded = await new ModelRegistry(modelsDir).load(gmfVersion);
    const top = Array.from(loaded.popularity.keys())
      .sort((a, b) => loaded.popularity[b] - loaded.popularity[a] || a - b)
      .slice(0, 3);
    expect(res.items.map((i: { itemId: string }) => i.itemId)).toEqual(top.map((i) => loaded.items.id(i)));
    loaded.model.dispose();
  });

  it('refuses bad arguments with INVALID_ARGUMENT naming the field, unknown versions with NOT_FOUND', async () => {
    const cases: [string, unknown, string][] = [
      ['Recommend', { userId: '' }, 'user_id'],
      ['Recommend', { userId: 'u1', numResults: 501 }, 'num_results'],
      ['Recommend', { userId: 'x'.repeat(129) }, 'user_id'],
      ['Recommend', { userId: 'u1', filter: { include: [{ attribute: 'language', values: ['en'] }] } }, 'filter.include[0].attribute'],
      ['RecommendSimilar', { itemId: '' }, 'item_id'],
      ['RankItems', { userId: 'u1', itemIds: [] }, 'item_ids'],
      ['RankItems', { userId: 'u1', itemIds: ['m1', 'm1'] }, 'item_ids'],
      ['ListModels', { pageSize: 101 }, 'page_size'],
      // Versions that would leave the registry's versions directory.
      ['Recommend', { userId: 'u1', modelVersion: '..' }, 'model_version'],
      ['Recommend', { userId: 'u1', modelVersion: '../registry.json' }, 'model_version'],
      ['GetModel', { version: '..' }, 'version'],
      ['GetModel', { version: '/etc/passwd' }, 'version'],
      ['PromoteModel', { version: '..' }, 'version'],
      ['PromoteModel', { version: '..%2F..%2Fetc' }, 'version'],
      ['PromoteModel', { version: '.staging.tmp' }, 'version'],
    ];
    for (const [method, request, field] of cases) {
      const error = await fail(method, request);
      expect({ method, field, code: error?.code }).toEqual({ method, field, code: status.INVALID_ARGUMENT });
      expect(decodeFieldViolations(error?.metadata as never).map((v) => v.field)).toEqual([field]);
    }
    expect((await fail('Recommend', { userId: 'u1', modelVersion: 'no-such-version' }))?.code).toBe(status.NOT_FOUND);
    expect((await fail('GetModel', { version: 'no-such-version' }))?.code).toBe(status.NOT_FOUND);
    expect((await fail('PromoteModel', { version: 'no-such-version' }))?.code).toBe(status.NOT_FOUND);
  });

  it('filters candidates by item attributes: every include must match, no exclude may', async () => {
    const only = await call('Recommend', { userId: 'u3', numResults: 10, filter: { include: [{ attribute: 'genre', values: ['c1'] }] } });
    expect(only.items).toHaveLength(10);
    expect(only.items.every((i: { itemId: string }) => clusterOf(i.itemId) === 1)).toBe(true);
    const without = await call('Recommend', {
      userId: 'u3',
      numResults: 20,
      filter: { exclude: [{ attribute: 'genre', values: ['c3', 'Hit'] }] },
    });
    expect(without.items).toHaveLength(20);
    expect(without.items.some((i: { itemId: string }) => clusterOf(i.itemId) === 3 || Number(i.itemId.slice(1)) >= 230)).toBe(false);
    const both = await call('RecommendSimilar', {
      itemId: 'm41',
      numResults: 5,
      filter: { include: [{ attribute: 'year', values: ['2002'] }] },
    });
    expect(both.items).toHaveLength(5);
    expect(both.items.every((i: { itemId: string }) => clusterOf(i.itemId) === 2)).toBe(true);
    const error = await fail('Recommend', { userId: 'u3', filter: { exclude: [{ attribute: 'genre', values: [] }] } });
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeFieldViolations(error?.metadata as never).map((v) => v.field)).toEqual(['filter.exclude[0].values']);
  });

  it('serves similar items of the seed’s cluster, and ranks candidates with unknown ones last', async () => {
    const similar = await call('RecommendSimilar', { itemId: 'm41', numResults: 5 });
    expect(similar.strategy).toBe(Strategy.STRATEGY_ITEM_SIMILARITY);
    expect(similar.items.map((i: { itemId: string }) => i.itemId)).not.toContain('m41');
    expect(similar.items.filter((i: { itemId: string }) => clusterOf(i.itemId) === 1).length).toBeGreaterThanOrEqual(3);
    expect((await call('RecommendSimilar', { itemId: 'not-an-item' })).strategy).toBe(Strategy.STRATEGY_POPULAR_FALLBACK);
    const ranked = await call('RankItems', { userId: 'u0', itemIds: ['nope', 'm200', 'm1'] });
    expect(ranked.items.map((i: { itemId: string }) => i.itemId)).toEqual(['m1', 'm200', 'nope']);
    expect(ranked.items[2].score).toBe(0);
  });

  it('leaves what the user rated and the excluded ids out of similar items, and still answers as many', async () => {
    const all = await call('RecommendSimilar', { itemId: 'm41', numResults: 200 });
    const ids = all.items.map((i: { itemId: string }) => i.itemId);
    const loaded = await new ModelRegistry(modelsDir).load(all.modelVersion);
    const user = loaded.users.get('u1') as number;
    const rated = new Set(
      Array.from(loaded.seen.items.subarray(loaded.seen.offsets[user], loaded.seen.offsets[user + 1]), (i) => loaded.items.id(i)),
    );
    // u1's taste cluster is m41's: several of the nearest items are ones they rated.
    expect(ids.slice(0, 20).filter((id: string) => rated.has(id)).length).toBeGreaterThanOrEqual(3);
    const excluded = ids.filter((id: string) => !rated.has(id)).slice(0, 2);
    const filtered = await call('RecommendSimilar', {
      itemId: 'm41',
      userId: 'u1',
      excludeSeen: true,
      numResults: 10,
      filter: { excludeItemIds: excluded },
    });
    expect(filtered.items.map((i: { itemId: string }) => i.itemId)).toEqual(
      ids.filter((id: string) => !rated.has(id) && !excluded.includes(id)).slice(0, 10),
    );
    loaded.model.dispose();
  });

  it('counts lists by strategy and names the serving version in /metrics', async () => {
    await call('Recommend', { userId: 'u5' });
    await call('Recommend', { userId: 'nobody-known' });
    const text = await fetch(`${running.httpUrl}/metrics`).then((r) => r.text());
    const count = (strategy: string) =>
      Number(new RegExp(`recs_lists_total\\{[^}]*rpc="Recommend"[^}]*strategy="${strategy}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
    expect(count('STRATEGY_PERSONALIZED')).toBeGreaterThan(0);
    expect(count('STRATEGY_POPULAR_FALLBACK')).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`recs_serving_model_info\\{[^}]*version="${gmfVersion}"[^}]*\\} 1`));
  });

  it('lists versions newest first, page by page', async () => {
    const first = await call('ListModels', { pageSize: 1 });
    expect(first.models).toHaveLength(1);
    expect(first.nextPageToken).not.toBe('');
    const second = await call('ListModels', { pageSize: 1, pageToken: first.nextPageToken });
    expect([first.models[0].version, second.models[0].version].sort()).toEqual([gmfVersion, popVersion].sort());
    expect(second.nextPageToken).toBe('');
  });

  it('hot-swaps on promotion without failing requests in flight, and rolls back', async () => {
    const inFlight = Array.from({ length: 200 }, (_, n) => call('Recommend', { userId: `u${n % 120}`, numResults: 10 }));
    const promote = call('PromoteModel', { version: popVersion });
    const results = await Promise.all(inFlight);
    expect((await promote).previousVersion).toBe(gmfVersion);
    for (const r of results) expect([gmfVersion, popVersion]).toContain(r.modelVersion);
    expect((await call('Recommend', { userId: 'u3' })).modelVersion).toBe(popVersion);
    const back = await call('RollbackModel', { reason: 'int test' });
    expect(back).toMatchObject({ rolledBackVersion: popVersion, model: { version: gmfVersion } });
    expect((await call('Recommend', { userId: 'u3' })).modelVersion).toBe(gmfVersion);
    expect((await fail('RollbackModel', {}))?.code).toBe(status.FAILED_PRECONDITION);
  });

  it('another replica on the same registry follows a promotion by itself', async () => {
    const replica = await createApp({
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      RECS_MODELS_DIR: modelsDir,
      RECS_REGISTRY_POLL: '100ms',
    });
    const other = grpcClient(replica.grpcAddress, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', {
      credentials: key.key,
    });
    try {
      expect((await other.call('Recommend', { userId: 'u3' })).modelVersion).toBe(gmfVersion);
      await call('PromoteModel', { version: popVersion });
      const followed = await eventually(
        () => other.call<{ modelVersion: string }>('Recommend', { userId: 'u3' }),
        (r) => r?.modelVersion === popVersion,
        5000,
      );
      expect(followed?.modelVersion).toBe(popVersion);
    } finally {
      other.close();
      await replica.close();
    }
  });
});
