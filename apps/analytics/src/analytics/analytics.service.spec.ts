import { ServiceMetrics } from '@pulse/platform';
import { InMemoryHandledEventsRepository } from './handled-events.repository';
import { AnalyticsService } from './analytics.service';

const event = (eventId: string) => ({ eventId, userId: 'u-1', type: 'ACTIVITY_TYPE_LIKE', occurredAtMs: 1_700_000_000_000 });

describe('AnalyticsService', () => {
  it('counts each event id once, so a replayed batch changes nothing', async () => {
    const service = new AnalyticsService(new InMemoryHandledEventsRepository(), new ServiceMetrics('analytics-test'));
    await service.handle([event('e-1'), event('e-2')]);
    await service.handle([event('e-2'), event('e-1')]);
    expect((await service.status()).eventsHandled).toBe(2);
  });

  it('reports when it started', async () => {
    const before = Date.now();
    const service = new AnalyticsService(new InMemoryHandledEventsRepository(), new ServiceMetrics('analytics-test'));
    const status = await service.status();
    expect(status.startedAtMs).toBeGreaterThanOrEqual(before);
    expect(status.eventsHandled).toBe(0);
  });
});
