import { status } from '@grpc/grpc-js';
import { featuresV1 } from '@pulse/contracts';
import { decodeFieldViolations, type UnaryClient } from '@pulse/platform';
import Redis from 'ioredis';
import { dbl, FeatureStoreWorld, i64, stackConfig, str, ts } from './feature-store-test-app';

const { FeatureStatus, PushMode } = featuresV1;
const HOUR = 3_600_000;

const REPO = `
project: pulse
entities:
  - { name: user, join_key: user_id, value_type: string }
  - { name: post, join_key: post_id, value_type: string }
feature_views:
  - name: user_activity
    entities: [user]
    ttl: 1h
    source: { name: activity_push, type: push }
    features:
      - { name: clicks, type: int64 }
      - { name: ctr, type: double }
  - name: user_profile
    entities: [user]
    ttl: 30d
    source: { name: profile_push, type: push }
    features:
      - { name: locale, type: string }
      - { name: tags, type: string_list }
  - name: post_stats
    entities: [post]
    ttl: 2h
    source: { name: post_push, type: push }
    features:
      - { name: views, type: double }
  - name: user_post_affinity
    entities: [user, post]
    ttl: 1d
    source: { name: affinity_push, type: push }
    features:
      - { name: score, type: double }
feature_services:
  - name: ranker
    features:
      - { feature_view: user_profile, features: [locale] }
      - { feature_view: user_activity }
      - { feature_view: post_stats }
`;

const world = new FeatureStoreWorld();
let client: UnaryClient;

beforeAll(async () => {
  world.writeRepo({ 'repo.yaml': REPO });
  expect((await world.registry('apply')).exitCode).toBe(0);
  client = await world.start();
});

afterAll(() => world.dispose());

const push = (featureView: string, rows: unknown[], mode = PushMode.PUSH_MODE_ONLINE) =>
  client.call<featuresV1.PushResponse>('Push', { featureView, rows, mode });
const get = (entityRows: Record<string, unknown>[], selection: { refs?: string[]; service?: string }) =>
  client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
    entityRows: entityRows.map((joinKeys) => ({ joinKeys })),
    ...(selection.service ? { featureService: selection.service } : { features: { refs: selection.refs } }),
  });
const ageMs = (r: featuresV1.FeatureResult) => Number(r.age!.seconds) * 1000 + r.age!.nanos / 1e6;

describe('online store', () => {
  it('serves pushed values with status PRESENT and their age, NOT_FOUND for an unknown entity', async () => {
    const at = Date.now() - 60_000;
    const pushed = await push('user_activity', [
      { joinKeys: { user_id: str('u-1') }, features: { clicks: i64(7), ctr: dbl(0.25) }, eventTimestamp: ts(at) },
    ]);
    expect(pushed).toEqual({ onlineRows: 1, offlineRows: 0 });
    const res = await get([{ user_id: str('u-1') }, { user_id: str('u-unknown') }], {
      refs: ['user_activity:ctr', 'user_activity:clicks'],
    });
    expect(res.featureRefs).toEqual(['user_activity:ctr', 'user_activity:clicks']);
    const [known, unknown] = res.rows;
    expect(known.joinKeys).toEqual({ user_id: { stringValue: 'u-1', kind: 'stringValue' } });
    expect(known.features.map((f) => f.status)).toEqual([FeatureStatus.FEATURE_STATUS_PRESENT, FeatureStatus.FEATURE_STATUS_PRESENT]);
    expect(known.features[0].value).toMatchObject({ doubleValue: 0.25 });
    expect(known.features[1].value).toMatchObject({ int64Value: 7 });
    expect(known.features[0].eventTimestamp).toEqual(ts(at));
    expect(ageMs(known.features[0])).toBeGreaterThanOrEqual(60_000);
    expect(ageMs(known.features[0])).toBeLessThan(70_000);
    expect(unknown.features.map((f) => f.status)).toEqual([FeatureStatus.FEATURE_STATUS_NOT_FOUND, FeatureStatus.FEATURE_STATUS_NOT_FOUND]);
    expect(unknown.features[0].value).toBeNull();
  });

  it('answers EXPIRED for a value older than its view ttl, judged per view in the same entity hash', async () => {
    const old = Date.now() - 2 * HOUR;
    await push('user_activity', [
      { joinKeys: { user_id: str('u-2') }, features: { clicks: i64(1), ctr: dbl(0.5) }, eventTimestamp: ts(old) },
    ]);
    // A fresh write of another view of the same entity does not revive the expired view (nor shorten its key's life).
    await push('user_profile', [
      {
        joinKeys: { user_id: str('u-2') },
        features: { locale: str('de'), tags: { stringListValue: { values: ['a', 'b'] } } },
        eventTimestamp: ts(old),
      },
    ]);
    const redis = new Redis(stackConfig.REDIS_URL);
    const key = `${world.redisPrefix}pulse:user_id=u-2`;
    const pttlAfterLongView = await redis.pttl(key);
    await push('user_activity', [
      { joinKeys: { user_id: str('u-2') }, features: { clicks: i64(1), ctr: dbl(0.5) }, eventTimestamp: ts(old) },
    ]);
    const pttlAfterShortView = await redis.pttl(key);
    redis.disconnect();
    // user_profile (30 d ttl) keeps the key alive ~30 d; the later user_activity write (1 h ttl) did not cut it.
    expect(pttlAfterLongView).toBeGreaterThan(29 * 24 * HOUR);
    expect(pttlAfterShortView).toBeGreaterThan(29 * 24 * HOUR);

    const res = await get([{ user_id: str('u-2') }], { refs: ['user_activity:clicks', 'user_profile:locale', 'user_profile:tags'] });
    const [clicks, locale, tags] = res.rows[0].features;
    expect(clicks.status).toBe(FeatureStatus.FEATURE_STATUS_EXPIRED);
    expect(clicks.value).toBeNull();
    expect(ageMs(clicks)).toBeGreaterThanOrEqual(2 * HOUR);
    expect(locale).toMatchObject({ status: FeatureStatus.FEATURE_STATUS_PRESENT, value: { stringValue: 'de' } });
    expect(tags.value).toMatchObject({ stringListValue: { values: ['a', 'b'] } });
    // Operators see how often expired values are served, per view.
    const metrics = await (await fetch(`${world.app!.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^feature_store_online_values_total\{[^}]*feature_view="user_activity"[^}]*status="EXPIRED"[^}]*\} [1-9]/m);
  });

  it('keeps the newer value when an older row is pushed later, and reports a pushed null as NULL_VALUE', async () => {
    const now = Date.now();
    await push('post_stats', [{ joinKeys: { post_id: str('p-1') }, features: { views: dbl(100) }, eventTimestamp: ts(now - 1000) }]);
    const stale = await push('post_stats', [
      { joinKeys: { post_id: str('p-1') }, features: { views: dbl(5) }, eventTimestamp: ts(now - 60_000) },
    ]);
    expect(stale.onlineRows).toBe(0);
    await push('post_stats', [{ joinKeys: { post_id: str('p-2') }, features: { views: {} }, eventTimestamp: ts(now) }]);
    const res = await get([{ post_id: str('p-1') }, { post_id: str('p-2') }], { refs: ['post_stats:views'] });
    expect(res.rows[0].features[0].value).toMatchObject({ doubleValue: 100 });
    expect(res.rows[1].features[0].status).toBe(FeatureStatus.FEATURE_STATUS_NULL_VALUE);
  });

  it('reads a feature service for a batch of entity rows in request order', async () => {
    const now = Date.now();
    const users = Array.from({ length: 50 }, (_, i) => `batch-u-${i}`);
    await push(
      'user_activity',
      users.map((u, i) => ({ joinKeys: { user_id: str(u) }, features: { clicks: i64(i), ctr: dbl(i / 100) }, eventTimestamp: ts(now) })),
    );
    await push(
      'user_profile',
      users.map((u) => ({ joinKeys: { user_id: str(u) }, features: { locale: str(`l-${u}`), tags: {} }, eventTimestamp: ts(now) })),
    );
    await push('post_stats', [{ joinKeys: { post_id: str('p-batch') }, features: { views: dbl(3) }, eventTimestamp: ts(now) }]);
    const res = await get(
      users.map((u) => ({ user_id: str(u), post_id: str('p-batch') })),
      { service: 'ranker' },
    );
    expect(res.featureRefs).toEqual(['user_profile:locale', 'user_activity:clicks', 'user_activity:ctr', 'post_stats:views']);
    expect(res.rows).toHaveLength(50);
    res.rows.forEach((row, i) => {
      expect(row.features.map((f) => f.status)).toEqual(Array(4).fill(FeatureStatus.FEATURE_STATUS_PRESENT));
      expect(row.features[0].value!.stringValue).toBe(`l-${users[i]}`);
      expect(row.features[1].value!.int64Value).toBe(i);
      expect(row.features[3].value!.doubleValue).toBe(3);
    });
  });

  it('rejects bad requests with the status and the field at fault', async () => {
    await expect(get([{ user_id: str('u') }], { refs: ['nope:clicks'] })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(get([{ user_id: str('u') }], { refs: ['user_activity:nope'] })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(get([{ user_id: str('u') }], { service: 'nope' })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(get([{ user_id: str('u') }], { refs: ['clicks'] })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    const missingKey = await get([{ post_id: str('p') }], { refs: ['user_activity:clicks'] }).catch((e) => e);
    expect(missingKey.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeFieldViolations(missingKey.metadata)[0].field).toBe('entity_rows[0].join_keys.user_id');
    const wrongType = await push('user_activity', [
      { joinKeys: { user_id: str('u') }, features: { clicks: str('x'), ctr: dbl(1) }, eventTimestamp: ts(Date.now()) },
    ]).catch((e) => e);
    expect(wrongType.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeFieldViolations(wrongType.metadata)[0].field).toBe('rows[0].features.clicks');
    const future = await push('user_activity', [
      { joinKeys: { user_id: str('u') }, features: { clicks: i64(1), ctr: dbl(1) }, eventTimestamp: ts(Date.now() + HOUR) },
    ]).catch((e) => e);
    expect(decodeFieldViolations(future.metadata)[0].field).toBe('rows[0].event_timestamp');
    const partial = await push('user_activity', [
      { joinKeys: { user_id: str('u') }, features: { clicks: i64(1) }, eventTimestamp: ts(Date.now()) },
    ]).catch((e) => e);
    expect(decodeFieldViolations(partial.metadata)[0].field).toBe('rows[0].features.ctr');
    await expect(client.call('Push', { pushSource: 'nope', rows: [] })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(get([], { refs: ['user_activity:clicks'] })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it("DeleteEntity removes a user's rows in every view keyed by users, alone or with posts, and leaves the others", async () => {
    const at = Date.now() - 1000;
    const row = (user: string, features: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      joinKeys: { user_id: str(user), ...extra },
      features,
      eventTimestamp: ts(at),
    });
    for (const user of ['u-gone|x', 'u-stays']) {
      await push('user_activity', [row(user, { clicks: i64(1), ctr: dbl(0.5) })]);
      await push('user_profile', [row(user, { locale: str('en'), tags: { stringListValue: { values: ['a'] } } })]);
      await push('user_post_affinity', [
        row(user, { score: dbl(0.9) }, { post_id: str('p-1') }),
        row(user, { score: dbl(0.1) }, { post_id: str('p-2') }),
      ]);
    }
    await push('post_stats', [{ joinKeys: { post_id: str('p-1') }, features: { views: dbl(3) }, eventTimestamp: ts(at) }]);

    const deleted = await client.call<featuresV1.DeleteEntityResponse>('DeleteEntity', { entity: 'user', key: 'u-gone|x' });
    // One hash shared by the two user views, one per (user, post) pair.
    expect(Number(deleted.rowsDeleted)).toBe(3);
    expect(deleted.featureViews).toEqual(['user_activity', 'user_post_affinity', 'user_profile']);

    const statuses = async (user: string) =>
      (
        await get([{ user_id: str(user), post_id: str('p-1') }], {
          refs: ['user_activity:clicks', 'user_profile:locale', 'user_post_affinity:score', 'post_stats:views'],
        })
      ).rows[0].features.map((f) => f.status);
    expect(await statuses('u-gone|x')).toEqual([
      FeatureStatus.FEATURE_STATUS_NOT_FOUND,
      FeatureStatus.FEATURE_STATUS_NOT_FOUND,
      FeatureStatus.FEATURE_STATUS_NOT_FOUND,
      FeatureStatus.FEATURE_STATUS_PRESENT,
    ]);
    expect(await statuses('u-stays')).toEqual(Array(4).fill(FeatureStatus.FEATURE_STATUS_PRESENT));
    const redis = new Redis(stackConfig.REDIS_URL);
    try {
      const keys = await redis.keys(`${world.redisPrefix}*`);
      expect(keys.some((k) => k.includes('u-gone'))).toBe(false);
      expect(keys.some((k) => k.includes('u-stays'))).toBe(true);
    } finally {
      redis.disconnect();
    }
    // Idempotent; an unknown entity is NOT_FOUND.
    expect(
      Number((await client.call<featuresV1.DeleteEntityResponse>('DeleteEntity', { entity: 'user', key: 'u-gone|x' })).rowsDeleted),
    ).toBe(0);
    const unknown = await client.call('DeleteEntity', { entity: 'nobody', key: 'x' }).catch((e) => e);
    expect(unknown.code).toBe(status.NOT_FOUND);
  });
});
