import type { World } from './fixtures/bronze-lake';

const num = (v: unknown) => Number(v);

/**
 * gold/pymk rows against the world's follow graph: friends of friends the user does not follow and has not
 * blocked nor been blocked by, each with its common connections, ranked 1..n by score, the best first, at most 20
 * a user. Every follow is in the circle (circle_size 100 > any degree of the test worlds): common = followees of u
 * who follow c. The world's blocks must include pairs that would be suggested otherwise, so leaving them out is
 * what is checked.
 */
export function expectPymkLists(rows: Record<string, any>[], world: World): void {
  const following = new Map<string, Set<string>>();
  for (const f of world.follows)
    following.set(String(f.follower), new Set([...(following.get(String(f.follower)) ?? []), String(f.followee)]));
  const common = (u: string, c: string) => [...(following.get(u) ?? [])].filter((w) => following.get(w)?.has(c)).length;
  const blocked = new Set(world.blocks.flatMap((b) => [`${b.blocker}>${b.blocked}`, `${b.blocked}>${b.blocker}`]));
  const excluded = (u: string, c: string) => c === u || following.get(u)?.has(c) || blocked.has(`${u}>${c}`);
  // Some blocked pairs are friends of friends (either way): the job must leave out candidates it would rank.
  expect(world.blocks.some((b) => common(String(b.blocker), String(b.blocked)) > 0)).toBe(true);
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) {
    expect(excluded(r['user_id'], r['candidate_id'])).toBeFalsy();
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
    const best = Math.max(...[...reachable].filter((c) => !excluded(user, c)).map((c) => common(user, c)));
    expect(num(list[0]['common_connections'])).toBe(best);
    expect(list.length).toBeLessThanOrEqual(20);
  }
}
