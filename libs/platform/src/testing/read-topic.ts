import type { TopicDefinition } from '@pulse/contracts';
import { randomUUID } from 'node:crypto';
import type { IncomingRecord, KafkaClient } from '../kafka/kafka.types';

/**
 * Reads a topic with a throw-away consumer group, from `since` (next offsets per partition, taken with
 * `kafka.admin.endOffsets` before the records of interest were written) or else from the beginning,
 * until `done(records)` holds or the timeout passes; returns the records kept by `filter`. For tests and tools.
 */
export async function readTopicUntil<K, V>(
  kafka: KafkaClient,
  topic: TopicDefinition<K, V>,
  options: {
    filter: (r: IncomingRecord<K, V>) => boolean;
    done: (kept: IncomingRecord<K, V>[]) => boolean;
    since?: readonly bigint[];
    timeoutMs?: number;
  },
): Promise<IncomingRecord<K, V>[]> {
  const consumer = kafka.consumer([topic], {
    groupId: `pulse-read-${randomUUID()}`,
    from: options.since ? { offsets: options.since } : 'earliest',
  });
  const kept: IncomingRecord<K, V>[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      consumer.run(async (batch) => {
        for (const r of batch) if (options.filter(r)) kept.push(r);
        if (options.done(kept)) await consumer.close();
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, options.timeoutMs ?? 20_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
  return kept;
}
