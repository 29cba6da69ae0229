import { ingestV1, Topics } from '@pulse/contracts';
import { grpcClient, kafkaSecurity, PlatformaticKafkaClient } from '@pulse/platform';
import { errorMessages, issueTestApiKey, readTopicUntil, type TestApiKey } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { createApp, type RunningApp } from '../src/app.factory';

const { ActivityType, EventStatus, TargetType } = ingestV1;
const run = randomUUID().slice(0, 8);

// The stack's SASL_SSL listener (tools/stack: SCRAM-SHA-512/256 over TLS, certificate from the stack's CA).
const stack = {
  brokers: process.env.STACK_KAFKA_SASL_BROKERS ?? '',
  username: process.env.STACK_KAFKA_SASL_USERNAME ?? '',
  password: process.env.STACK_KAFKA_SASL_PASSWORD ?? '',
  ca: process.env.STACK_CA_FILE ?? '',
};
const sasl = {
  KAFKA_BROKERS: stack.brokers,
  KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
  KAFKA_SASL_USERNAME: stack.username,
  KAFKA_SASL_PASSWORD: stack.password,
  KAFKA_TLS_CA_FILE: stack.ca,
};
const base = { GRPC_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'error', INGEST_DEDUP_KEY_PREFIX: `test:${run}:sasl:` };

/** Starts ingest with these settings; the error when it refuses or cannot start. */
async function startOrError(overrides: Record<string, string>): Promise<{ app?: RunningApp; error?: unknown }> {
  try {
    return { app: await createApp({ ...base, ...overrides }) };
  } catch (error) {
    return { error };
  }
}

beforeAll(() => {
  // `eval "$(tools/stack/stack env)"` (as ./pulse test does) names the listener; without it this file cannot run.
  if (!stack.brokers || !stack.password || !stack.ca)
    throw new Error('STACK_KAFKA_SASL_* / STACK_CA_FILE are not set: eval "$(tools/stack/stack env)"');
});

describe('ingest on Kafka over SASL_SSL (SCRAM)', () => {
  let running: RunningApp | undefined;
  let key: TestApiKey;

  afterAll(async () => {
    await running?.close();
    await key?.remove();
  });

  it('writes tracked events through the authenticated, encrypted listener', async () => {
    const started = await startOrError(sasl);
    expect(started.error).toBeUndefined();
    running = started.app!;
    key = await issueTestApiKey({ label: 'ingest-sasl', scopes: ['events:write'], pgUrl: running.config.PULSE_AUTH_PG_URL });
    const reader = new PlatformaticKafkaClient({
      brokers: [stack.brokers],
      clientId: `ingest-sasl-test-${run}`,
      ...kafkaSecurity('test', sasl as never),
    });
    const client = grpcClient(running.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
      credentials: key.key,
    });
    try {
      const since = await reader.admin.endOffsets(Topics.activityTracked.name);
      const userId = `sasl-${run}`;
      const response = await client.call('TrackEvents', {
        events: [
          {
            eventId: `${userId}-e1`,
            userId,
            type: ActivityType.ACTIVITY_TYPE_LIKE,
            target: { type: TargetType.TARGET_TYPE_POST, id: 'p-1' },
            occurredAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
          },
        ],
      });
      expect(response.results[0].status).toBe(EventStatus.EVENT_STATUS_ACCEPTED);
      const records = await readTopicUntil(reader, Topics.activityTracked, {
        since,
        filter: (r) => r.value?.event?.userId === userId,
        done: (kept) => kept.length >= 1,
      });
      expect(records.map((r) => r.value!.event!.eventId)).toEqual([`${userId}-e1`]);
    } finally {
      client.close();
      await reader.close();
    }
  });

  it('cannot start with a wrong password (SASL authentication failed), or without SASL (the broker closes it), on that listener', async () => {
    const wrongPassword = await startOrError({ ...sasl, KAFKA_SASL_PASSWORD: 'not-the-password' });
    await wrongPassword.app?.close();
    expect(wrongPassword.app).toBeUndefined();
    expect(errorMessages(wrongPassword.error)).toContain('SASL authentication failed.');
    const withoutSasl = await startOrError({ KAFKA_BROKERS: stack.brokers, KAFKA_TLS_CA_FILE: stack.ca });
    await withoutSasl.app?.close();
    expect(withoutSasl.app).toBeUndefined();
    expect(errorMessages(withoutSasl.error)).toContain('Connection closed');
    expect(errorMessages(withoutSasl.error)).not.toContain('SASL authentication failed.');
  }, 120_000);

  it('refuses SASL and TLS settings that cannot work, naming the variable', async () => {
    const noPassword = await startOrError({ ...sasl, KAFKA_SASL_PASSWORD: '' });
    expect(String(noPassword.error)).toMatch(/KAFKA_SASL_MECHANISM: SCRAM-SHA-512 needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    const noCa = await startOrError({ ...sasl, KAFKA_TLS_CA_FILE: '/nonexistent/ca.pem' });
    expect(String(noCa.error)).toMatch(/KAFKA_TLS_CA_FILE: cannot read \/nonexistent\/ca.pem/);
  });
});
