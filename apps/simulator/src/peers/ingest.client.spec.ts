import { status } from '@grpc/grpc-js';
import { ingestV1 } from '@pulse/contracts';
import { createLogger, ServiceMetrics, type UnaryClient } from '@pulse/platform';
import { EventRateLimiter } from '../behaviour/rate-limiter';
import { ActivityEventFactory, post } from '../simulator/activity-events';
import { SimulatorMetrics } from '../simulator/simulator.metrics';
import { IngestEventSender } from './ingest.client';

const { ActivityType, EventStatus } = ingestV1;

/** A TrackEvents that fails with the given codes first, then accepts; records every call's event ids. */
function fakeIngest(failures: number[]) {
  const calls: string[][] = [];
  const client = {
    call: async (_method: string, request: ingestV1.TrackEventsRequest) => {
      calls.push(request.events.map((e) => e.eventId));
      const code = failures.shift();
      if (code !== undefined) throw Object.assign(new Error(status[code]), { code });
      return {
        results: request.events.map((e, index) => ({ index, eventId: e.eventId, status: EventStatus.EVENT_STATUS_ACCEPTED })),
      };
    },
  } as unknown as UnaryClient;
  return { client, calls };
}

function sender(client: UnaryClient) {
  const metrics = new SimulatorMetrics(new ServiceMetrics('simulator-test'));
  const limiter = new EventRateLimiter({ rate: 100, dayPeriodMs: 0 });
  const options = { batchEvents: 3, flushIntervalMs: 10, maxQueued: 5, deadlineMs: 1_000, clientId: 'test' };
  return { metrics, limiter, sender: new IngestEventSender(client, options, limiter, metrics, createLogger('test', 'silent')) };
}

const events = (n: number) => {
  const make = new ActivityEventFactory('t').forSession('1', 0, 's');
  return Array.from({ length: n }, (_, i) => make(ActivityType.ACTIVITY_TYPE_IMPRESSION, post(String(i))));
};

describe('IngestEventSender', () => {
  it('sends in batches and counts what ingest accepted by type', async () => {
    const ingest = fakeIngest([]);
    const s = sender(ingest.client);
    s.sender.enqueue(events(7));
    s.sender.start();
    await s.sender.stop(1_000);
    expect(ingest.calls.map((c) => c.length)).toEqual([3, 3, 1]);
    expect(s.metrics.sentByType.get(ActivityType.ACTIVITY_TYPE_IMPRESSION)).toBe(7);
  });

  it('sends a batch again with the same event ids when ingest is unavailable, counting each failure', async () => {
    const ingest = fakeIngest([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);
    const s = sender(ingest.client);
    s.sender.enqueue(events(2));
    s.sender.start();
    await s.sender.stop(5_000);
    expect(ingest.calls).toHaveLength(3);
    expect(ingest.calls[2]).toEqual(ingest.calls[0]);
    expect(s.metrics.errors).toEqual(
      new Map([
        ['ingest/UNAVAILABLE', 1],
        ['ingest/DEADLINE_EXCEEDED', 1],
      ]),
    );
    expect(s.metrics.sentTotal).toBe(2);
  });

  it('slows the rate down on RESOURCE_EXHAUSTED and wins it back once batches go through', async () => {
    const ingest = fakeIngest([status.RESOURCE_EXHAUSTED, status.RESOURCE_EXHAUSTED]);
    const s = sender(ingest.client);
    s.sender.enqueue(events(1));
    s.sender.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(s.limiter.throttle).toBeLessThan(0.5);
    await s.sender.stop(5_000);
    expect(s.metrics.sentTotal).toBe(1);
    expect(s.limiter.throttle).toBeGreaterThan(0.25);
  });

  it('drops a batch ingest refuses as invalid, and says the queue is full when sessions should wait', async () => {
    const ingest = fakeIngest([status.INVALID_ARGUMENT]);
    const s = sender(ingest.client);
    s.sender.enqueue(events(5));
    expect(s.sender.full).toBe(true);
    s.sender.start();
    await s.sender.stop(1_000);
    expect(ingest.calls.map((c) => c.length)).toEqual([3, 2]);
    expect(s.metrics.sentTotal).toBe(2);
    expect(s.sender.full).toBe(false);
  });
});
