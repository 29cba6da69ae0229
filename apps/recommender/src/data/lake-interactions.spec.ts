import { LakeEngine } from '@pulse/lake';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ACTION_WEIGHTS } from '../live/action-weights';
import { appendActivity, appendPostChanges, type LakeActivity, type LakePostChange } from '../testing/synthetic-lake';
import {
  type FeedbackRules,
  type LakeTrainingData,
  NoTrainingDataError,
  parseAsOf,
  readLakeInteractions,
  requireEnoughData,
} from './lake-interactions';

const T0 = Date.UTC(2024, 5, 1);
const MIN = 60_000;
const DAY = 86_400_000;
const RULES: FeedbackRules = { weights: DEFAULT_ACTION_WEIGHTS, halfLifeMs: 0, minWeight: 0 };

let engine: LakeEngine;
beforeAll(async () => {
  engine = await LakeEngine.create({ threads: 1 });
});
afterAll(() => engine.close());

let n = 0;
/** An event; `eventId` defaults to a fresh one. */
const ev = (userId: string, type: string, targetId: string, atMs: number, eventId = `e${++n}`): LakeActivity => ({
  eventId,
  userId,
  type,
  targetId,
  occurredAtMs: atMs,
});
const post = (id: string, lsn: number, change: Partial<LakePostChange> = {}): LakePostChange => ({
  op: 'c',
  id,
  authorId: '7',
  tags: ['news'],
  atMs: T0 - DAY,
  lsn,
  ...change,
});

async function lake(activity: LakeActivity[], posts: LakePostChange[]): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'recs-lake-'));
  await appendPostChanges(root, 'public', posts, engine);
  await appendActivity(root, activity, engine);
  return root;
}

/** The positives as `user post` strings, and each one's timestamp (s). */
function positives(data: LakeTrainingData): Map<string, number> {
  const out = new Map<string, number>();
  const { interactions: d } = data;
  for (let k = 0; k < d.users.length; k++) out.set(`${d.userIds.id(d.users[k])} ${d.itemIds.id(d.items[k])}`, d.timestamps[k]);
  return out;
}

describe('interactions from the lake', () => {
  it('weights each action by type: hidden and unliked pairs are not positives, and every event counts once', async () => {
    const dup = 'replayed';
    const root = await lake(
      [
        ev('1', 'VIEW', '11', T0),
        ev('1', 'HIDE', '11', T0 + MIN), // 1 − 6 < 0
        ev('2', 'LIKE', '11', T0),
        ev('2', 'UNLIKE', '11', T0 + MIN), // 3 − 3 = 0: not a positive
        ev('3', 'VIEW', '11', T0),
        ev('3', 'LIKE', '11', T0 + MIN),
        ev('3', 'UNLIKE', '11', T0 + 2 * MIN, dup),
        ev('3', 'UNLIKE', '11', T0 + 2 * MIN, dup), // the same event twice: 1 + 3 − 3 > 0, not 1 + 3 − 6
        ev('4', 'LIKE', '12', T0, 'liked-once'),
        ev('4', 'LIKE', '12', T0, 'liked-once'),
        ev('4', 'LIKE', '12', T0, 'liked-once'), // three copies of one like do not outweigh a hide
        ev('4', 'HIDE', '12', T0 + MIN),
        ev('5', 'IMPRESSION', '12', T0), // no weight: ignored
        { ...ev('6', 'LIKE', '7', T0), targetType: 'USER' }, // not a post
      ],
      [post('11', 1), post('12', 2)],
    );
    const data = await readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES }, engine);
    expect([...positives(data).keys()]).toEqual(['3 11']);
    expect(data.stats).toMatchObject({ duplicates: 3, pairs: 4, negative: 3, removed: 0, unknown: 0, positives: 1, users: 1, items: 1 });
  });

  it('dates a positive at its latest positive action and decays older actions by the half-life', async () => {
    const root = await lake(
      [
        ev('1', 'VIEW', '11', T0),
        ev('1', 'LIKE', '11', T0 + MIN),
        ev('1', 'IMPRESSION', '11', T0 + 2 * MIN),
        ev('2', 'VIEW', '11', T0 - 10 * DAY), // 2^-10 of a view by the newest event
        ev('3', 'LIKE', '12', T0 - 2 * DAY), // 3/4 …
        ev('3', 'UNLIKE', '12', T0 - DAY), // … − 3/2: the newer unlike outweighs the older like
        ev('4', 'VIEW', '12', T0 + 10 * MIN),
      ],
      [post('11', 1), post('12', 2)],
    );
    const undecayed = positives(await readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES }, engine));
    expect([...undecayed.keys()].sort()).toEqual(['1 11', '2 11', '4 12']);
    expect(undecayed.get('1 11')).toBe((T0 + MIN) / 1000);
    const decayed = await readLakeInteractions(
      { lakeRoot: root, cdcSchema: 'public', weights: DEFAULT_ACTION_WEIGHTS, halfLifeMs: DAY, minWeight: 0.01 },
      engine,
    );
    expect([...positives(decayed).keys()].sort()).toEqual(['1 11', '4 12']);
    expect(decayed.stats.negative).toBe(2);
    // Oldest first: the order of the rows (and so the fingerprint) does not depend on how the files were read.
    expect(Array.from(decayed.interactions.timestamps)).toEqual([(T0 + MIN) / 1000, (T0 + 10 * MIN) / 1000]);
  });

  it('keeps only posts public and not deleted in their latest state by LSN, with their tags and author as attributes', async () => {
    const root = await lake(
      [
        ev('1', 'LIKE', '11', T0),
        ev('1', 'LIKE', '12', T0),
        ev('1', 'LIKE', '13', T0),
        ev('1', 'LIKE', '14', T0),
        ev('1', 'LIKE', '99', T0),
      ],
      [
        post('11', 1),
        // Written out of LSN order: the change with the higher LSN is the post's state.
        post('11', 9, { op: 'u', tags: ['sport', 'cycling'], authorId: '8' }),
        post('11', 5, { op: 'u', tags: ['stale'] }),
        post('12', 2),
        post('12', 6, { op: 'd' }),
        post('13', 3),
        post('13', 7, { op: 'u', visibility: 'followers' }),
        post('14', 4, { op: 'r', tags: [] }),
      ],
    );
    const data = await readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES }, engine);
    expect([...positives(data).keys()].sort()).toEqual(['1 11', '1 14']);
    expect(data.stats).toMatchObject({ removed: 2, unknown: 1, positives: 2 });
    expect(data.attributes).toEqual({ tag: { '11': ['sport', 'cycling'] }, author_id: { '11': ['8'], '14': ['7'] } });
  });

  it('reads the versions it is asked for (time travel) and says which versions it read', async () => {
    const root = await lake([ev('1', 'LIKE', '11', T0)], [post('11', 1), post('12', 2)]);
    const first = await readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES }, engine);
    await appendActivity(root, [ev('2', 'LIKE', '12', T0 + MIN)], engine);
    const now = await readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES }, engine);
    const again = await readLakeInteractions(
      {
        lakeRoot: root,
        cdcSchema: 'public',
        ...RULES,
        asOf: parseAsOf(
          Object.entries(first.tableVersions)
            .map(([p, v]) => `${p}=${v}`)
            .join(','),
        ),
      },
      engine,
    );
    expect(now.tableVersions['bronze/activity']).toBe(first.tableVersions['bronze/activity'] + 1);
    expect(now.stats.positives).toBe(2);
    expect(again.tableVersions).toEqual(first.tableVersions);
    expect([...positives(again).keys()]).toEqual(['1 11']);
    await expect(
      readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES, asOf: new Map([['bronze/activity', 42]]) }, engine),
    ).rejects.toThrow(/bronze\/activity has no version 42/);
    await expect(
      readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES, asOf: new Map([['silver/x', 1]]) }, engine),
    ).rejects.toThrow(/silver\/x is not a table/);
  });

  it('says the lake is empty, or which table is missing, or that there is too little data', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'recs-lake-'));
    await expect(readLakeInteractions({ lakeRoot: empty, cdcSchema: 'public', ...RULES }, engine)).rejects.toThrow(
      new NoTrainingDataError(
        `the lake at ${empty} is empty: no bronze/activity and no bronze/cdc/public.posts (etl writes them from Kafka)`,
      ),
    );
    await appendActivity(empty, [ev('1', 'LIKE', '11', T0)], engine);
    await expect(readLakeInteractions({ lakeRoot: empty, cdcSchema: 'public', ...RULES }, engine)).rejects.toThrow(
      /has no table bronze\/cdc\/public.posts/,
    );
    const stats = { events: 3, duplicates: 0, pairs: 3, negative: 0, removed: 0, unknown: 0, positives: 3, users: 2, items: 3 };
    expect(() => requireEnoughData(stats, { interactions: 3, users: 2 })).not.toThrow();
    expect(() => requireEnoughData(stats, { interactions: 10, users: 2 })).toThrow(
      /too little data to train on: 3 interactions of 2 users/,
    );
  });

  it('names the table and version it could not read', async () => {
    const root = await lake([ev('1', 'LIKE', '11', T0)], [post('11', 1)]);
    const dataDir = join(root, 'bronze/activity');
    for (const partition of readdirSync(dataDir).filter((d) => d.startsWith('event_date=')))
      rmSync(join(dataDir, partition), { recursive: true });
    await expect(readLakeInteractions({ lakeRoot: root, cdcSchema: 'public', ...RULES }, engine)).rejects.toThrow(
      /^could not read bronze\/activity at version 1: /,
    );
  });

  it('parses --as-of as table-path=version pairs', () => {
    expect(parseAsOf('bronze/activity=3, bronze/cdc/public.posts/=0')).toEqual(
      new Map([
        ['bronze/activity', 3],
        ['bronze/cdc/public.posts', 0],
      ]),
    );
    expect(() => parseAsOf('bronze/activity')).toThrow(/is not table-path=version/);
    expect(() => parseAsOf('bronze/activity=-1')).toThrow(/is not table-path=version/);
  });
});
