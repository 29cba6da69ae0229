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
  const ends = await kafka.admin.endOffsets(topic.name);
  return readTopicRanges(kafka, topic, new Map(ends.map((to, partition) => [partition, { from: 0n, to }])), timeoutMs);
}

/**
 * The records of a topic's partitions in the offset ranges given (`from` included, `to` excluded; from where retention
 * kept them, to the partition's end at most), each partition's in order, read by a throw-away consumer group (nothing is
 * committed for any real group). Fails when they are not all read in time; undecodable records fail it too.
 */
export async function readTopicRanges<K, V>(
  kafka: KafkaClient,
  topic: TopicDefinition<K, V>,
  ranges: ReadonlyMap<number, { from: bigint; to: bigint }>,
  timeoutMs = 60_000,
): Promise<IncomingRecord<K, V>[]> {
  const [starts, ends] = await Promise.all([kafka.admin.startOffsets(topic.name), kafka.admin.endOffsets(topic.name)]);
  // Where each partition is read from (partitions outside the ranges: from their end, so nothing of them comes), and
  // the last offset wanted of each partition that has records in its range.
  const from = ends.slice();
  const remaining = new Map<number, bigint>();
  for (const [partition, range] of ranges) {
    if (partition >= ends.length) continue;
    const first = range.from > starts[partition] ? range.from : starts[partition];
    const to = range.to < ends[partition] ? range.to : ends[partition];
    if (to <= first) continue;
    from[partition] = first;
    remaining.set(partition, to - 1n);
  }
  const records: IncomingRecord<K, V>[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer([topic], { groupId: `pulse-read-${randomUUID()}`, from: { offsets: from }, maxBatchSize: 1000 });
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
              new Error(
                `${topic.name}: records not all read within ${timeoutMs} ms (partitions left: ${[...remaining.keys()].join(', ')})`,
              ),
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
