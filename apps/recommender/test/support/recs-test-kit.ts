import { grpcClient, type UnaryClient } from '@pulse/platform';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type LakeActivity, type LakePostChange, syntheticLake } from '../../src/testing/synthetic-lake';

const ROOT = join(__dirname, '..', '..', '..', '..');

/** Runs the built command line (`node dist/apps/recommender/recs.js`, as an operator or the schedule would). */
export function recsCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', 'recommender', 'recs.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The `--json` summary line of `recs train`. */
export function summary(stdout: string): any {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

/** A RecsService client calling with `credentials` (an API key from `issueTestApiKey`). */
export function recsClient(address: string, credentials: string): UnaryClient {
  return grpcClient(address, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', { credentials });
}

const HOUR = 3_600_000;
/** After every synthetic event (90 users an hour apart from this day). */
export const LATER = Date.UTC(2024, 5, 1) + 100 * HOUR;

/**
 * A small lake's content: taste clusters over the app database's string ids (syntheticLake: users 1–90 in six
 * clusters, posts 1001–1120, twenty per cluster tagged topic<c>), and what the platform adds to it: a post
 * updated (new tags), one deleted and one made private, a new one created; a hidden pair, an unliked pair, a
 * like whose three copies do not outweigh a hide, an unlike delivered twice; and a batch of 40 events replayed.
 */
export function lakeScenario() {
  const { activity, posts } = syntheticLake();
  const touched = (userId: string) => new Set(activity.filter((e) => e.userId === userId).map((e) => e.targetId));
  /** A post of `cluster` the user never acted on. */
  const fresh = (userId: string, cluster: number) => {
    const seen = touched(userId);
    for (let p = 1001 + cluster * 20; ; p++) if (!seen.has(String(p))) return String(p);
  };
  const hidden = { userId: '1', postId: '1005' };
  const unliked = { userId: '2', postId: fresh('2', 1) };
  const unlikedTwice = { userId: '3', postId: fresh('3', 2) };
  const likedThenHidden = { userId: '4', postId: fresh('4', 3) };
  let t = LATER;
  const ev = (userId: string, type: string, targetId: string, eventId = `x-${userId}-${targetId}-${type}-${t}`): LakeActivity => ({
    eventId,
    userId,
    type,
    targetId,
    occurredAtMs: (t += 60_000),
  });
  const extra: LakeActivity[] = [
    ev(hidden.userId, 'VIEW', hidden.postId),
    ev(hidden.userId, 'HIDE', hidden.postId),
    ev(unliked.userId, 'LIKE', unliked.postId),
    ev(unliked.userId, 'UNLIKE', unliked.postId),
    ev(unlikedTwice.userId, 'VIEW', unlikedTwice.postId),
    ev(unlikedTwice.userId, 'LIKE', unlikedTwice.postId),
    ...Array.from({ length: 2 }, () => ev(unlikedTwice.userId, 'UNLIKE', unlikedTwice.postId, 'unlike-delivered-twice')),
    ...Array.from({ length: 3 }, () => ev(likedThenHidden.userId, 'LIKE', likedThenHidden.postId, 'like-delivered-thrice')),
    ev(likedThenHidden.userId, 'HIDE', likedThenHidden.postId),
  ];
  const replayed = activity.slice(100, 140);
  const changes: LakePostChange[] = [
    { op: 'u', id: '1002', authorId: '900', tags: ['sport', 'topic0'], atMs: LATER, lsn: 500 },
    { op: 'd', id: '1003', authorId: '900', atMs: LATER, lsn: 501 },
    { op: 'u', id: '1004', authorId: '900', tags: ['topic0'], visibility: 'private', atMs: LATER, lsn: 502 },
    { op: 'c', id: '1121', authorId: '905', tags: ['topic5'], atMs: LATER, lsn: 503 },
  ];
  return {
    posts,
    changes,
    activity: [...activity, ...extra],
    replayed,
    duplicates: replayed.length + 1 + 2,
    pairs: { hidden, unliked, unlikedTwice, likedThenHidden },
  };
}
