import { join } from 'node:path';
import { type Definitions, DefinitionError, loadDefinitionRepo, mergeDefinitions, parseDefinitionFile } from './definitions';
import { planChanges } from './registry-plan';

const repo = (followers = 'int64', online = true, service = true): Definitions =>
  mergeDefinitions([
    parseDefinitionFile(
      `
project: pulse
entities:
  - { name: user, join_key: user_id }
feature_views:
  - name: profile
    entities: [user]
    ttl: 1d
    online: ${online}
    source: { name: profile_push, type: push }
    features:
      - { name: followers, type: ${followers} }
      - { name: locale, type: string }
${service ? 'feature_services:\n  - { name: ranker, features: [{ feature_view: profile, features: [locale] }] }' : ''}
`,
      'repo.yaml',
    ),
  ]);

describe('planChanges', () => {
  it('finds no change between equal repos, whatever the key order of the stored copy', () => {
    const stored = JSON.parse(JSON.stringify(repo()), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    );
    expect(planChanges(stored, repo()).unchanged).toBe(true);
  });

  it('marks a type change of a feature of an online view as breaking', () => {
    const plan = planChanges(repo('int64'), repo('double'));
    expect(plan.breaking.map((c) => c.breaking).flat()).toEqual(['type of served feature profile:followers changes int64 -> double']);
  });

  it('marks a type change as breaking when only a feature service serves the feature, not otherwise', () => {
    expect(planChanges(repo('int64', false, true), repo('double', false, true)).breaking).toHaveLength(0);
    const before = repo('int64', false, true);
    before.featureServices[0].projections[0].features = ['followers'];
    const after = repo('double', false, true);
    after.featureServices[0].projections[0].features = ['followers'];
    expect(planChanges(before, after).breaking).toHaveLength(1);
  });

  it('marks removing a served view or a feature service as breaking, adding one as not', () => {
    const withoutService = repo('int64', true, false);
    expect(planChanges(repo(), withoutService).breaking.map((c) => c.name)).toEqual(['ranker']);
    expect(planChanges(withoutService, repo()).breaking).toHaveLength(0);
  });
});

describe('definition files', () => {
  it('names every broken rule with its file', () => {
    expect(() =>
      parseDefinitionFile(
        `
project: pulse
feature_views:
  - name: v
    entities: [user]
    ttl: forever
    source: { name: s, type: push }
    features: [{ name: x, type: double }]
`,
        'views.yaml',
      ),
    ).toThrow(/views.yaml: feature view v: ttl "forever" is not a duration/);
    try {
      mergeDefinitions([
        parseDefinitionFile(
          `
project: pulse
entities: [{ name: post, join_key: post_id }]
feature_views:
  - name: v
    entities: [user]
    source: { name: s, type: kafka, location: some.topic }
    features: [{ name: x, type: string }]
feature_services:
  - { name: fs, features: [{ feature_view: w }] }
`,
          'a.yaml',
        ),
      ]);
      throw new Error('expected a DefinitionError');
    } catch (error) {
      expect(error).toBeInstanceOf(DefinitionError);
      expect((error as DefinitionError).problems).toEqual([
        'feature view v: unknown entity "user"',
        'feature view v: source s: location must be an aggregates topic pulse.aggregates.<name>.v1',
        'feature view v: feature "x" of a kafka source must be numeric (aggregate metrics are numbers)',
        'feature service fs: unknown feature view "w"',
      ]);
    }
  });

  it('refuses two files of different projects', () => {
    const a = parseDefinitionFile('project: a\n', 'a.yaml');
    const b = parseDefinitionFile('project: b\n', 'b.yaml');
    expect(() => mergeDefinitions([a, b])).toThrow(/2 projects/);
  });
});

describe("the repository's own feature_repo", () => {
  it('is a valid project whose feature service selects existing features', () => {
    const repo = loadDefinitionRepo(join(__dirname, '../../../../feature_repo'));
    expect(repo.project).toBe('pulse');
    expect(repo.featureServices.map((s) => s.name)).toContain('ranker_v1');
    expect(repo.featureViews.find((v) => v.name === 'post_engagement_1h')?.source.batch?.location).toBe('agg/post_engagement_1h');
  });
});
