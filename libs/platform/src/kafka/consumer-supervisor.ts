import type { HealthRegistry } from '../health/health.registry';
import { errorMessage } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import type { EventConsumer, IncomingRecord } from './kafka.types';

export interface SupervisedConsumer {
  /** Closes the consumer (its current batch stays uncommitted) and waits for its loop to end. */
  stop(): Promise<void>;
}

/**
 * Runs a consumer's loop in the background of a service. If the loop fails (a handler error, a lost
 * broker past the client's retries), the uncommitted batch stays on Kafka for the next owner, the
 * service turns not ready (a critical check named after the consumer) and shuts itself down with
 * SIGTERM, so the orchestrator restarts it — never a live process whose consumer silently stopped.
 */
export function superviseConsumer<K, V>(options: {
  name: string;
  consumer: EventConsumer<K, V>;
  handler: (batch: IncomingRecord<K, V>[]) => Promise<void>;
  logger: Logger;
  health: HealthRegistry;
}): SupervisedConsumer {
  let failure: unknown;
  let stopping = false;
  options.health.register(options.name, async () => {
    if (failure !== undefined) throw new Error(`stopped: ${errorMessage(failure)}`);
  });
  const running = options.consumer.run(options.handler).catch((error: unknown) => {
    if (stopping) return;
    failure = error;
    options.logger.fatal({ err: error, consumer: options.name }, 'consumer stopped; shutting the service down');
    process.exitCode = 1;
    process.kill(process.pid, 'SIGTERM');
  });
  return {
    async stop() {
      stopping = true;
      await options.consumer.close();
      await running;
    },
  };
}
