import { ingestV1, Topics } from '@pulse/contracts';
import { ConfigError, grpcClient, PlatformaticKafkaClient } from '@pulse/platform';
import { issueTestApiKey, readTopicUntil } from '@pulse/platform/testing';
import { randomUUID } from 'node:crypto';
import { createApp } from '../src/app.factory';
import { TrackEventsService } from '../src/track-events/track-events.service';

const { ActivityType, TargetType } = ingestV1;

describe('ingest lifecycle', () => {
  it('refuses to start on a bad setting and names the variable', async () => {
    const error = await createApp({ GRPC_PORT: 'fifty', INGEST_DEDUP_TTL: '24 hours' }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/GRPC_PORT/);
    expect(error.message).toMatch(/INGEST_DEDUP_TTL: expected a duration/);
  });

  it('finishes an in-flight TrackEvents call when shut down, and the events are on Kafka', async () => {
    const run = randomUUID().slice(0, 8);
    const app = await createApp({ GRPC_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'warn', INGEST_DEDUP_KEY_PREFIX: `test:${run}:` });
    const kafka = new PlatformaticKafkaClient({ brokers: app.config.KAFKA_BROKERS, clientId: `lifecycle-${run}` });
    const key = await issueTestApiKey({ label: 'ingest', scopes: ['events:write'], pgUrl: app.config.PULSE_AUTH_PG_URL });
    const client = grpcClient(app.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
      credentials: key.key,
    });
    try {
      const since = await kafka.admin.endOffsets(Topics.activityTracked.name);
      const userId = `u-drain-${run}`;
      const now = Math.floor(Date.now() / 1000);
      const events = Array.from({ length: 1000 }, (_, i) => ({
        eventId: `${userId}-${i}`,
        userId,
        type: ActivityType.ACTIVITY_TYPE_IMPRESSION,
        target: { type: TargetType.TARGET_TYPE_POST, id: `p-${i}` },
        occurredAt: { seconds: now, nanos: 0 },
      }));
      // Shutdown begins once the call is being handled by the service.
      const service = app.app.get(TrackEventsService);
      const track = service.track.bind(service);
      let entered!: () => void;
      const handling = new Promise<void>((resolve) => (entered = resolve));
      jest.spyOn(service, 'track').mockImplementation((batch, context) => {
        entered();
        return track(batch, context);
      });
      const inFlight = client.call<ingestV1.TrackEventsResponse>('TrackEvents', { events });
      await handling;
      const closing = app.close();
      const response = await inFlight;
      await closing;
      expect(response.acceptedCount).toBe(1000);
      const written = await readTopicUntil(kafka, Topics.activityTracked, {
        since,
        filter: (r) => r.key === userId,
        done: (kept) => kept.length >= 1000,
      });
      expect(written).toHaveLength(1000);
    } finally {
      client.close();
      await key.remove();
      await kafka.close();
    }
  });
});
