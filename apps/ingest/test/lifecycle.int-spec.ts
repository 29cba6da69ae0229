import { ingestV1, Topics } from '@pulse/contracts';
import { ConfigError, grpcClient, PlatformaticKafkaClient } from '@pulse/platform';
import { issueTestApiKey, readTopicUntil, startService } from '@pulse/platform/testing';
import { execFileSync } from 'node:child_process';
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

  it('serves from SERVICE_PROCESSES workers on one port: connections spread over them, a killed one is replaced, /metrics sums them', async () => {
    const run = randomUUID().slice(0, 8);
    const service = await startService('ingest', { SERVICE_PROCESSES: '2', INGEST_DEDUP_KEY_PREFIX: `test:${run}:` });
    const key = await issueTestApiKey({ label: 'ingest', scopes: ['events:write'] });
    const port = service.grpcAddress.split(':')[1];
    // Each client its own connection (no shared subchannel), as separate callers have.
    const clients = Array.from({ length: 4 }, () =>
      grpcClient(service.grpcAddress, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', {
        credentials: key.key,
        channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
      }),
    );
    const workers = () =>
      execFileSync('pgrep', ['-P', String(service.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
    /** The processes holding the service's side of the clients' connections. */
    const serving = () =>
      new Set(
        [...execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).matchAll(/pid=(\d+)/g)].map(
          (m) => Number(m[1]),
        ),
      );
    const track = (n: number) =>
      Promise.all(
        clients.map((client, c) =>
          client.call<ingestV1.TrackEventsResponse>('TrackEvents', {
            events: [
              {
                eventId: `cluster-${run}-${n}-${c}`,
                userId: `u-cluster-${run}`,
                type: ActivityType.ACTIVITY_TYPE_VIEW,
                target: { type: TargetType.TARGET_TYPE_POST, id: 'p-1' },
                occurredAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
              },
            ],
          }),
        ),
      );
    const handled = async () => {
      const text = await (await fetch(`${service.httpUrl}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('grpc_server_handled_total{') && l.includes('trackEvents') && l.includes('code="OK"'));
      return Number(line?.split(' ').pop() ?? 0);
    };
    try {
      const [first, second] = workers();
      expect(workers()).toHaveLength(2);
      expect((await track(0)).every((r) => r.acceptedCount === 1)).toBe(true);
      // The primary hands connections to its workers in turn: both hold some.
      expect([...serving()].sort()).toEqual([first, second].sort());
      expect(await handled()).toBe(4);

      // A worker killed: the primary starts another; calls go on (a client whose connection was cut reconnects).
      process.kill(first, 'SIGKILL');
      const deadline = Date.now() + 60_000;
      while (!(workers().length === 2 && !workers().includes(first)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(workers()).toHaveLength(2);
      expect(workers()).not.toContain(first);
      let answered: ingestV1.TrackEventsResponse[] = [];
      while (answered.length === 0 && Date.now() < deadline) answered = await track(1).catch(() => []);
      expect(answered.every((r) => r.acceptedCount === 1)).toBe(true);
      // (the killed worker's count went with it: the sum is over the workers alive)
      expect(await handled()).toBeGreaterThanOrEqual(4);
    } finally {
      for (const c of clients) c.close();
      await key.remove();
      await service.stop();
    }
    // Stopped with its workers.
    expect(() => execFileSync('pgrep', ['-P', String(service.pid)])).toThrow();
  });

  it('refuses a SERVICE_PROCESSES that is not a number of processes, and says so', async () => {
    const error = await startService('ingest', { SERVICE_PROCESSES: 'two' }, 20_000).catch((e: Error) => e);
    expect(String(error)).toMatch(/SERVICE_PROCESSES must be an integer from 1 to 64, got "two"/);
  });
});
