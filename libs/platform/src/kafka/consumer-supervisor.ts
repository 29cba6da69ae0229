import type { TopicDefinition } from '@pulse/contracts';
import type { HealthRegistry } from '../health/health.registry';
import { DegradedError, errorMessage } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import type { ServiceMetrics } from '../metrics/metrics';
import { backoffDelayMs, type BackoffPolicy, DEFAULT_BACKOFF, sleep } from '../retry/backoff';
import { DeadLetterPublisher } from './dead-letters';
import type { BatchHandler, ConsumeOptions, EventConsumer, KafkaClient } from './kafka.types';
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
  /** Backoff between attempts to recreate the consumer after its loop failed (default RECONNECT_BACKOFF). */
  reconnectBackoff?: Partial<BackoffPolicy>;
  /** For a sink that keeps its own offsets (etl): records it already holds are never dead-lettered again. */
  sinkOffsets?: SinkOffsets;
  logger: Logger;
  health: HealthRegistry;
  /** Counts dead letters and retries per group (`kafka_consumer_dead_letters_total`, `kafka_consumer_retries_total`). */
  metrics?: ServiceMetrics;
}

/** Backoff between attempts to recreate a consumer whose loop failed: 1 s doubling up to 30 s. */
export const RECONNECT_BACKOFF: BackoffPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, multiplier: 2 };

/** A recreated consumer whose loop has run this long without failing is connected again. */
const CONNECTED_AFTER_MS = 10_000;

/**
 * Runs a consumer's loop in the background of a service, so that no record and no outage can stop it: a record that
 * cannot be decoded, or whose handling fails for good, goes to the group's dead-letter topic with its original bytes
 * and the error (see `handleResiliently`); transient failures of the handling are retried with backoff while the
 * readiness check reports the consumer degraded, with the reason. Offsets are committed once the batch's records are
 * handled and its bad ones dead-lettered (at-least-once).
 *
 * When the loop itself fails (the brokers unreachable past the client's own retries), the consumer is closed and a
 * new one created after a backoff (1 s doubling to 30 s), for as long as it takes; meanwhile the service is not ready,
 * with the reason, and the uncommitted batch stays on Kafka for whoever owns the partition next. It is ready again once
 * the new consumer receives a batch or has run 10 s without failing. Nothing exits: an outage of Kafka ends without a
 * restart, as with Redis, Cassandra and PostgreSQL.
 */
export function superviseConsumer<K, V>(options: SuperviseConsumerOptions<K, V>): SupervisedConsumer {
  const group = options.consume.groupId;
  const deadLetters = new DeadLetterPublisher(options.kafka, group);
  const abort = new AbortController();
  const reconnectBackoff = { ...RECONNECT_BACKOFF, ...options.reconnectBackoff };
  const logger = options.logger.child({ consumer: options.name });
  let lost: { since: number; attempt: number; reason: string } | undefined;
  let retrying: { since: number; attempt: number; reason: string } | undefined;
  let stopping = false;
  let consumer: EventConsumer<K, V> | undefined;
  options.health.register(options.name, async () => {
    if (lost) {
      const seconds = Math.round((Date.now() - lost.since) / 1000);
      throw new Error(`consumer lost Kafka ${seconds} s ago, reconnecting (attempt ${lost.attempt}): ${lost.reason}`);
    }
    if (retrying) {
      const seconds = Math.round((Date.now() - retrying.since) / 1000);
      throw new DegradedError(`retrying for ${seconds} s (attempt ${retrying.attempt}): ${retrying.reason}`);
    }
  });
  const connected = () => {
    if (!lost) return;
    logger.info({ group, downSeconds: Math.round((Date.now() - lost.since) / 1000) }, 'consumer connected again');
    lost = undefined;
  };
  const handle: BatchHandler<K, V> = (records, undecodable) => {
    connected();
    return handleResiliently(
      {
        group,
        handler: options.handler,
        deadLetters: (letters) => deadLetters.publish(letters),
        isPermanent: options.isPermanent,
        backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
        sinkOffsets: options.sinkOffsets,
        logger,
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
    );
  };
  const loop = async () => {
    let attempt = 0;
    while (!stopping) {
      consumer = options.kafka.consumer(options.topics, options.consume);
      const steady = setTimeout(() => {
        attempt = 0;
        connected();
      }, CONNECTED_AFTER_MS);
      try {
        await consumer.run(handle);
        return; // closed
      } catch (error) {
        if (stopping || error instanceof ConsumerStoppedError) return;
        attempt++;
        lost = { since: lost?.since ?? Date.now(), attempt, reason: errorMessage(error) };
        options.metrics?.consumerReconnects.inc({ group });
        const delayMs = backoffDelayMs(reconnectBackoff, attempt);
        logger.error({ err: error, group, attempt, delayMs }, 'consumer lost Kafka; recreating it after a backoff');
        await consumer.close().catch(() => undefined);
        await sleep(delayMs, abort.signal);
      } finally {
        clearTimeout(steady);
      }
    }
  };
  const running = loop();
  return {
    async stop() {
      stopping = true;
      abort.abort();
      await consumer?.close();
      await running;
      retrying = undefined;
      lost = undefined;
    },
  };
}
