import { status } from '@grpc/grpc-js';
import { cdcV1 } from '@pulse/contracts';
import { grpcClient, type Readiness, type UnaryClient } from '@pulse/platform';
import { issueTestApiKey, readTopicUntil, type TestApiKey } from '@pulse/platform/testing';
import { createApp, type RunningApp } from '../src/app.factory';
import { CdcTopics } from '../src/capture/cdc-topics';
import { CdcTestEnv } from './support/cdc-test-env';

const { ConnectorState } = cdcV1;
const LAG_LIMIT = 256 * 1024;

// One service for the file: heartbeats and lag checks every 300 ms, a small lag limit.
let env: CdcTestEnv;
let running: RunningApp;
let client: UnaryClient;
let key: TestApiKey;

beforeAll(async () => {
  env = await CdcTestEnv.create();
  running = await createApp(
    env.settings({
      CDC_SNAPSHOT_MODE: 'no_data',
      CDC_HEARTBEAT_INTERVAL: '300ms',
      CDC_LAG_CHECK_INTERVAL: '300ms',
      CDC_MAX_LAG_BYTES: String(LAG_LIMIT),
    }),
  );
  key = await issueTestApiKey({ label: 'cdc', pgUrl: running.config.PULSE_AUTH_PG_URL });
  client = grpcClient(running.grpcAddress, 'pulse/cdc/v1/cdc_service.proto', 'pulse.cdc.v1.CdcService', { credentials: key.key });
});

afterAll(async () => {
  client?.close();
  await key?.remove();
  await running?.close();
  await env?.dispose();
});

const getStatus = () => client.call<cdcV1.GetStatusResponse>('GetStatus', {}).then((r) => r.connector!);

async function insertUsers(count: number, prefix: string): Promise<void> {
  await env.query(
    `INSERT INTO ${env.name}.users (handle, display_name, email, bio)
     SELECT '${prefix}_' || i, 'U', '${prefix}' || i || '@pulse.test', repeat(md5(i::text), 8) FROM generate_series(1, ${count}) i`,
  );
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${running.httpUrl}/metrics`)).text();
  return Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'm').exec(text)?.[1]);
}

describe('CdcService over gRPC', () => {
  it('reports the connector: state, slot position and lag, per-table counts', async () => {
    await insertUsers(3, 'status');
    await env.until('the inserts are counted', async () =>
      (await getStatus()).tables.some((t) => t.table === `${env.name}.users` && t.inserts >= 3),
    );
    const connector = await getStatus();
    expect(connector).toMatchObject({
      name: env.name,
      state: ConnectorState.CONNECTOR_STATE_RUNNING,
      publication: env.name,
      lastError: '',
      slot: { slotName: env.name, plugin: 'pgoutput', database: 'pulse', active: true },
    });
    expect(connector.slot!.confirmedFlushLsn).toBeGreaterThan(0);
    expect(connector.slot!.currentWalLsn).toBeGreaterThanOrEqual(connector.slot!.confirmedFlushLsn);
    expect(connector.slot!.lagBytes).toBe(connector.slot!.currentWalLsn - connector.slot!.confirmedFlushLsn);
    expect(connector.tables.find((t) => t.table === `${env.name}.users`)).toMatchObject({ inserts: 3, updates: 0, deletes: 0 });
    expect(connector.startedAt!.seconds).toBeGreaterThan(0);
  });

  it('pauses capture (the slot keeps the changes) and resumes from the confirmed position', async () => {
    const paused = await client.call<cdcV1.PauseCaptureResponse>('PauseCapture', { reason: 'maintenance' });
    expect(paused.connector!.state).toBe(ConnectorState.CONNECTOR_STATE_PAUSED);
    await env.until('the slot is released', async () => !(await env.slot())!.active);
    await insertUsers(1, 'paused');
    const committed = await env.currentLsn();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await env.slot())!.confirmed).toBeLessThan(committed);

    const resumed = await client.call<cdcV1.ResumeCaptureResponse>('ResumeCapture', { reason: 'done' });
    expect(resumed.connector!.state).toBe(ConnectorState.CONNECTOR_STATE_RUNNING);
    const records = await env.read('users', (all) => all.some((r) => r.value?.after?.['handle'] === 'paused_1'));
    expect(records.filter((r) => r.value?.after?.['handle'] === 'paused_1').map((r) => r.value!.op)).toEqual(['c']);
  });

  it('alerts when the slot retains more WAL than CDC_MAX_LAG_BYTES: error log, metric, readiness check degraded', async () => {
    await client.call('PauseCapture', { reason: 'let WAL pile up' });
    await insertUsers(2_000, 'lag');
    await env.until('the lag alert is raised', async () => (await metric('cdc_slot_lag_exceeded')) === 1);
    expect(await metric('cdc_slot_lag_bytes')).toBeGreaterThan(LAG_LIMIT);
    const readiness = (await (await fetch(`${running.httpUrl}/health/ready`)).json()) as Readiness;
    expect(readiness.checks['slot-lag']).toMatchObject({
      ok: false,
      critical: false,
      error: expect.stringMatching(/above CDC_MAX_LAG_BYTES/),
    });

    await client.call('ResumeCapture', {});
    await env.until('the lag alert clears', async () => (await metric('cdc_slot_lag_exceeded')) === 0, 20_000);
    const cleared = (await (await fetch(`${running.httpUrl}/health/ready`)).json()) as Readiness;
    expect(cleared.checks['slot-lag'].ok).toBe(true);
  });

  it('moves the slot forward through heartbeats while the captured tables are quiet', async () => {
    // WAL written outside the publication: nothing to capture, yet the slot must not hold it back.
    await env.query(`CREATE TABLE ${env.name}_quiet (id int, pad text)`);
    try {
      await env.query(`INSERT INTO ${env.name}_quiet SELECT i, repeat('x', 500) FROM generate_series(1, 2000) i`);
      const written = await env.currentLsn();
      await env.until('the slot confirmed past the unrelated WAL', async () => (await env.slot())!.confirmed >= written);
      const beats = await readTopicUntil(env.kafka, CdcTopics.heartbeat, {
        filter: (r) => r.value?.slotName === env.name,
        done: (kept) => kept.length >= 2,
      });
      expect(beats[0].key).toBe(env.name);
      expect(beats[0].value).toMatchObject({ connector: env.name, state: ConnectorState.CONNECTOR_STATE_RUNNING, slotName: env.name });
      expect(await metric('cdc_heartbeats_emitted_total')).toBeGreaterThanOrEqual(2);
    } finally {
      await env.query(`DROP TABLE ${env.name}_quiet`);
    }
  });

  it('answers INVALID_ARGUMENT for a too long reason', async () => {
    const invalid = await client.call('PauseCapture', { reason: 'x'.repeat(513) }).catch((e) => e);
    expect(invalid).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'reason: at most 512 characters' });
  });

  it('fails fast with a clear message when its replication slot disappears', async () => {
    await env.dropSlot();
    const failure = await Promise.race([
      running.failure,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000)),
    ]);
    expect(failure?.message).toMatch(new RegExp(`replication slot "${env.name}" no longer exists.*DELETE FROM pulse_cdc.connector_state`));
    const connector = await getStatus();
    expect(connector.state).toBe(ConnectorState.CONNECTOR_STATE_FAILED);
    expect(connector.lastError).toMatch(/no longer exists/);
    expect((await fetch(`${running.httpUrl}/health/ready`)).status).toBe(503);
    // A restart refuses to begin again silently, for the same reason.
    await expect(createApp(env.settings({ CDC_SNAPSHOT_MODE: 'no_data' }))).rejects.toThrow(/no longer exists/);
  });
});
