import { aggregateTopic, bytesCodec, deadLetterTopic, defineTopic, etlV1, featuresV1, windowAggregateKey } from '@pulse/contracts';
import { DeadLetterHeaders, PlatformaticKafkaClient, type UnaryClient } from '@pulse/platform';
import { eventually, readTopicUntil } from '@pulse/platform/testing';
import { FeatureStoreWorld, stackConfig, str, ts } from './feature-store-test-app';

const { FeatureStatus } = featuresV1;
const HOUR = 3_600_000;

const world = new FeatureStoreWorld({ FEATURE_STORE_AGGREGATES_CONSUMER: 'true' });
const aggregate = `fs_test_${world.run}`;
const topic = aggregateTopic(aggregate);
const laterTopic = aggregateTopic(`${aggregate}_later`);
const group = `fs-test-${world.run}`;
const kafka = new PlatformaticKafkaClient({ brokers: stackConfig.KAFKA_BROKERS, clientId: `fs-aggregates-test-${world.run}` });
let client: UnaryClient;

beforeAll(async () => {
  await kafka.admin.ensureTopics([topic]);
  world.writeRepo({ 'repo.yaml': repo('') });
  expect((await world.registry('apply')).exitCode).toBe(0);
  client = await world.start();
});

function repo(extra: string): string {
  return `
project: pulse
entities:
  - { name: post, join_key: post_id }
feature_views:
  - name: post_engagement
    entities: [post]
    ttl: 2h
    source: { name: engagement_stream, type: kafka, location: ${topic.name} }
    features:
      - { name: views, type: double }
      - { name: likes, type: int64 }
      - { name: ctr, type: double }
${extra}`;
}

afterAll(async () => {
  await world.dispose();
  await kafka.admin.deleteTopics([topic.name, laterTopic.name, deadLetterTopic(group).name]).catch(() => undefined);
  await kafka.close();
});

function windowResult(postId: string, windowEnd: number, watermark: number, metrics: Record<string, number>): etlV1.WindowAggregate {
  return {
    aggregate,
    windowStart: ts(windowEnd - HOUR),
    windowEnd: ts(windowEnd),
    windowKind: etlV1.WindowKind.WINDOW_KIND_TUMBLING,
    slide: undefined,
    groupKey: { post_id: postId },
    metrics,
    emittedAt: ts(Date.now()),
    watermark: ts(watermark),
    isFinal: false,
    updateCount: 1,
  };
}

async function metricCount(outcome: string): Promise<number> {
  const text = await (await fetch(`${world.app!.httpUrl}/metrics`)).text();
  return Number(new RegExp(`^feature_store_aggregate_records_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

describe('aggregates consumer', () => {
  it('pushes a closed window result online within seconds, and holds back a window still open', async () => {
    const closedEnd = Math.floor(Date.now() / HOUR) * HOUR;
    const closed = windowResult('p-closed', closedEnd, closedEnd + 1000, { views: 120, likes: 7, ctr: 0.058 });
    const open = windowResult('p-open', closedEnd + HOUR, closedEnd + 1000, { views: 3 });
    await kafka.producer.send(topic, [
      { key: windowAggregateKey(new Date(closedEnd + HOUR - HOUR), { post_id: 'p-open' }), value: open },
      { key: windowAggregateKey(new Date(closedEnd - HOUR), { post_id: 'p-closed' }), value: closed },
    ]);
    const started = Date.now();
    const res = await eventually(
      () =>
        client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
          entityRows: [{ joinKeys: { post_id: str('p-closed') } }],
          features: { refs: ['post_engagement:views', 'post_engagement:likes', 'post_engagement:ctr'] },
        }),
      (r) => r?.rows[0].features[0].status === FeatureStatus.FEATURE_STATUS_PRESENT,
      20_000,
    );
    // Within seconds, consumer group join included.
    expect(Date.now() - started).toBeLessThan(15_000);
    const [views, likes, ctr] = res.rows[0].features;
    expect(views.status).toBe(FeatureStatus.FEATURE_STATUS_PRESENT);
    expect(views.value).toMatchObject({ doubleValue: 120 });
    expect(likes.value).toMatchObject({ int64Value: 7 });
    expect(ctr.value).toMatchObject({ doubleValue: 0.058 });
    expect(views.eventTimestamp).toEqual(ts(closedEnd));
    const text = await (await fetch(`${world.app!.httpUrl}/metrics`)).text();
    expect(Number(/^feature_store_aggregate_online_delay_seconds_count\{?[^ ]*\}? (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);

    expect(
      await eventually(
        () => metricCount('window_open'),
        (n) => n >= 1,
        10_000,
      ),
    ).toBeGreaterThanOrEqual(1);
    const held = await client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
      entityRows: [{ joinKeys: { post_id: str('p-open') } }],
      features: { refs: ['post_engagement:views'] },
    });
    expect(held.rows[0].features[0].status).toBe(FeatureStatus.FEATURE_STATUS_NOT_FOUND);

    // A late update of the closed window (higher update_count) supersedes the first result.
    const update = { ...closed, metrics: { views: 130, likes: 8, ctr: 0.06 }, updateCount: 2, isFinal: true };
    await kafka.producer.send(topic, [{ key: windowAggregateKey(new Date(closedEnd - HOUR), { post_id: 'p-closed' }), value: update }]);
    const updated = await eventually(
      () =>
        client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
          entityRows: [{ joinKeys: { post_id: str('p-closed') } }],
          features: { refs: ['post_engagement:views'] },
        }),
      (r) => r?.rows[0].features[0].value?.doubleValue === 130,
      10_000,
    );
    expect(updated.rows[0].features[0].value).toMatchObject({ doubleValue: 130 });
  });

  it('writes a record that is no WindowAggregate to the dead-letter topic and pushes the windows after it online', async () => {
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    const raw = defineTopic({ ...topic, key: bytesCodec, value: bytesCodec });
    await kafka.producer.send(raw, [{ key: Buffer.from('poison'), value: Buffer.from([0x0f, 0x01]) }]);
    await kafka.producer.send(topic, [
      { key: windowAggregateKey(new Date(end - HOUR), { post_id: 'p-after' }), value: windowResult('p-after', end, end + 1, { views: 9 }) },
    ]);
    const after = await eventually(
      () =>
        client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
          entityRows: [{ joinKeys: { post_id: str('p-after') } }],
          features: { refs: ['post_engagement:views'] },
        }),
      (r) => r?.rows[0].features[0].value?.doubleValue === 9,
      20_000,
    );
    expect(after.rows[0].features[0].value).toMatchObject({ doubleValue: 9 });
    const [letter] = await readTopicUntil(kafka, deadLetterTopic(group), { filter: () => true, done: (k) => k.length >= 1 });
    expect(letter.key).toEqual(Buffer.from('poison'));
    expect(letter.value).toEqual(Buffer.from([0x0f, 0x01]));
    expect(letter.headers).toMatchObject({ [DeadLetterHeaders.topic]: topic.name, [DeadLetterHeaders.stage]: 'decode' });
    expect((await fetch(`${world.app!.httpUrl}/health/ready`)).status).toBe(200);
  });

  it('follows a new registry version: a view on another aggregates topic is consumed without a restart', async () => {
    await kafka.admin.ensureTopics([laterTopic]);
    world.writeRepo({
      'repo.yaml': repo(`  - name: post_reach
    entities: [post]
    ttl: 2h
    source: { name: reach_stream, type: kafka, location: ${laterTopic.name} }
    features:
      - { name: reach, type: double }
`),
    });
    expect((await world.registry('apply')).exitCode).toBe(0);
    const end = Math.floor(Date.now() / HOUR) * HOUR;
    await kafka.producer.send(laterTopic, [
      {
        key: windowAggregateKey(new Date(end - HOUR), { post_id: 'p-reach' }),
        value: { ...windowResult('p-reach', end, end + 1, { reach: 42 }), aggregate: `${aggregate}_later` },
      },
    ]);
    const reach = await eventually(
      () =>
        client.call<featuresV1.GetOnlineFeaturesResponse>('GetOnlineFeatures', {
          entityRows: [{ joinKeys: { post_id: str('p-reach') } }],
          features: { refs: ['post_reach:reach'] },
        }),
      (r) => r?.rows[0].features[0].value?.doubleValue === 42,
      30_000,
    );
    expect(reach.rows[0].features[0].value).toMatchObject({ doubleValue: 42 });
  });
});
