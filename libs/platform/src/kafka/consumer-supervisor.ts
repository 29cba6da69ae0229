import type { TopicDefinition } from '@pulse/contracts';
import type { HealthRegistry } from '../health/health.registry';
import { DegradedError, errorMessage } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import type { ServiceMetrics } from '../metrics/metrics';
import { type BackoffPolicy, DEFAULT_BACKOFF } from '../retry/backoff';
import { DeadLetterPublisher } from './dead-letters';
import type { ConsumeOptions, KafkaClient } from './kafka.types';
import { ConsumerStoppedError, handleResiliently, type SinkOffsets, type SupervisedHandler } from './resilient-batch-handler';

export interface SupervisedConsumer {
  /** Closes the consumer (its current batch stays uncommitted) and waits for its loop to end. */
  stop(): Promise<void>;
}

export interface SuperviseConsumerOptions<K, V> {
  /** Name of the readiness check and of the consumer in logs. */
  name: string;
  kafka: KafkaClient;
  topics: readonly TopicDefinition<K, V>[];
  /** The group (also naming its dead-letter topic, `pulse.deadletter.<group>.v1`), start position and batching. */
  consume: ConsumeOptions;
  handler: SupervisedHandler<K, V>;
  /** Which errors no retry can fix, beside `PermanentError` (decode errors always are). */
  isPermanent?: (error: unknown) => boolean;
  /** Backoff between retries of a batch after a transient failure (default 200 ms doubling up to 30 s). */
  backoff?: Partial<BackoffPolicy>;
  /** For a sink that keeps its own offsets (etl): records it already holds are never dead-lettered again. */
  sinkOffsets?: SinkOffsets;
  logger: Logger;
  health: HealthRegistry;
  /** Counts dead letters and retries per group (`kafka_consumer_dead_letters_total`, `kafka_consumer_retries_total`). */
  metrics?: ServiceMetrics;
}

/**
 * Runs a consumer's loop in the background of a service, so that no record can stop it: a record that
 * cannot be decoded, or whose handling fails for good, goes to the group's dead-letter topic with its
 * original bytes and the error (see `handleResiliently`); transient failures are retried with backoff
 * while the readiness check reports the consumer degraded, with the reason. Offsets are committed once
 * the batch's records are handled and its bad ones dead-lettered (at-least-once).
 *
 * Only a failure of the loop itself (a broker lost past the client's retries) stops it: the uncommitted
 * batch stays on Kafka for the next owner, the service turns not ready and shuts itself down with
 * SIGTERM, so the orchestrator restarts it — never a live process whose consumer silently stopped.
 */
export function superviseConsumer<K, V>(options: SuperviseConsumerOptions<K, V>): SupervisedConsumer {
  const group = options.consume.groupId;
  const consumer = options.kafka.consumer(options.topics, options.consume);
  const deadLetters = new DeadLetterPublisher(options.kafka, group);
  const abort = new AbortController();
  let failure: unknown;
  let retrying: { since: number; attempt: number; reason: string } | undefined;
  let stopping = false;
  options.health.register(options.name, async () => {
    if (failure !== undefined) throw new Error(`stopped: ${errorMessage(failure)}`);
    if (retrying) {
      const seconds = Math.round((Date.now() - retrying.since) / 1000);
      throw new DegradedError(`retrying for ${seconds} s (attempt ${retrying.attempt}): ${retrying.reason}`);
    }
  });
  const running = consumer
    .run((records, undecodable) =>
      handleResiliently(
        {
          group,
          handler: options.handler,
          deadLetters: (letters) => deadLetters.publish(letters),
          isPermanent: options.isPermanent,
          backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
          sinkOffsets: options.sinkOffsets,
          logger: options.logger.child({ consumer: options.name }),
          signal: abort.signal,
          events: {
            retry(attempt, error) {
              retrying = { since: retrying?.since ?? Date.now(), attempt, reason: errorMessage(error) };
              options.metrics?.consumerRetries.inc({ group });
            },
            recovered() {
              retrying = undefined;
            },
            deadLettered(stage, count) {
              options.metrics?.consumerDeadLetters.inc({ group, reason: stage === 'decode' ? 'decode' : 'permanent' }, count);
            },
          },
        },
        records,
        undecodable,
      ),
    )
    .catch((error: unknown) => {
      if (stopping || error instanceof ConsumerStoppedError) return;
      failure = error;
      options.logger.fatal({ err: error, consumer: options.name }, 'consumer stopped; shutting the service down');
      process.exitCode = 1;
      process.kill(process.pid, 'SIGTERM');
    });
  return {
    async stop() {
      stopping = true;
      abort.abort();
      await consumer.close();
      await running;
      retrying = undefined;
    },
  };
}
