import { status } from '@grpc/grpc-js';
import { cdcV1 } from '@pulse/contracts';
import { grpcClient, type UnaryClient } from '@pulse/platform';
import { issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { Client } from 'pg';
import { createApp, type RunningApp } from '../src/app.factory';
import { type CdcRecord, CdcTestEnv, PG_URL } from './support/cdc-test-env';

const { SnapshotState } = cdcV1;
const ROWS = 3_000;

// One schema for the file; the service streams only (no initial snapshot): rows reach Kafka through incremental snapshots.
let env: CdcTestEnv;
let running: RunningApp;
let client: UnaryClient;
let key: TestApiKey | undefined;

async function start(): Promise<void> {
  running = await createApp(env.settings({ CDC_SNAPSHOT_MODE: 'no_data', CDC_MAX_BATCH_RECORDS: '500' }));
  key ??= await issueTestApiKey({ label: 'cdc', pgUrl: running.config.PULSE_AUTH_PG_URL });
  client = grpcClient(running.grpcAddress, 'pulse/cdc/v1/cdc_service.proto', 'pulse.cdc.v1.CdcService', { credentials: key.key });
}

async function stop(): Promise<void> {
  client?.close();
  await running?.close();
}

beforeAll(async () => {
  env = await CdcTestEnv.create();
  await env.query(
    `INSERT INTO ${env.name}.users (handle, display_name, email, bio)
     SELECT 'seed_' || i, 'Seed ' || i, 'seed' || i || '@pulse.test', 'v0' FROM generate_series(1, ${ROWS}) i`,
  );
  await start();
});

afterAll(async () => {
  await stop();
  await key?.remove();
  await env?.dispose();
});

const users = () => `${env.name}.users`;
const snapshotStatus = (id: string) =>
  client.call<cdcV1.GetSnapshotStatusResponse>('GetSnapshotStatus', { snapshotId: id }).then((r) => r.snapshot!);

async function waitForSnapshot(id: string, done: (s: cdcV1.Snapshot) => boolean, timeoutMs = 60_000): Promise<cdcV1.Snapshot> {
  let last: cdcV1.Snapshot | undefined;
  await env.until(
    `snapshot ${id} progresses`,
    async () => {
      last = await snapshotStatus(id);
      return done(last);
    },
    timeoutMs,
  );
  return last!;
}

/** The latest record per key in topic order (per partition, so per key): its `after`, or absent after a delete or tombstone. */
function lastValues(records: readonly CdcRecord[]): Map<number, string | null> {
  const values = new Map<number, string | null>();
  for (const r of records) {
    const id = Number(r.key?.['id']);
    const after = r.value?.after;
    if (after) values.set(id, (after['bio'] as string | null) ?? null);
    else values.delete(id);
  }
  return values;
}

async function tableContents(): Promise<Map<number, string | null>> {
  const { rows } = await env.query(`SELECT id::int AS id, bio FROM ${users()}`);
  return new Map(rows.map((r) => [Number(r.id), r.bio as string | null]));
}

const sameMap = (a: Map<number, string | null>, b: Map<number, string | null>) =>
  a.size === b.size && [...a].every(([k, v]) => b.has(k) && b.get(k) === v);

/** Small transactions on random rows from `workers` connections until `stop()`: updates, deletes, inserts. */
function workload(workers: number) {
  let stopped = false;
  let ops = 0;
  const clients: Client[] = [];
  const loops = Array.from({ length: workers }, async (_, w) => {
    const pg = new Client({ connectionString: PG_URL, application_name: 'cdc-int-test-workload' });
    clients.push(pg);
    await pg.connect();
    for (let n = 0; !stopped; n++) {
      const id = 1 + Math.floor(Math.random() * ROWS * 1.1);
      const dice = Math.random();
      if (dice < 0.6) await pg.query(`UPDATE ${users()} SET bio = $2 WHERE id = $1`, [id, `w${w}_${n}`]);
      else if (dice < 0.8) await pg.query(`DELETE FROM ${users()} WHERE id = $1`, [id]);
      else
        await pg.query(`INSERT INTO ${users()} (handle, display_name, email, bio) VALUES ($1, 'New', $1 || '@pulse.test', $2)`, [
          `new_${w}_${n}`,
          `w${w}_${n}`,
        ]);
      ops++;
    }
  });
  return {
    get ops() {
      return ops;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.end()));
    },
  };
}

describe('incremental snapshots', () => {
  it('rejects a bad request with INVALID_ARGUMENT naming the field, an unknown table with NOT_FOUND, an unknown id with NOT_FOUND', async () => {
    const invalid = await client.call('TriggerIncrementalSnapshot', { tables: [users(), 'no schema; drop'] }).catch((e) => e);
    expect(invalid).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^tables\[1\]: "no schema; drop" is not a schema\.table name/),
    });
    const empty = await client.call('TriggerIncrementalSnapshot', { tables: [] }).catch((e) => e);
    expect(empty).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'tables: at least one table is required' });
    const chunk = await client.call('TriggerIncrementalSnapshot', { tables: [users()], chunkSize: 100_001 }).catch((e) => e);
    expect(chunk).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'chunk_size: at most 100000' });
    const missing = await client.call('TriggerIncrementalSnapshot', { tables: [`${env.name}.nope`] }).catch((e) => e);
    expect(missing).toMatchObject({ code: status.NOT_FOUND, details: expect.stringMatching(/nope in publication/) });
    const unknown = await client.call('GetSnapshotStatus', { snapshotId: 'nope' }).catch((e) => e);
    expect(unknown).toMatchObject({ code: status.NOT_FOUND });
  });

  it('snapshots a table in chunks while inserts, updates and deletes run: the last value per key on Kafka equals the table', async () => {
    const load = workload(3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const triggered = await client.call<cdcV1.TriggerIncrementalSnapshotResponse>('TriggerIncrementalSnapshot', {
      tables: [users()],
      chunkSize: 250,
    });
    const id = triggered.snapshot!.id;
    expect(triggered.snapshot).toMatchObject({ chunkSize: 250, tables: [{ table: users(), additionalCondition: '' }] });
    expect((await client.call<cdcV1.GetStatusResponse>('GetStatus', {})).connector!.activeSnapshotId).toBe(id);
    // A second one while the first runs is refused.
    const busy = await client.call('TriggerIncrementalSnapshot', { tables: [users()] }).catch((e) => e);
    expect(busy).toMatchObject({ code: status.FAILED_PRECONDITION });

    const done = await waitForSnapshot(id, (s) => s.state === SnapshotState.SNAPSHOT_STATE_COMPLETED);
    const elapsed = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await load.stop();
    expect(load.ops).toBeGreaterThan(100);
    expect(done.tables[0]).toMatchObject({ table: users(), state: SnapshotState.SNAPSHOT_STATE_COMPLETED });
    expect(done.tables[0].chunksCompleted).toBeGreaterThanOrEqual(Math.floor(ROWS / 250));
    expect(done.tables[0].rowsEmitted).toBeGreaterThan(ROWS / 2);
    expect(done.startedAt!.seconds).toBeGreaterThan(0);
    expect(done.finishedAt!.seconds).toBeGreaterThanOrEqual(done.startedAt!.seconds);
    expect((await client.call<cdcV1.GetStatusResponse>('GetStatus', {})).connector!.activeSnapshotId).toBe('');

    const expected = await tableContents();
    const records = await env.read('users', (all) => sameMap(lastValues(all), expected), 30_000);
    const actual = lastValues(records);
    expect(actual.size).toBe(expected.size);
    expect([...actual].filter(([k, v]) => expected.get(k) !== v)).toEqual([]);
    const reads = records.filter((r) => r.value?.op === 'r');
    expect(reads.length).toBe(done.tables[0].rowsEmitted);
    expect(reads[0].value!.source).toMatchObject({ snapshot: 'incremental', table: 'users', schema: env.name });
    expect(reads[0].value).toMatchObject({ op: 'r', before: null });
    process.stdout.write(
      `incremental snapshot of ${ROWS} rows beside ${load.ops} concurrent changes: ${elapsed} ms, ${done.tables[0].chunksCompleted} chunks\n`,
    );
  });

  it('stops a running snapshot on request, and resumes a running one after a restart from its last chunk', async () => {
    const first = await client.call<cdcV1.TriggerIncrementalSnapshotResponse>('TriggerIncrementalSnapshot', {
      tables: [users()],
      chunkSize: 1,
    });
    const stopped = await client.call<cdcV1.StopIncrementalSnapshotResponse>('StopIncrementalSnapshot', { snapshotId: first.snapshot!.id });
    expect(stopped.snapshot).toMatchObject({
      state: SnapshotState.SNAPSHOT_STATE_STOPPED,
      tables: [{ state: SnapshotState.SNAPSHOT_STATE_STOPPED }],
    });
    expect((await snapshotStatus(first.snapshot!.id)).state).toBe(SnapshotState.SNAPSHOT_STATE_STOPPED);

    const { rows } = await env.query(`SELECT count(*)::int AS n FROM ${users()} WHERE id % 3 = 0`);
    const triggered = await client.call<cdcV1.TriggerIncrementalSnapshotResponse>('TriggerIncrementalSnapshot', {
      tables: [users()],
      chunkSize: 20,
      additionalConditions: { [users()]: 'id % 3 = 0' },
    });
    const id = triggered.snapshot!.id;
    const before = await waitForSnapshot(id, (s) => s.tables[0].chunksCompleted >= 3);
    await stop();
    await start();
    const done = await waitForSnapshot(id, (s) => s.state === SnapshotState.SNAPSHOT_STATE_COMPLETED);
    expect(done.tables[0].chunksCompleted).toBeGreaterThan(before.tables[0].chunksCompleted);
    expect(done.tables[0]).toMatchObject({ additionalCondition: 'id % 3 = 0', rowsEmitted: rows[0].n });
  });
});
