import { createApp, type RunningApp } from '../src/app.factory';
import { type CdcRecord, CdcTestEnv } from './support/cdc-test-env';

let env: CdcTestEnv;
let running: RunningApp;

beforeAll(async () => {
  env = await CdcTestEnv.create();
  running = await createApp(env.settings({ CDC_SNAPSHOT_MODE: 'no_data', CDC_RETRY_BACKOFF: '200ms' }));
});

afterAll(async () => {
  await running?.close();
  await env?.dispose();
});

async function insertUser(handle: string): Promise<number> {
  const { rows } = await env.query(
    `INSERT INTO ${env.name}.users (handle, display_name, email) VALUES ($1, $1, $1 || '@pulse.test') RETURNING id`,
    [handle],
  );
  return Number(rows[0].id);
}

const hasUser = (id: number) => (records: CdcRecord[]) => records.some((r) => r.key?.['id'] === id);

describe('delivery guarantee', () => {
  it('never confirms a transaction to the slot while Kafka refuses its events, and delivers it once Kafka accepts again', async () => {
    const first = await insertUser('before_outage');
    await env.read('users', hasUser(first));
    const topic = env.topic('users');

    // Kafka loses the table's topic: produces fail, the transaction below cannot be acknowledged.
    await env.kafka.admin.deleteTopics([topic.name]);
    const id = await insertUser('during_outage');
    const committed = await env.currentLsn();
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      expect((await env.slot())!.confirmed).toBeLessThan(committed);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text();
    expect(Number(/^cdc_session_failures_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);

    // The topic is back: the session resumes from the confirmed position and the transaction arrives.
    await env.kafka.admin.ensureTopics([topic]);
    const records = await env.read('users', hasUser(id), 30_000);
    expect(records.filter((r) => r.key?.['id'] === id).map((r) => r.value!.op)).toEqual(['c']);
    await env.until('the slot confirmed the transaction', async () => (await env.slot())!.confirmed >= committed);
  });
});
