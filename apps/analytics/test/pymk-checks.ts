import type { World } from './fixtures/bronze-lake';

const num = (v: unknown) => Number(v);

/**
 * gold/pymk rows against the world's follow graph: friends of friends the user does not follow, each with its
 * common connections, ranked 1..n by score, the best first, at most 20 a user. Every follow is in the circle
 * (circle_size 100 > any degree of the test worlds): common = followees of u who follow c.
 */
export function expectPymkLists(rows: Record<string, any>[], world: World): void {
  const following = new Map<string, Set<string>>();
  for (const f of world.follows)
    following.set(String(f.follower), new Set([...(following.get(String(f.follower)) ?? []), String(f.followee)]));
  const common = (u: string, c: string) => [...(following.get(u) ?? [])].filter((w) => following.get(w)?.has(c)).length;
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) {
    expect(r['candidate_id']).not.toBe(r['user_id']);
    expect(following.get(r['user_id'])?.has(r['candidate_id'])).toBeFalsy();
    expect(num(r['common_connections'])).toBe(common(r['user_id'], r['candidate_id']));
    expect(num(r['common_connections'])).toBeGreaterThan(0);
  }
  const byUser = new Map<string, Record<string, any>[]>();
  for (const r of rows) byUser.set(r['user_id'], [...(byUser.get(r['user_id']) ?? []), r]);
  for (const [user, list] of byUser) {
    expect(list.map((r) => num(r['rank']))).toEqual(list.map((_, i) => i + 1));
    expect(list.every((r, i) => i === 0 || num(list[i - 1]['score']) >= num(r['score']))).toBe(true);
    // the best candidate has the most common connections of all friends of friends the user does not follow
    const reachable = new Set([...(following.get(user) ?? [])].flatMap((w) => [...(following.get(w) ?? [])]));
    const best = Math.max(...[...reachable].filter((c) => c !== user && !following.get(user)?.has(c)).map((c) => common(user, c)));
    expect(num(list[0]['common_connections'])).toBe(best);
    expect(list.length).toBeLessThanOrEqual(20);
  }
}
