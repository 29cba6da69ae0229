import type { Codec, TopicDefinition } from '@pulse/contracts';
import type { TopicBatch } from '@pulse/platform';
import type { CdcRecord } from '../debezium/change-event.mapper';

/** A record encoded once, when it is built: its size is known before it is batched. */
export interface EncodedRecord {
  topic: TopicDefinition<any, any>;
  key: Buffer;
  /** null: a tombstone. */
  value: Buffer | null;
  headers?: Readonly<Record<string, string>>;
  stats?: CdcRecord['stats'];
  bytes: number;
}

export function encodeRecord(record: CdcRecord): EncodedRecord {
  const key = record.topic.key.encode(record.key);
  const value = record.value === null ? null : record.topic.value.encode(record.value);
  return { topic: record.topic, key, value, headers: record.headers, stats: record.stats, bytes: key.length + (value?.length ?? 0) + 64 };
}

const BYTES: Codec<Buffer> = { contentType: 'application/octet-stream', encode: (b) => b, decode: (b) => b };
const rawTopics = new Map<string, TopicDefinition<Buffer, Buffer>>();

function rawTopic(topic: TopicDefinition<any, any>): TopicDefinition<Buffer, Buffer> {
  let raw = rawTopics.get(topic.name);
  if (!raw) rawTopics.set(topic.name, (raw = { ...topic, key: BYTES, value: BYTES }));
  return raw;
}

/** Groups records by topic, keeping their order within each topic (and so within each key). */
export function topicBatches(records: readonly EncodedRecord[]): TopicBatch[] {
  const byTopic = new Map<string, TopicBatch<Buffer, Buffer>>();
  for (const r of records) {
    let batch = byTopic.get(r.topic.name);
    if (!batch) byTopic.set(r.topic.name, (batch = { topic: rawTopic(r.topic), records: [] }));
    (batch.records as unknown[]).push({ key: r.key, value: r.value, headers: r.headers });
  }
  return [...byTopic.values()];
}
