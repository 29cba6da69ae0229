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

/**
 * Makes each consumer group start where each topic ends now, so that a test's consumers read only what comes after:
 * the topics are created first when missing (a fresh stack has none until a service declares them). Returns the end
 * offsets taken, by topic name, for reading the same span with `readTopicUntil`'s `since`.
 */
export async function groupsAtEnd(
  kafka: KafkaClient,
  groups: readonly string[],
  topics: readonly TopicDefinition<any, any>[],
): Promise<Map<string, bigint[]>> {
  await kafka.admin.ensureTopics(topics);
  const ends = new Map<string, bigint[]>();
  for (const topic of topics) {
    const end = await kafka.admin.endOffsets(topic.name);
    ends.set(topic.name, end);
    for (const group of groups) await kafka.admin.setGroupOffsets(group, topic.name, end);
  }
  return ends;
}
