import { status } from '@grpc/grpc-js';
import { ingestV1 } from '@pulse/contracts';
import { eventually } from '@pulse/platform/testing';
import { createTestSchemas, dropTestSchemas, startSimulator, type TestSchemas, type TestSimulator } from './simulator-fixture';
import { startStubServer, type StubServer } from './stub-grpc.server';

// An ingest that answers RESOURCE_EXHAUSTED until told otherwise, and no recommender at all (nothing listens on
// its address): the simulator must slow down rather than flood, browse instead of recommending, and keep running.
const RATE = 500;

let schemas: TestSchemas;
let ingest: StubServer;
let sim: TestSimulator;
let exhausted = true;
const calls: number[] = [];
let accepted = 0;

async function trackEvents(request: ingestV1.TrackEventsRequest): Promise<ingestV1.TrackEventsResponse> {
  calls.push(Date.now());
  if (exhausted) throw Object.assign(new Error('too many events in flight'), { code: status.RESOURCE_EXHAUSTED });
  accepted += request.events.length;
  return {
    results: request.events.map((e, index) => ({
      index,
      eventId: e.eventId,
      status: ingestV1.EventStatus.EVENT_STATUS_ACCEPTED,
      reason: 0,
      message: '',
      field: '',
    })),
    acceptedCount: request.events.length,
    rejectedCount: 0,
    duplicateCount: 0,
  };
}

beforeAll(async () => {
  schemas = await createTestSchemas('simbp');
  ingest = await startStubServer('pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', { TrackEvents: trackEvents });
  sim = await startSimulator(schemas, {
    INGEST_GRPC_ADDR: ingest.address,
    RECS_GRPC_ADDR: '127.0.0.1:1',
    SIMULATOR_USERS: '30',
    SIMULATOR_POSTS: '100',
    SIMULATOR_RATE: String(RATE),
    SIMULATOR_DAY_PERIOD: '0s',
    SIMULATOR_FLUSH_INTERVAL: '100ms',
    SIMULATOR_MAX_QUEUED_EVENTS: '1000',
  });
}, 60_000);

afterAll(async () => {
  await sim?.close();
  await ingest?.close();
  await dropTestSchemas(schemas);
});

describe('simulator under backpressure', () => {
  it('backs off and slows down on RESOURCE_EXHAUSTED instead of flooding, then recovers', async () => {
    await eventually(sim.status, (s) => s.running, 30_000);
    const firstCall = await eventually(
      async () => calls.length,
      (n) => n > 0,
    );
    expect(firstCall).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 5_000));
    const during = await sim.status();
    // Exponential backoff: a handful of attempts in five seconds, not one per batch at 500 events/s.
    const window = calls.filter((t) => t >= calls[0] && t <= calls[0] + 5_000).length;
    expect(window).toBeLessThanOrEqual(8);
    expect(during.errors.find((e) => e.peer === 'ingest' && e.code === 'RESOURCE_EXHAUSTED')?.count).toBe(calls.length);
    expect(during.currentRate).toBeLessThan(RATE / 4);
    expect(during.eventsSentTotal).toBe(0);
    // The queue holds at most its limit (plus the sessions in flight): sessions wait instead of piling events up.
    const metrics = await (await fetch(`${sim.app.httpUrl}/metrics`)).text();
    const queued = Number(/simulator_queued_events\{service="simulator"\} (\d+)/.exec(metrics)?.[1]);
    expect(queued).toBeLessThanOrEqual(1000 + 4 * 60);
    // The recommender is down the whole time: sessions browse, the simulator keeps running.
    expect(during.errors.find((e) => e.peer === 'recommender')?.count).toBeGreaterThan(0);
    expect(during.running).toBe(true);

    exhausted = false;
    const recovered = await eventually(sim.status, (s) => s.eventsSentTotal > 500, 30_000);
    expect(recovered.eventsSentTotal).toBeLessThanOrEqual(accepted);
    const later = await eventually(sim.status, (s) => s.currentRate > during.currentRate * 2, 30_000);
    expect(later.currentRate).toBeGreaterThan(during.currentRate * 2);
  });
});
