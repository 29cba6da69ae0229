import { Client } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';
import { type CdcRecord, CdcTestEnv, PG_URL } from './support/cdc-test-env';

const SEED_USERS = 4000;
const SEED_POSTS = 600;

let env: CdcTestEnv;
let running: RunningApp | undefined;

beforeAll(async () => {
  env = await CdcTestEnv.create();
  await env.query(
    `INSERT INTO ${env.name}.users (handle, display_name, email)
     SELECT 'seed_' || i, 'Seed ' || i, 'seed' || i || '@pulse.test' FROM generate_series(1, ${SEED_USERS}) i`,
  );
  await env.query(
    `INSERT INTO ${env.name}.posts (author_id, body) SELECT 1 + i % 50, 'post ' || i FROM generate_series(1, ${SEED_POSTS}) i`,
  );
});

afterAll(async () => {
  await running?.close();
  await env?.dispose();
});

/** While running: inserts users, bumps follower_count of existing ones (by exactly 1) and deletes a few. */
async function writeWhile(keepGoing: () => boolean): Promise<number> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  let n = 0;
  try {
    while (keepGoing()) {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${env.name}.users (handle, display_name, email) VALUES ($1, 'W', $1 || '@pulse.test')`, [
        `racer_${n}`,
      ]);
      await client.query(`UPDATE ${env.name}.users SET follower_count = follower_count + 1 WHERE id = $1`, [1 + ((n * 37) % SEED_USERS)]);
      if (n % 25 === 0) await client.query(`DELETE FROM ${env.name}.users WHERE id = $1`, [SEED_USERS - n / 25]);
      await client.query('COMMIT');
      n++;
    }
  } finally {
    await client.end();
  }
  return n;
}

describe('initial snapshot', () => {
  it('reads existing rows as op r consistent with the slot: no change lost or duplicated while writes race the snapshot', async () => {
    let writing = true;
    const writer = writeWhile(() => writing);
    await new Promise((resolve) => setTimeout(resolve, 200));
    running = await createApp(env.settings({ CDC_SNAPSHOT_FETCH_SIZE: '500', CDC_MAX_BATCH_RECORDS: '400' }));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    writing = false;
    const transactions = await writer;
    expect(transactions).toBeGreaterThan(50);

    const { rows } = await env.query(`SELECT id, follower_count FROM ${env.name}.users`);
    const expected = new Map<number, number>(rows.map((r) => [Number(r.id), r.follower_count]));
    // Replays each key's events in topic order (one key, one partition): the result must be the table.
    const replay = (records: CdcRecord[]) => {
      const state = new Map<number, number>();
      for (const r of records) {
        if (!r.value) continue;
        const id = r.key!['id'] as number;
        if (r.value.op === 'd') state.delete(id);
        else state.set(id, r.value.after!['follower_count'] as number);
      }
      return state;
    };
    const matches = (state: Map<number, number>) =>
      state.size === expected.size && [...expected].every(([id, count]) => state.get(id) === count);
    const records = await env.read('users', (all) => matches(replay(all)), 30_000);
    expect(matches(replay(records))).toBe(true);

    // Exactly once: a row is read by the snapshot or created by the stream, never both, never twice,
    // and each of its updates (+1 each) appears once, in order, right after what the snapshot read.
    const byKey = new Map<number, CdcRecord[]>();
    for (const r of records) if (r.value) byKey.set(r.key!['id'] as number, [...(byKey.get(r.key!['id'] as number) ?? []), r]);
    for (const [id, events] of byKey) {
      const ops = events.map((e) => e.value!.op);
      expect([id, ops.filter((op) => op === 'r' || op === 'c').length]).toEqual([id, 1]);
      expect([id, ops[0]]).toEqual([id, expect.stringMatching(/^[rc]$/)]);
      const counts = events.filter((e) => e.value!.op !== 'd').map((e) => e.value!.after!['follower_count'] as number);
      expect([id, counts]).toEqual([id, counts.map((_, i) => counts[0] + i)]);
    }
    const snapshotted = records.filter((r) => r.value?.op === 'r');
    const streamed = records.filter((r) => r.value?.op === 'c');
    expect(snapshotted.length).toBeGreaterThan(SEED_USERS - 10);
    expect(streamed.length).toBeGreaterThan(0);
    // Snapshot events carry the slot's consistent point; streamed transactions committed at or after it: the
    // transaction id carries its commit record's LSN, and PostgreSQL decodes a commit whose record starts at the
    // consistent point (the end of the record that made the slot consistent) — `>` failed now and then under load.
    // A change's own LSN may be earlier: its transaction began before the slot existed.
    const consistentPoint = snapshotted[0].value!.source.lsn;
    expect(snapshotted.every((r) => r.value!.source.lsn === consistentPoint)).toBe(true);
    // Any that did not, with what it carried (a record here has raced the slot's creation: worth seeing whole).
    const committedBefore = streamed.filter((r) => !(Number(r.value!.transaction?.id.split(':')[1]) >= consistentPoint));
    expect(
      committedBefore.map((r) => ({ key: r.key, transaction: r.value!.transaction, source: r.value!.source, consistentPoint })),
    ).toEqual([]);
    // The race happened: transactions committed while the snapshot was still reading went to the stream.
    const snapshotEnd = Math.max(...snapshotted.map((r) => r.value!.source.ts_ms));
    expect(streamed.filter((r) => r.value!.source.ts_ms < snapshotEnd).length).toBeGreaterThan(0);

    // Markers: posts is read first, users last (tables in name order; comments and follows are empty).
    const posts = (await env.read('posts', (all) => all.length >= SEED_POSTS)).map((r) => r.value!.source.snapshot);
    const userMarkers = snapshotted.map((r) => r.value!.source.snapshot);
    const count = (markers: string[], marker: string) => markers.filter((m) => m === marker).length;
    expect([count(posts, 'first'), count(posts, 'last_in_data_collection'), count(posts, 'true')]).toEqual([1, 1, SEED_POSTS - 2]);
    expect([count(userMarkers, 'first_in_data_collection'), count(userMarkers, 'last'), count(userMarkers, 'true')]).toEqual([
      1,
      1,
      userMarkers.length - 2,
    ]);
    expect(snapshotted[0].value).toMatchObject({ op: 'r', before: null, transaction: null, source: { table: 'users', schema: env.name } });
  });
});
