import { z } from 'zod';
import { loadConfig } from '../config/load-config';
import { deliveryRetries, kafkaEnv, kafkaSettings, topicDurability } from './kafka-settings';

const schema = z.object({ SERVICE_NAME: z.string().default('svc'), ...kafkaEnv });

describe('kafka settings from the environment', () => {
  it('creates topics with one replica and min ISR 1 by default (the one-broker local stack)', () => {
    const settings = kafkaSettings(loadConfig('svc', schema, {}));
    expect(settings).toMatchObject({
      brokers: ['127.0.0.1:29092'],
      replicationFactor: 1,
      minInsyncReplicas: 1,
      deliveryTimeoutMs: 120_000,
    });
    expect(topicDurability(settings, { 'retention.ms': '1000' })).toEqual({
      replicas: 1,
      configs: { 'retention.ms': '1000', 'min.insync.replicas': '1' },
    });
  });

  it('creates topics with RF 3 and min.insync.replicas 2 when the environment says so, over the topic’s own', () => {
    const settings = kafkaSettings(
      loadConfig('svc', schema, { KAFKA_BROKERS: 'a:1,b:2,c:3', KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' }),
    );
    expect(topicDurability(settings, { 'min.insync.replicas': '1', 'cleanup.policy': 'delete' })).toEqual({
      replicas: 3,
      configs: { 'min.insync.replicas': '2', 'cleanup.policy': 'delete' },
    });
  });

  it('refuses a min.insync.replicas above the replication factor, which would refuse every write', () => {
    expect(() => topicDurability({ replicationFactor: 1, minInsyncReplicas: 2 }, {})).toThrow(/above the replication factor/);
  });

  it('leaves the replication factor to the broker when none is configured', () => {
    expect(topicDurability({}, { 'cleanup.policy': 'compact' })).toEqual({ replicas: -1, configs: { 'cleanup.policy': 'compact' } });
  });

  it('retries a produce with a back-off growing to 1 s for about the delivery timeout', () => {
    const { retries, retryDelay } = deliveryRetries(120_000);
    expect([1, 2, 3, 4, 5, 10].map(retryDelay)).toEqual([100, 200, 400, 800, 1000, 1000]);
    let total = 0;
    for (let attempt = 1; attempt <= retries; attempt++) total += retryDelay(attempt);
    expect(total).toBeLessThanOrEqual(120_000);
    expect(total).toBeGreaterThan(118_000);
    expect(deliveryRetries(50).retries).toBe(1);
  });
});
