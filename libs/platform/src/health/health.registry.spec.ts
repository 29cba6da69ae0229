import { DegradedError, HealthRegistry } from './health.registry';

describe('HealthRegistry', () => {
  it('is ready when every dependency answers', async () => {
    const health = new HealthRegistry();
    health.register('kafka', async () => undefined);
    health.register('redis', async () => undefined);
    const r = await health.readiness();
    expect(r.ready).toBe(true);
    expect(r.degraded).toBe(false);
    expect(Object.keys(r.checks)).toEqual(['kafka', 'redis']);
  });

  it('is not ready and says why when a dependency fails', async () => {
    const health = new HealthRegistry();
    health.register('kafka', async () => {
      throw new Error('connection refused');
    });
    const r = await health.readiness();
    expect(r.ready).toBe(false);
    expect(r.checks['kafka']).toMatchObject({ ok: false, error: 'connection refused' });
  });

  it('stays ready but degraded when a check reports its dependency impaired, and says why', async () => {
    const health = new HealthRegistry();
    health.register('kafka', async () => undefined);
    health.register('consumer', async () => Promise.reject(new DegradedError('retrying a batch: store down')));
    const r = await health.readiness();
    expect(r.ready).toBe(true);
    expect(r.degraded).toBe(true);
    expect(r.checks['consumer']).toMatchObject({ ok: false, critical: true, degraded: true, error: 'retrying a batch: store down' });
  });

  it('stays ready when only a non-critical dependency fails, and reports it', async () => {
    const health = new HealthRegistry();
    health.register('kafka', async () => undefined);
    health.register('redis', async () => Promise.reject(new Error('down')), { critical: false });
    const r = await health.readiness();
    expect(r.ready).toBe(true);
    expect(r.degraded).toBe(true);
    expect(r.checks['redis']).toMatchObject({ ok: false, critical: false, error: 'down' });
  });

  it('times out a check that hangs', async () => {
    const health = new HealthRegistry(50);
    health.register('slow', () => new Promise(() => undefined));
    const r = await health.readiness();
    expect(r.checks['slow'].error).toMatch(/no answer within 50 ms/);
  });

  it('reports not ready once draining starts', async () => {
    const health = new HealthRegistry();
    health.startDraining();
    expect((await health.readiness()).ready).toBe(false);
  });
});
