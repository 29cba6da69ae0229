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

describe('kafka security from the environment', () => {
  const settingsOf = (env: Record<string, string>) => kafkaSettings(loadConfig('svc', schema, env));

  it('is plaintext without SASL by default', () => {
    const settings = settingsOf({});
    expect(settings.sasl).toBeUndefined();
    expect(settings.tls).toBeUndefined();
  });

  it('passes the SCRAM user and turns TLS on with a CA (or KAFKA_TLS=true and the system CAs)', () => {
    const settings = settingsOf({
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'pulse',
      KAFKA_SASL_PASSWORD: 's3cret',
      KAFKA_TLS_CA_FILE: __filename, // any readable file: its bytes are handed to TLS as they are
    });
    expect(settings.sasl).toEqual({ mechanism: 'SCRAM-SHA-512', username: 'pulse', password: 's3cret' });
    expect(settings.tls?.ca).toBeInstanceOf(Buffer);
    expect(settingsOf({ KAFKA_TLS: 'true' }).tls).toEqual({ ca: undefined, cert: undefined, key: undefined });
  });

  it('refuses settings that cannot work, naming each variable', () => {
    const refusal = (env: Record<string, string>) => {
      try {
        settingsOf(env);
        return 'accepted';
      } catch (error) {
        return String(error);
      }
    };
    expect(refusal({ KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', KAFKA_SASL_USERNAME: 'pulse' })).toContain(
      'KAFKA_SASL_MECHANISM: SCRAM-SHA-256 needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD',
    );
    expect(refusal({ KAFKA_SASL_USERNAME: 'pulse', KAFKA_SASL_PASSWORD: 'x' })).toContain(
      'KAFKA_SASL_MECHANISM: KAFKA_SASL_USERNAME is set',
    );
    expect(refusal({ KAFKA_TLS_CERT_FILE: __filename })).toContain('KAFKA_TLS_KEY_FILE: the client certificate and its key go together');
    expect(refusal({ KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' })).toContain('KAFKA_TLS_CA_FILE: cannot read /nonexistent/ca.pem');
    expect(() => settingsOf({ KAFKA_SASL_MECHANISM: 'GSSAPI' })).toThrow(/KAFKA_SASL_MECHANISM/);
  });
});
