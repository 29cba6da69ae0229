import { LakeEngine } from '@pulse/lake';
import { streamStateNames, subjectPredicate } from './lake-subject';

describe('which lake rows belong to a user', () => {
  let engine: LakeEngine;
  beforeAll(async () => {
    engine = await LakeEngine.create({ threads: 1 });
  });
  afterAll(() => engine.close());

  const matching = async (predicate: string, rows: string) =>
    (await engine.query<{ n: number }>(`SELECT count(*)::INT AS n FROM (${rows}) t WHERE ${predicate}`))[0].n;

  it('matches the acting user and actions on the user in the activity table, not other users', async () => {
    const predicate = subjectPredicate(
      'bronze/activity',
      [
        { name: 'user_id', type: 'string' },
        { name: 'target_type', type: 'string' },
        { name: 'target_id', type: 'string' },
      ],
      '42',
    )!;
    const rows = `SELECT * FROM (VALUES ('42', 'POST', 'p1'), ('7', 'USER', '42'), ('7', 'POST', '42'), ('420', 'USER', '7')) v(user_id, target_type, target_id)`;
    expect(await matching(predicate, rows)).toBe(2);
  });

  it("matches a CDC bronze table's rows by the app table's user columns in key, before and after", async () => {
    const cdc = [
      { name: 'key', type: 'string' as const },
      { name: 'before', type: 'string' as const },
      { name: 'after', type: 'string' as const },
    ];
    const users = subjectPredicate('bronze/cdc/public.users', cdc, '42')!;
    const rows = `SELECT * FROM (VALUES ('{"id":42}', NULL, '{"id":42,"handle":"ada"}'), ('{"id":7}', NULL, '{"id":7,"bio":"42"}')) v(key, before, after)`;
    expect(await matching(users, rows)).toBe(1);
    const posts = subjectPredicate('bronze/cdc/app.posts', cdc, '42')!;
    const postRows = `SELECT * FROM (VALUES ('{"id":42}', NULL, '{"id":42,"author_id":7}'), ('{"id":9}', NULL, '{"id":9,"author_id":42}')) v(key, before, after)`;
    expect(await matching(posts, postRows)).toBe(1);
  });

  it('matches long user columns and has nothing to say about tables without one', async () => {
    expect(subjectPredicate('agg/post_engagement_1h', [{ name: 'post_id', type: 'string' }], '42')).toBeUndefined();
    const predicate = subjectPredicate('gold/follows', [{ name: 'follower_id', type: 'long' }], '42')!;
    expect(await matching(predicate, `SELECT * FROM (VALUES (42::BIGINT), (7::BIGINT)) v(follower_id)`)).toBe(1);
  });
});

describe("which of etl's stream states hold something of a user", () => {
  it("finds the user's open windows and open exposures, not other users' nor mentions elsewhere", () => {
    const windows = JSON.stringify({
      windows: [
        [0, 3600, 'u42', 5],
        [0, 3600, 'u7', 1],
      ],
      watermark: 0,
    });
    expect(streamStateNames(windows, 'u42')).toBe(true);
    expect(streamStateNames(windows, 'u4')).toBe(false);
    const exposures = JSON.stringify({ open: [{ recommendationId: 'r-u42', userId: 'u7' }], others: [], pending: [] });
    expect(streamStateNames(exposures, 'u7')).toBe(true);
    expect(streamStateNames(exposures, 'u42')).toBe(false); // only in a list id
  });
});
