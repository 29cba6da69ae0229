import { cdcV1, utf8Codec } from '@pulse/contracts';
import { readTopicUntil } from '@pulse/platform/testing';
import { randomBytes } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';
import { type CdcRecord, CdcTestEnv, lsnOf } from './support/cdc-test-env';

// One service for the file, streaming the test's own schema (no initial snapshot: tables start empty).
let env: CdcTestEnv;
let running: RunningApp;

beforeAll(async () => {
  env = await CdcTestEnv.create();
  await env.query(`
    CREATE TABLE ${env.name}.all_types (
      id int PRIMARY KEY, i2 smallint, i8 bigint, big bigint, num numeric(10, 3), f4 real, f8 double precision,
      nan double precision, b boolean, t text, vc varchar(20), ch char(3), u uuid, j json, jb jsonb, ba bytea,
      d date, tm time, tm3 time(3), ts timestamp, ts3 timestamp(3), tstz timestamptz, tstz0 timestamptz(0),
      iv interval, arr int[], tarr text[], en ${env.name}.post_visibility, enarr ${env.name}.post_visibility[],
      nul text, m money)`);
  env.extraTables.push('all_types');
  running = await createApp(env.settings({ CDC_SNAPSHOT_MODE: 'no_data' }));
});

afterAll(async () => {
  await running?.close();
  await env?.dispose();
});

async function user(handle: string, extra: Record<string, unknown> = {}): Promise<number> {
  const columns = ['handle', 'display_name', 'email', ...Object.keys(extra)];
  const values = [handle, handle.toUpperCase(), `${handle}@pulse.test`, ...Object.values(extra)];
  const { rows } = await env.query(
    `INSERT INTO ${env.name}.users (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    values,
  );
  return Number(rows[0].id);
}

const forKey = (id: number) => (r: CdcRecord) => r.key?.['id'] === id;

describe('streaming changes', () => {
  it('writes inserts, updates and deletes as Debezium envelopes keyed by primary key, a tombstone after each delete', async () => {
    const id = await user('alice');
    await env.query(`UPDATE ${env.name}.users SET bio = 'hello' WHERE id = $1`, [id]);
    await env.query(`DELETE FROM ${env.name}.users WHERE id = $1`, [id]);

    const records = (await env.read('users', (all) => all.filter(forKey(id)).length >= 4)).filter(forKey(id));
    expect(records.map((r) => r.value?.op ?? 'tombstone')).toEqual(['c', 'u', 'd', 'tombstone']);
    const [created, updated, deleted, tombstone] = records;
    expect(created.key).toEqual({ id });
    expect(created.value).toMatchObject({
      before: null,
      after: { id, handle: 'alice', display_name: 'ALICE', bio: null, is_verified: false, follower_count: 0 },
      op: 'c',
      source: { connector: 'postgresql', name: env.name, db: 'pulse', schema: env.name, table: 'users', snapshot: 'false', xmin: null },
      transaction: { total_order: 1, data_collection_order: 1 },
    });
    // users.email is private: left out of the events by default (CDC_COLUMN_EXCLUDE_LIST).
    expect(created.value!.after).not.toHaveProperty('email');
    const source = created.value!.source;
    expect(source.lsn).toEqual(expect.any(Number));
    expect(source.txId).toEqual(expect.any(Number));
    expect(created.value!.transaction!.id).toMatch(new RegExp(`^${source.txId}:\\d+$`));
    expect(JSON.parse(source.sequence!)).toEqual([expect.any(String), String(source.lsn)]);
    expect(created.value!.after!['created_at']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(Math.abs(created.value!.ts_ms - Date.now())).toBeLessThan(60_000);
    expect(source.ts_ms).toBeLessThanOrEqual(created.value!.ts_ms);
    // REPLICA IDENTITY DEFAULT: no old row on update; the key alone (other columns null) on delete.
    expect(updated.value).toMatchObject({ op: 'u', before: null, after: { id, bio: 'hello' } });
    expect(deleted.value).toMatchObject({ op: 'd', after: null, before: { id, handle: null, bio: null } });
    expect(tombstone.key).toEqual({ id });
    expect(tombstone.value).toBeNull();
  });

  it('keys a composite primary key by all its columns', async () => {
    const [a, b] = [await user('carol'), await user('dave')];
    await env.query(`INSERT INTO ${env.name}.follows (follower_id, followee_id) VALUES ($1, $2)`, [a, b]);
    await env.query(`DELETE FROM ${env.name}.follows WHERE follower_id = $1 AND followee_id = $2`, [a, b]);
    const records = await env.read('follows', (all) => all.length >= 3);
    expect(records.map((r) => [r.key, r.value?.op ?? null])).toEqual([
      [{ follower_id: a, followee_id: b }, 'c'],
      [{ follower_id: a, followee_id: b }, 'd'],
      [{ follower_id: a, followee_id: b }, null],
    ]);
    expect(records[1].value!.before).toEqual({ follower_id: a, followee_id: b, created_at: null, muted: null });
  });

  it('delivers every row of a multi-row statement although its rows share one WAL position', async () => {
    // COPY writes its rows with multi-insert WAL records: several rows, one LSN.
    await env.query(
      `COPY ${env.name}.users (handle, display_name, email) FROM PROGRAM 'for i in $(seq 1 300); do echo "copy_$i,Copy $i,copy$i@pulse.test"; done' WITH (FORMAT csv)`,
    );
    const copied = (r: CdcRecord) => String(r.value?.after?.['handle'] ?? '').startsWith('copy_');
    const records = (await env.read('users', (all) => all.filter(copied).length >= 300)).filter(copied);
    expect(new Set(records.map((r) => r.value!.after!['handle'])).size).toBe(300);
    expect(records).toHaveLength(300);
    expect(new Set(records.map(lsnOf)).size).toBeLessThan(300);
    // Spread over the topic's partitions by key; together they are the statement's 300 events, in transaction order.
    expect(records.map((r) => r.value!.transaction!.total_order).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 300 }, (_, i) => i + 1),
    );
  });

  it("converts column types to Debezium's JSON values", async () => {
    await env.query(`
      INSERT INTO ${env.name}.all_types VALUES (
        1, -32768, 9007199254740991, 9223372036854775807, 1234567.891, 1.5, 2.25, 'NaN', true, 'text ✓', 'varchar', 'ab',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b": [1, 2]}', '\\x00ff', '2024-03-01', '13:45:30.123456',
        '13:45:30.5', '2024-03-01 12:00:00.123456', '2024-03-01 12:00:00.5', '2024-03-01 14:00:00.25+02', '2024-03-01 12:00:00.7+00',
        '1 day 2 hours 3.5 seconds', '{1,NULL,3}', '{"a b",c}', 'followers', '{public,private}', NULL, 12.5)`);
    // Read the raw JSON: a bigint beyond 2^53 must stay exact in the text.
    const raw = await readTopicUntil(
      env.kafka,
      { ...env.topic('all_types'), value: utf8Codec },
      { filter: () => true, done: (k) => k.length >= 1 },
    );
    expect(raw[0].value).toContain('"big":9223372036854775807');
    const after = JSON.parse(raw[0].value!).after;
    expect(after).toEqual({
      id: 1,
      i2: -32768,
      i8: 9007199254740991,
      // Exact in the JSON text (checked above); a JavaScript number can only approximate it.
      big: Number('9223372036854775807'),
      num: '1234567.891',
      f4: 1.5,
      f8: 2.25,
      nan: 'NaN',
      b: true,
      t: 'text ✓',
      vc: 'varchar',
      ch: 'ab ',
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      j: '{"a": 1}',
      jb: '{"b": [1, 2]}',
      ba: Buffer.from([0, 255]).toString('base64'),
      d: 19783,
      tm: 49_530_123_456,
      tm3: 49_530_500,
      ts: 1_709_294_400_123_456,
      ts3: 1_709_294_400_500,
      tstz: '2024-03-01T12:00:00.250000Z',
      tstz0: '2024-03-01T12:00:01Z',
      iv: 93_603_500_000,
      arr: [1, null, 3],
      tarr: ['a b', 'c'],
      en: 'followers',
      enarr: ['public', 'private'],
      nul: null,
      m: '12.50',
    });
  });

  it('sends the whole old row as `before` under REPLICA IDENTITY FULL, and a placeholder for an unchanged TOASTed value', async () => {
    const author = await user('erin', { bio: randomBytes(12_000).toString('hex') });
    await env.query(`ALTER TABLE ${env.name}.posts REPLICA IDENTITY FULL`);
    const { rows } = await env.query(
      `INSERT INTO ${env.name}.posts (author_id, body, tags) VALUES ($1, 'first post', '{intro}') RETURNING id`,
      [author],
    );
    const post = Number(rows[0].id);
    await env.query(`UPDATE ${env.name}.posts SET like_count = 5 WHERE id = $1`, [post]);
    await env.query(`UPDATE ${env.name}.users SET display_name = 'Erin' WHERE id = $1`, [author]);

    const posts = (await env.read('posts', (all) => all.filter(forKey(post)).length >= 2)).filter(forKey(post));
    expect(posts[1].value).toMatchObject({
      op: 'u',
      before: { id: post, author_id: author, body: 'first post', like_count: 0, tags: ['intro'], visibility: 'public', score: '0.000000' },
      after: { id: post, like_count: 5 },
    });
    const users = (await env.read('users', (all) => all.filter((r) => r.key?.['id'] === author && r.value?.op === 'u').length >= 1)).filter(
      (r) => r.key?.['id'] === author && r.value?.op === 'u',
    );
    // The bio was not part of the update and lives out of line: PostgreSQL does not send it.
    expect(users[0].value!.after).toMatchObject({ display_name: 'Erin', bio: '__debezium_unavailable_value' });
  });

  it("turns a primary key change into a delete, a tombstone and a create with Debezium's key headers", async () => {
    const id = await user('frank');
    const moved = id + 1_000_000;
    await env.query(`UPDATE ${env.name}.users SET id = $2 WHERE id = $1`, [id, moved]);
    const records = (await env.read('users', (all) => all.filter(forKey(moved)).length >= 1)).filter(
      (r) => forKey(id)(r) || forKey(moved)(r),
    );
    expect(records.map((r) => [r.key, r.value?.op ?? null])).toEqual([
      [{ id }, 'c'],
      [{ id }, 'd'],
      [{ id }, null],
      [{ id: moved }, 'c'],
    ]);
    expect(records[1].headers['__debezium.newkey']).toBe(JSON.stringify({ id: moved }));
    expect(records[2].headers['__debezium.newkey']).toBe(JSON.stringify({ id: moved }));
    expect(records[3].headers['__debezium.oldkey']).toBe(JSON.stringify({ id }));
    // Debezium 3.x's connector context headers, on every record, one run id per process.
    for (const r of records) {
      expect(r.headers).toMatchObject({
        '__debezium.context.connectorLogicalName': env.name,
        '__debezium.context.taskId': '0',
        '__debezium.context.connectorName': 'postgresql',
        '__debezium.context.runId': records[0].headers['__debezium.context.runId'],
      });
    }
    expect(records[1].value!.source).toMatchObject({ origin: null, origin_lsn: null });
    expect(records[1].value!.before).toMatchObject({ id });
    expect(records[3].value!.after).toMatchObject({ id: moved, handle: 'frank' });
  });

  it('writes a truncate event (op t) without key, before or after', async () => {
    const author = await user('grace');
    const { rows } = await env.query(`INSERT INTO ${env.name}.posts (author_id, body) VALUES ($1, 'p') RETURNING id`, [author]);
    await env.query(`INSERT INTO ${env.name}.comments (post_id, author_id, body) VALUES ($1, $2, 'nice')`, [rows[0].id, author]);
    await env.query(`TRUNCATE ${env.name}.comments`);
    const records = await env.read('comments', (all) => all.some((r) => r.value?.op === 't'));
    const truncate = records.find((r) => r.value?.op === 't')!;
    expect(truncate.key).toBeNull();
    expect(truncate.value).toMatchObject({ op: 't', before: null, after: null, source: { table: 'comments', schema: env.name } });
  });

  it('puts a schema change on pulse.cdc.schema_changes.v1 before the first row of the new shape', async () => {
    await user('heidi');
    await env.query(`ALTER TABLE ${env.name}.users ADD COLUMN locale varchar(10) NOT NULL DEFAULT 'en'`);
    const id = await user('ivan', { locale: 'fr' });

    const rows = (await env.read('users', (all) => all.some(forKey(id)))).filter(forKey(id));
    expect(rows[0].value!.after).toMatchObject({ handle: 'ivan', locale: 'fr' });
    const users = `${env.name}.users`;
    const changes = (
      await env.schemaChanges((all) =>
        all.some((r) => r.key === users && r.value?.changeType === cdcV1.SchemaChangeType.SCHEMA_CHANGE_TYPE_ALTER),
      )
    ).filter((r) => r.key === users);
    const types = changes.map((r) => r.value!.changeType);
    expect(types[0]).toBe(cdcV1.SchemaChangeType.SCHEMA_CHANGE_TYPE_CREATE);
    const alter = changes.find((r) => r.value!.changeType === cdcV1.SchemaChangeType.SCHEMA_CHANGE_TYPE_ALTER)!;
    expect(alter.value).toMatchObject({ database: 'pulse', schema: env.name, table: 'users' });
    expect(alter.value!.columns.find((c: cdcV1.Column) => c.name === 'locale')).toEqual({
      name: 'locale',
      typeName: 'character varying',
      optional: false,
      primaryKey: false,
      position: 11,
      length: 10,
      scale: 0,
      defaultValue: "'en'::character varying",
    });
    expect(alter.value!.columns.find((c: cdcV1.Column) => c.name === 'id')).toMatchObject({ primaryKey: true, typeName: 'bigint' });
    expect(alter.timestampMs).toBeLessThanOrEqual(rows[0].timestampMs);
    expect(alter.value!.lsn).toBeLessThanOrEqual(rows[0].value!.source.lsn);
  });

  it('confirms the slot past a transaction once its events are on Kafka', async () => {
    const id = await user('judy');
    const committedAt = await env.currentLsn();
    await env.read('users', (all) => all.some(forKey(id)));
    await env.until('the slot confirmed the transaction', async () => (await env.slot())!.confirmed >= committedAt);
  });
});
