import { status } from '@grpc/grpc-js';
import type { featuresV1 } from '@pulse/contracts';
import { createApp } from '../src/app.factory';
import { eventually } from '@pulse/platform/testing';
import { FeatureStoreWorld } from './feature-store-test-app';

const ENTITIES = `
project: pulse
entities:
  - { name: user, join_key: user_id, value_type: string, owner: growth }
  - { name: post, join_key: post_id, value_type: string }
`;

const views = (followersType: string, extra = '') => `
project: pulse
feature_views:
  - name: user_profile
    entities: [user]
    ttl: 30d
    owner: growth
    tags: { team: growth }
    source: { name: user_profile_push, type: push }
    features:
      - { name: followers, type: ${followersType} }
      - { name: locale, type: string }
${extra}
  - name: post_stats
    entities: [post]
    ttl: 2h
    online: false
    tags: { team: ranking }
    source: { name: post_stats_files, type: file, location: post_stats, timestamp_field: event_timestamp }
    features:
      - { name: views, type: double }
feature_services:
  - name: ranker
    features:
      - { feature_view: user_profile, features: [followers] }
`;

const world = new FeatureStoreWorld();

afterAll(() => world.dispose());

describe('registry: plan and apply', () => {
  it('applies a repo once, then reports no change for the unchanged repo and stores nothing', async () => {
    world.writeRepo({ 'entities.yaml': ENTITIES, 'views.yaml': views('int64') });
    const first = await world.registry('plan');
    expect(first.exitCode).toBe(0);
    expect(first.plan!.changes.map((c) => `${c.op} ${c.kind} ${c.name}`)).toEqual([
      'add entity post',
      'add entity user',
      'add feature_view post_stats',
      'add feature_view user_profile',
      'add feature_service ranker',
    ]);
    const applied = await world.registry('apply');
    expect(applied).toMatchObject({ exitCode: 0, version: 1 });

    const plan = await world.registry('plan');
    expect(plan.plan!.unchanged).toBe(true);
    expect(plan.output).toMatch(/no changes \(registry version 1 matches the repo\)/);
    const again = await world.registry('apply');
    expect(again).toMatchObject({ exitCode: 0, version: 1 });
  });

  it('refuses a type change of a served feature without --force, and applies it with --force', async () => {
    world.writeRepo({ 'entities.yaml': ENTITIES, 'views.yaml': views('double') });
    const refused = await world.registry('apply');
    expect(refused.exitCode).toBe(3);
    expect(refused.output).toMatch(/type of served feature user_profile:followers changes int64 -> double/);
    expect((await world.registry('plan')).version).toBe(1);

    const forced = await world.registry('apply', '--force');
    expect(forced).toMatchObject({ exitCode: 0, version: 2 });
    expect((await world.registry('plan')).plan!.unchanged).toBe(true);
  });

  it('applies an added feature without --force, and names the problem of an invalid repo', async () => {
    world.writeRepo({ 'entities.yaml': ENTITIES, 'views.yaml': views('double', '      - { name: following, type: int64 }') });
    const added = await world.registry('apply');
    expect(added).toMatchObject({ exitCode: 0, version: 3 });
    expect(added.output).toMatch(/feature following: added \(int64\)/);

    world.writeRepo({ 'entities.yaml': ENTITIES.replace('name: user,', 'name: member,'), 'views.yaml': views('double') });
    const invalid = await world.registry('plan');
    expect(invalid.exitCode).toBe(1);
    expect(invalid.output).toMatch(/feature view user_profile: unknown entity "user"/);
  });

  it('serves definitions from its cached registry and picks up a new version without a restart', async () => {
    world.writeRepo({ 'entities.yaml': ENTITIES, 'views.yaml': views('double', '      - { name: following, type: int64 }') });
    const client = await world.start();
    const { featureView } = await client.call<featuresV1.GetFeatureViewResponse>('GetFeatureView', { name: 'user_profile' });
    expect(featureView!.features.map((f) => f.name)).toEqual(['followers', 'locale', 'following']);
    expect(featureView!.ttl).toEqual({ seconds: 30 * 86_400, nanos: 0 });
    const ranking = await client.call<featuresV1.ListFeatureViewsResponse>('ListFeatureViews', { tags: { team: 'ranking' } });
    expect(ranking.featureViews.map((v) => v.name)).toEqual(['post_stats']);
    const byEntity = await client.call<featuresV1.ListFeatureViewsResponse>('ListFeatureViews', { entity: 'user' });
    expect(byEntity.featureViews.map((v) => v.name)).toEqual(['user_profile']);
    const registry = await client.call<featuresV1.GetRegistryResponse>('GetRegistry', {});
    expect(Number(registry.registry!.version)).toBe(3);
    const notModified = await client.call<featuresV1.GetRegistryResponse>('GetRegistry', { ifVersionNot: 3 });
    expect(notModified.notModified).toBe(true);
    await expect(client.call('GetFeatureView', { name: 'nope' })).rejects.toMatchObject({ code: status.NOT_FOUND });

    // A new version while the service runs: reads keep answering, then see it.
    world.writeRepo({
      'entities.yaml': ENTITIES,
      'views.yaml': views('double', '      - { name: following, type: int64 }\n      - { name: posts, type: int64 }'),
    });
    expect((await world.registry('apply')).version).toBe(4);
    const served = await eventually(
      () => client.call<featuresV1.GetFeatureViewResponse>('GetFeatureView', { name: 'user_profile' }),
      (r) => r?.featureView?.features.some((f) => f.name === 'posts') ?? false,
      5_000,
    );
    expect(served.featureView!.features.map((f) => f.name)).toContain('posts');
    const services = await client.call<featuresV1.ListFeatureServicesResponse>('ListFeatureServices', {});
    expect(services.featureServices[0]).toMatchObject({
      name: 'ranker',
      projections: [{ featureView: 'user_profile', features: ['followers'] }],
    });
  });

  it('refuses to start on a schema without its tables, naming the migration to run', async () => {
    await expect(
      createApp({ ...world.env, FEATURE_STORE_PG_SCHEMA: `${world.schema}_none`, FEATURE_STORE_AUTO_MIGRATE: 'false' }),
    ).rejects.toThrow(/schema "fs_t_\w+_none" has no feature store tables: run `nx run feature-store:migrate`/);
  });
});
