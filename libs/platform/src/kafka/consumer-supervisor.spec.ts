import { HealthRegistry } from '../health/health.registry';
import { createLogger } from '../logging/logger';
import { superviseConsumer } from './consumer-supervisor';
import type { EventConsumer } from './kafka.types';

function consumerThat(run: () => Promise<void>): EventConsumer<string, string> & { closed: boolean } {
  return {
    closed: false,
    run,
    async close() {
      this.closed = true;
    },
  };
}

describe('superviseConsumer', () => {
  const logger = createLogger('test', 'silent');
  let kill: jest.SpyInstance;

  beforeEach(() => {
    kill = jest.spyOn(process, 'kill').mockImplementation(() => true);
  });

  afterEach(() => {
    kill.mockRestore();
    process.exitCode = undefined;
  });

  it('turns the service not ready and shuts it down when the consumer loop fails', async () => {
    const health = new HealthRegistry();
    superviseConsumer({
      name: 'writer',
      consumer: consumerThat(() => Promise.reject(new Error('broker gone'))),
      handler: async () => undefined,
      logger,
      health,
    });
    await new Promise((r) => setImmediate(r));
    const readiness = await health.readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.checks['writer'].error).toBe('stopped: broker gone');
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGTERM');
    expect(process.exitCode).toBe(1);
  });

  it('stops quietly when the service closes it', async () => {
    const health = new HealthRegistry();
    let finish!: () => void;
    const consumer = consumerThat(() => new Promise<void>((resolve) => (finish = resolve)));
    const supervised = superviseConsumer({ name: 'writer', consumer, handler: async () => undefined, logger, health });
    const stopping = supervised.stop();
    finish();
    await stopping;
    expect(consumer.closed).toBe(true);
    expect((await health.readiness()).ready).toBe(true);
    expect(kill).not.toHaveBeenCalled();
  });
});
