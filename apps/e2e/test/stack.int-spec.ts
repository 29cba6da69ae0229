import { defineTopic, utf8Codec } from '@pulse/contracts';
import { PlatformaticKafkaClient } from '@pulse/platform';
import { readTopicUntil, stackCassandraClient } from '@pulse/platform/testing';
import Redis from 'ioredis';
import { Client as PgClient } from 'pg';
import { randomUUID } from 'node:crypto';

// The stores every later service builds on, reached the way services reach them (tools/stack ports).
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:26379';
const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092';
const run = randomUUID().replace(/-/g, '').slice(0, 12);

describe('the local stack', () => {
  it("takes one send of records adding up to several times the broker's message.max.bytes, in order", async () => {
    // A backlog (closed windows after a pause, a replay) can be many records at once: the platform's producer splits
    // them into produce requests the broker accepts instead of failing the whole send with MESSAGE_TOO_LARGE.
    const topic = defineTopic({
      name: `pulse.e2e.t${run}.big_send.v1`,
      description: 'A test topic of one partition: one send of 3 MiB.',
      partitions: 1,
      config: {},
      key: utf8Codec,
      value: utf8Codec,
    });
    const kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `e2e-${run}` });
    try {
      await kafka.admin.ensureTopics([topic]);
      const filler = 'x'.repeat(3_000);
      const records = Array.from({ length: 1_000 }, (_, n) => ({ key: 'k', value: `${n}:${filler}` }));
      await kafka.producer.send(topic, records);
      const read = await readTopicUntil(kafka, topic, {
        filter: () => true,
        done: (kept) => kept.length >= records.length,
        timeoutMs: 30_000,
      });
      expect(read.map((r) => Number(r.value!.split(':')[0]))).toEqual(records.map((_, n) => n));
    } finally {
      await kafka.admin.deleteTopics([topic.name]).catch(() => undefined);
      await kafka.close();
    }
  }, 60_000);

  it('creates a Cassandra keyspace and table, writes at LOCAL_QUORUM and reads the row back', async () => {
    const keyspace = `e2e_${run}`;
    // Pulse's session settings: the stack's login role, LOCAL_QUORUM.
    const client = stackCassandraClient();
    await client.connect();
    try {
      await client.execute(
        `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
      );
      await client.execute(`CREATE TABLE ${keyspace}.profiles (user_id text PRIMARY KEY, handle text)`);
      await client.execute(`INSERT INTO ${keyspace}.profiles (user_id, handle) VALUES (?, ?)`, ['u1', 'ada'], { prepare: true });
      const result = await client.execute(`SELECT handle FROM ${keyspace}.profiles WHERE user_id = ?`, ['u1'], { prepare: true });
      expect(result.first().get('handle')).toBe('ada');
      const version = await client.execute('SELECT release_version FROM system.local');
      expect(version.first().get('release_version')).toMatch(/^5\.0\./);
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      await client.shutdown();
    }
  });

  it('answers Redis commands with keys isolated by prefix', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const key = `e2e:${run}:k`;
      await redis.set(key, 'v', 'PX', 10_000);
      expect(await redis.get(key)).toBe('v');
      expect(await redis.pttl(key)).toBeGreaterThan(0);
      const info = await redis.info('server');
      expect(info).toMatch(/redis_version:7\./);
    } finally {
      redis.disconnect();
    }
  });

  it('runs PostgreSQL 15 with logical decoding enabled for change data capture', async () => {
    const pg = new PgClient({ connectionString: PG_URL });
    await pg.connect();
    try {
      const { rows } = await pg.query(
        "SELECT current_setting('wal_level') AS wal_level, current_setting('server_version_num')::int AS version",
      );
      expect(rows[0].wal_level).toBe('logical');
      expect(rows[0].version).toBeGreaterThanOrEqual(150000);
      const table = `e2e_${run}`;
      await pg.query(`CREATE TEMP TABLE ${table} (id int primary key, name text)`);
      await pg.query(`INSERT INTO ${table} VALUES (1, 'ada')`);
      expect((await pg.query(`SELECT name FROM ${table} WHERE id = 1`)).rows[0].name).toBe('ada');
    } finally {
      await pg.end();
    }
  });
});
