import { aggregateTopic } from '@pulse/contracts';
import { rm } from 'node:fs/promises';
import {
  ActivityType,
  type EtlTestApp,
  newRun,
  produce,
  queryTable,
  startEtl,
  TargetType,
  testKafka,
  tracked,
  waitFor,
} from './etl-test-kit';

/**
 * Two replicas running the singleton streams with LEADER_ELECTION (as the chart deploys etl-aggregates): one
 * aggregates, the other stands by; when the leader stops (a rolling update) the standby takes over and goes on
 * from the windows and offsets in the tables, counting nothing twice and losing nothing.
 */
const kafka = testKafka('leader-election');
const run = newRun();
const apps: EtlTestApp[] = [];

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 5, 1, 10);
const election = { LEADER_ELECTION: 'true', LEADER_ELECTION_RETRY_INTERVAL: '300ms' };

const views = (prefix: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) =>
    tracked(`${run.id}-${prefix}${i}`, `u${i % 20}`, ActivityType.ACTIVITY_TYPE_VIEW, from + i * 10_000, {
      type: TargetType.TARGET_TYPE_POST,
      id: `p${i % 3}`,
    }),
  );

const leads = async (app: EtlTestApp) => {
  const text = await fetch(`${app.running.httpUrl}/metrics`).then((r) => r.text());
  return /^leader_election_is_leader\{[^}]*\} 1$/m.test(text);
};

/** Views per closed hour window (its start in epoch seconds) of the engagement aggregate. */
const viewsPerWindow = async () =>
  queryTable<{ ws: number; views: number }>(
    run,
    `agg/${run.id}_post_engagement_1h`,
    'SELECT epoch(window_start)::INT AS ws, sum(views)::INT AS views FROM {t} GROUP BY ALL ORDER BY ws',
  ).catch(() => []);

beforeAll(async () => {
  await kafka.admin.ensureTopics([run.activityTopic, run.lateTopic]);
});

afterAll(async () => {
  for (const app of apps) await app.close().catch(() => undefined);
  const aggregates = ['post_engagement_1h', 'user_actions_1h', 'user_sessions'].map((a) => aggregateTopic(`${run.id}_${a}`).name);
  await kafka.admin.deleteTopics([run.activityTopic.name, run.lateTopic.name, ...aggregates]).catch(() => undefined);
  await kafka.close();
  await rm(run.lakeRoot, { recursive: true, force: true });
});

describe('etl singleton streams with a hot standby', () => {
  it('aggregates on one replica; the standby takes over when the leader stops, with no event lost or counted twice', async () => {
    const a = await startEtl(run, { ...election, LEADER_ELECTION_IDENTITY: 'a' });
    apps.push(a);
    const b = await startEtl(run, { ...election, LEADER_ELECTION_IDENTITY: 'b' });
    apps.push(b);
    expect([await leads(a), await leads(b)]).toEqual([true, false]);

    // 10:00–10:59 on the leader; an event at 12:00 closes the 10 o'clock window (end + 5 min lateness).
    await produce(kafka, run, [...views('a', T0, 300), ...views('adv1-', T0 + 2 * HOUR, 1)]);
    await waitFor(viewsPerWindow, (rows) => rows.length === 1 && rows[0].views === 300);

    await a.close();
    apps.splice(apps.indexOf(a), 1);
    await waitFor(
      () => leads(b),
      (leading) => leading,
      10_000,
    );

    // 11:00–11:59 after the takeover; an event at 14:00 closes the 11 and 12 o'clock windows.
    await produce(kafka, run, [...views('b', T0 + HOUR, 200), ...views('adv2-', T0 + 4 * HOUR, 1)]);
    const rows = await waitFor(viewsPerWindow, (r) => r.length === 3);
    expect(rows).toEqual([
      { ws: T0 / 1000, views: 300 },
      { ws: (T0 + HOUR) / 1000, views: 200 },
      { ws: (T0 + 2 * HOUR) / 1000, views: 1 },
    ]);
  }, 180_000);
});
