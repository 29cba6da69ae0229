import { status } from '@grpc/grpc-js';
import type { storageV1 } from '@pulse/contracts';
import { stackCassandraClient } from '@pulse/platform/testing';
import type { Client as CassandraClient } from 'cassandra-driver';
import { Client as PgClient } from 'pg';
import { CdcRowVersionsRepository } from '../src/cdc/cdc-row-versions.cassandra.repository';
import { dayOf } from '../src/shared/page-token';
import { MaintenanceLeases } from '../src/shared/maintenance-lease.cassandra.repository';
import { dropKeyspace, stackConfig, startStorage, type StorageTestApp } from './storage-test-app';

// The graph reconciliation as an operator runs it (ReconcileGraph, admin): a graph damaged the ways a crash or a
// lost change damages it, in a keyspace of its own, beside an app database schema of its own holding the follows
// table the CDC applier would have copied.
const PG_URL = stackConfig.PULSE_AUTH_PG_URL;
const run = Math.random().toString(36).slice(2, 10);
const schema = `reconcile_${run}`;
// Numeric ids as the app database has them, unique to the run.
const base = 1_000_000_000 + Math.floor(Math.random() * 1_000_000_000);
const id = (n: number) => String(base + n);

let storage: StorageTestApp;
let cql: CassandraClient;
let pg: PgClient;

const call = <T = any>(method: string, request: object) => storage.client.call<T>(method, request);
const reconcile = async (dryRun: boolean) => (await call<storageV1.ReconcileGraphResponse>('ReconcileGraph', { dryRun })).reconciliation!;
const follows = async (a: number, b: number) =>
  (await call<storageV1.GetRelationshipResponse>('GetRelationship', { userId: id(a), otherUserId: id(b) })).relationship!.following;
const followers = async (n: number) =>
  (await call<storageV1.ListFollowersResponse>('ListFollowers', { userId: id(n), pageSize: 50 })).follows.map((f) => f.followerId);
const counts = async (n: number) => (await call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId: id(n) })).counts!;

beforeAll(async () => {
  pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`CREATE SCHEMA ${schema}`);
  await pg.query(`CREATE TABLE ${schema}.follows (
    follower_id bigint NOT NULL, followee_id bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id))`);
  storage = await startStorage({
    STORAGE_CDC_CONSUMER: 'false',
    STORAGE_CDC_SCHEMA: schema,
    STORAGE_APP_DB_URL: PG_URL,
    STORAGE_RECONCILE_INTERVAL: '0s',
  });
  cql = stackCassandraClient({ keyspace: storage.keyspace });
}, 120_000);

afterAll(async () => {
  await cql?.shutdown();
  await storage?.close();
  if (storage) await dropKeyspace(storage.keyspace);
  await pg?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await pg?.end();
});

describe('ReconcileGraph', () => {
  it('finds what a crash or a lost change left behind, reports it on a dry run, repairs it, and then finds nothing', async () => {
    const versions = storage.running.app.get(CdcRowVersionsRepository);
    const sourceTable = `${schema}.follows`;
    const appDbEdge = async (a: number, b: number, lsn: number) => {
      await call('Follow', { followerId: id(a), followeeId: id(b) });
      await versions.admit(sourceTable, `${id(a)}:${id(b)}`, lsn, false);
    };
    // 1 → 2: its follower side lost (a Follow that died after the edge).
    await call('Follow', { followerId: id(1), followeeId: id(2) });
    const edge = await cql.execute('SELECT followed_at FROM following_by_user WHERE user_id = ? AND followee_id = ?', [id(1), id(2)]);
    const at: Date = edge.first().get('followed_at');
    await cql.execute('DELETE FROM followers_by_user WHERE user_id = ? AND bucket = ? AND followed_at = ? AND follower_id = ?', [
      id(2),
      dayOf(at.getTime()),
      at,
      id(1),
    ]);
    // 3 → 4: a follower side without its edge (an Unfollow that died before it).
    await cql.execute('INSERT INTO followers_by_user (user_id, bucket, followed_at, follower_id) VALUES (?, ?, ?, ?)', [
      id(4),
      dayOf(Date.now()),
      new Date(),
      id(3),
    ]);
    await cql.execute('INSERT INTO follower_buckets_by_user (user_id, bucket) VALUES (?, ?)', [id(4), dayOf(Date.now())]);
    // 2's followers counter 5 too high.
    await cql.execute('UPDATE follow_counts SET followers = followers + 5 WHERE user_id = ?', [id(2)], { prepare: true });
    // 5 → 6 in the app database, its change never applied.
    await pg.query(`INSERT INTO ${schema}.follows (follower_id, followee_id, created_at) VALUES ($1, $2, '2026-01-02T03:04:05Z')`, [
      id(5),
      id(6),
    ]);
    // 7 → 8 came from the app database and was deleted there; the delete never arrived.
    await appDbEdge(7, 8, 100);
    // 9 → 10 came from the app database and is still there; 11 → 12 was made through Follow only: both stay.
    await appDbEdge(9, 10, 101);
    await pg.query(`INSERT INTO ${schema}.follows (follower_id, followee_id) VALUES ($1, $2)`, [id(9), id(10)]);
    await call('Follow', { followerId: id(11), followeeId: id(12) });

    const expected = {
      followerSidesMissing: 1,
      followerSidesOrphaned: 1,
      countersOff: 1,
      appDbCompared: true,
      appDbEdgesChecked: 2,
      appDbEdgesMissing: 1,
      appDbEdgesStale: 1,
    };
    const dry = await reconcile(true);
    expect(dry).toMatchObject({ ...expected, dryRun: true, edgesChecked: 4 });
    // A dry run changes nothing.
    expect(await followers(2)).toEqual([]);
    expect(await followers(4)).toEqual([id(3)]);
    expect(await counts(2)).toMatchObject({ followers: 6 });
    expect(await follows(5, 6)).toBe(false);
    expect(await follows(7, 8)).toBe(true);

    const repaired = await reconcile(false);
    expect(repaired).toMatchObject({ ...expected, dryRun: false });
    expect(await followers(2)).toEqual([id(1)]);
    expect(await followers(4)).toEqual([]);
    expect(await counts(2)).toMatchObject({ followers: 1, following: 0 });
    expect(await follows(5, 6)).toBe(true);
    const rel = await call<storageV1.GetRelationshipResponse>('GetRelationship', { userId: id(5), otherUserId: id(6) });
    expect(rel.relationship!.followingSince).toEqual({ seconds: Date.parse('2026-01-02T03:04:05Z') / 1000, nanos: 0 });
    expect(await counts(6)).toMatchObject({ followers: 1 });
    expect(await follows(7, 8)).toBe(false);
    expect(await counts(7)).toMatchObject({ following: 0 });
    expect((await versions.get(sourceTable, `${id(7)}:${id(8)}`))?.deleted).toBe(true);
    expect(await follows(9, 10)).toBe(true);
    expect(await follows(11, 12)).toBe(true);

    // Nothing is left to find.
    expect(await reconcile(false)).toMatchObject({
      followerSidesMissing: 0,
      followerSidesOrphaned: 0,
      countersOff: 0,
      appDbEdgesMissing: 0,
      appDbEdgesStale: 0,
      edgesChecked: 4,
    });
  }, 120_000);

  it('runs one pass at a time: FAILED_PRECONDITION while another holds the lease', async () => {
    const lease = await storage.running.app.get(MaintenanceLeases).acquire('graph-reconcile', 'another-replica', 60);
    expect('renew' in lease).toBe(true);
    try {
      await expect(reconcile(true)).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
        details: expect.stringContaining('lease held by another-replica'),
      });
    } finally {
      if ('release' in lease) await lease.release();
    }
    expect((await reconcile(true)).dryRun).toBe(true);
  });
});
