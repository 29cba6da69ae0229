import { ingestV1, type storageV1, Topics } from '@pulse/contracts';
import { grpcClient, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import { eventually, groupsAtEnd, issueTestApiKey, type ServiceProcess, startService, type TestApiKey } from '@pulse/platform/testing';
import { Client as PgClient } from 'pg';
import { CASSANDRA, dropAppDatabase, KAFKA_BROKERS, PG_URL, startAppDatabase } from './support/app-database';
import { randomUUID } from 'node:crypto';

// The platform as a client sees it: the built ingest, cdc and storage services as separate processes,
// the app database written with SQL, results read back over gRPC.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
const schema = `e2e_${run}`;
const keyspace = `e2e_${run}`;

let pg: PgClient;
let kafka: PlatformaticKafkaClient;
const services: ServiceProcess[] = [];
let key: TestApiKey | undefined;
let ingest: UnaryClient;
let storage: UnaryClient;

beforeAll(async () => {
  pg = new PgClient({ connectionString: PG_URL });
  await pg.connect();
  kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `e2e-${run}` });
  // Storage's activity consumer starts where the shared topic ends now.
  const activityGroup = `e2e-activity-${run}`;
  await groupsAtEnd(kafka, [activityGroup], [Topics.activityTracked]);

  key = await issueTestApiKey({ label: 'e2e', scopes: ['events:write', 'storage:read'], pgUrl: PG_URL });
  services.push(await startAppDatabase(schema));
  services.push(
    await startService('storage', {
      KAFKA_BROKERS,
      CASSANDRA_CONTACT_POINTS: CASSANDRA,
      CASSANDRA_KEYSPACE: keyspace,
      STORAGE_AUTO_MIGRATE: 'true',
      STORAGE_CDC_SCHEMA: schema,
      STORAGE_CDC_GROUP: `e2e-cdc-${run}`,
      STORAGE_ACTIVITY_GROUP: activityGroup,
      MEDIA_ROOT: `/tmp/pulse-e2e-${run}/media`,
      MEDIA_ARCHIVE_ROOT: `/tmp/pulse-e2e-${run}/archive`,
    }),
  );
  services.push(await startService('ingest', { KAFKA_BROKERS, INGEST_DEDUP_KEY_PREFIX: `e2e:${run}:` }));
  const credentials = key.key;
  ingest = grpcClient(services[2].grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', { credentials });
  storage = grpcClient(services[1].grpcAddress, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', {
    credentials,
  });
}, 240_000);

afterAll(async () => {
  ingest?.close();
  storage?.close();
  for (const s of services.reverse()) await s.stop();
  await key?.remove();
  await kafka?.close();
  if (pg) {
    await dropAppDatabase(pg, schema, keyspace);
    await pg.end();
  }
}, 120_000);

const profile = (userId: string) => storage.call<storageV1.GetProfileResponse>('GetProfile', { userId }).then((r) => r.profile);

describe('the platform end to end', () => {
  it('a user written to the app database becomes a profile in storage, and a rename follows', async () => {
    const { rows } = await pg.query(
      `INSERT INTO ${schema}.users (handle, display_name, email) VALUES ('ada_e2e', 'Ada', 'ada@example.org') RETURNING id`,
    );
    const id = String(rows[0].id);
    expect(
      await eventually(
        () => profile(id),
        (p) => p?.handle === 'ada_e2e',
      ),
    ).toMatchObject({ displayName: 'Ada' });

    await pg.query(`UPDATE ${schema}.users SET handle = 'ada_renamed' WHERE id = $1`, [id]);
    await eventually(
      () => profile(id),
      (p) => p?.handle === 'ada_renamed',
    );
    const byHandle = await storage.call<storageV1.GetProfileByHandleResponse>('GetProfileByHandle', { handle: 'ada_renamed' });
    expect(byHandle.profile!.userId).toBe(id);
  });

  it('follows written to the app database show in storage counts, and an unfollow takes one back', async () => {
    const ids: string[] = [];
    for (const handle of ['f_one', 'f_two', 'f_three']) {
      const { rows } = await pg.query(
        `INSERT INTO ${schema}.users (handle, display_name, email) VALUES ($1, $1, $1 || '@example.org') RETURNING id`,
        [handle],
      );
      ids.push(String(rows[0].id));
    }
    await pg.query(`INSERT INTO ${schema}.follows (follower_id, followee_id) VALUES ($1, $3), ($2, $3)`, ids);
    const counts = () => storage.call<storageV1.GetFollowCountsResponse>('GetFollowCounts', { userId: ids[2] }).then((r) => r.counts);
    expect(await eventually(counts, (c) => c?.followers === 2)).toMatchObject({ followers: 2 });
    await pg.query(`DELETE FROM ${schema}.follows WHERE follower_id = $1 AND followee_id = $2`, [ids[0], ids[2]]);
    expect(await eventually(counts, (c) => c?.followers === 1)).toMatchObject({ followers: 1 });
  });

  it('activity tracked through ingest is listed by storage, newest first', async () => {
    const userId = `e2e-user-${run}`;
    const now = Math.floor(Date.now() / 1000);
    const events = Array.from({ length: 5 }, (_, i) => ({
      eventId: `${userId}-${i}`,
      userId,
      type: ingestV1.ActivityType.ACTIVITY_TYPE_LIKE,
      target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: `p-${i}` },
      occurredAt: { seconds: now - 60 + i, nanos: 0 },
    }));
    const tracked = await ingest.call<ingestV1.TrackEventsResponse>('TrackEvents', { events, clientId: 'e2e' });
    expect(tracked.acceptedCount).toBe(5);
    const list = () => storage.call<storageV1.ListActivityResponse>('ListActivity', { userId, pageSize: 10 }).then((r) => r.activities);
    const activities = await eventually(list, (a) => a?.length === 5);
    expect(activities.map((a) => a.eventId)).toEqual(events.map((e) => e.eventId).reverse());
  });
});
