import type { TopicDefinition } from '@pulse/contracts';
import { randomUUID } from 'node:crypto';
import type { IncomingRecord, KafkaClient } from './kafka.types';

/**
 * Every record of a topic, from the earliest kept to the end as of the call, read by a throw-away
 * consumer group (nothing is committed for any real group). Fails when the end is not reached in time.
 * For operators' tools on small topics (dead letters, markers), not for streams.
 */
export async function readTopicToEnd<K, V>(
  kafka: KafkaClient,
  topic: TopicDefinition<K, V>,
  timeoutMs = 60_000,
): Promise<IncomingRecord<K, V>[]> {
  const [starts, ends] = await Promise.all([kafka.admin.startOffsets(topic.name), kafka.admin.endOffsets(topic.name)]);
  const remaining = new Map<number, bigint>();
  ends.forEach((end, partition) => {
    // A partition whose records retention deleted (start = end) has nothing to wait for.
    if (end > (starts[partition] ?? 0n)) remaining.set(partition, end - 1n);
  });
  const records: IncomingRecord<K, V>[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer([topic], { groupId: `pulse-read-${randomUUID()}`, from: 'earliest', maxBatchSize: 1000 });
  let timer: NodeJS.Timeout | undefined;
  const reading = consumer.run(async (batch, undecodable) => {
    if (undecodable.length > 0) throw undecodable[0].error;
    for (const r of batch) {
      const last = remaining.get(r.partition);
      if (last === undefined || r.offset > last) continue;
      records.push(r);
      if (r.offset === last) remaining.delete(r.partition);
    }
    if (remaining.size === 0) await consumer.close();
  });
  try {
    await Promise.race([
      reading,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`${topic.name}: not read to its end within ${timeoutMs} ms (partitions left: ${[...remaining.keys()].join(', ')})`),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
  return records;
}
