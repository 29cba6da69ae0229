import { bytesCodec, deadLetterReplayTopic, deadLetterTopic, defineTopic, type TopicDefinition } from '@pulse/contracts';
import { positionId, readDeadLetter, REPLAYED_FROM_HEADER, type StoredDeadLetter } from './dead-letters';
import type { KafkaClient, OutgoingRecord, TopicBatch } from './kafka.types';
import { readTopicToEnd } from './read-to-end';

export interface DeadLetterErrorSummary {
  stage: string;
  exceptionClass: string;
  exceptionMessage: string;
  /** Source records with this error. */
  records: number;
  /** One of them, `topic/partition/offset`. */
  example: string;
}

export interface DeadLetterListing {
  group: string;
  topic: string;
  /** Records on the dead-letter topic (a crash between a dead letter and its commit may have written one twice). */
  deadLetters: number;
  /** Distinct source records among them. */
  sourceRecords: number;
  /** Source records written back already (replay markers). */
  replayed: number;
  /** Source records not written back yet. */
  pending: number;
  bySourceTopic: Record<string, number>;
  errors: DeadLetterErrorSummary[];
}

export interface ReplayResult {
  group: string;
  /** Records written back by this run. */
  replayed: number;
  /** Source records skipped because an earlier run wrote them back. */
  alreadyReplayed: number;
  /** Dead letters that were copies of another one of the same source record. */
  duplicates: number;
  byTargetTopic: Record<string, number>;
}

/** The dead letters of a group, one per source record (the first copy), with the replay markers. */
async function load(kafka: KafkaClient, group: string, timeoutMs?: number) {
  const topic = deadLetterTopic(group);
  const markers = deadLetterReplayTopic(group);
  const exists = new Set(await kafka.admin.listTopics());
  const read = <K, V>(t: TopicDefinition<K, V>) => (exists.has(t.name) ? readTopicToEnd(kafka, t, timeoutMs) : Promise.resolve([]));
  const [letters, marks] = await Promise.all([read(topic), read(markers)]);
  const bySource = new Map<string, StoredDeadLetter>();
  let total = 0;
  for (const record of letters) {
    const letter = readDeadLetter(record);
    if (!letter) continue;
    total++;
    const id = positionId(letter);
    if (!bySource.has(id)) bySource.set(id, letter);
  }
  const replayed = new Set(marks.filter((m) => m.value !== null).map((m) => m.key ?? ''));
  return { topic, markers, total, bySource, replayed };
}

/** What `deadletters list <group>` prints: counts, and the errors grouped by stage, class and message. */
export async function listDeadLetters(kafka: KafkaClient, group: string, options: { timeoutMs?: number } = {}): Promise<DeadLetterListing> {
  const { topic, total, bySource, replayed } = await load(kafka, group, options.timeoutMs);
  const bySourceTopic: Record<string, number> = {};
  const errors = new Map<string, DeadLetterErrorSummary>();
  for (const [id, letter] of bySource) {
    bySourceTopic[letter.topic] = (bySourceTopic[letter.topic] ?? 0) + 1;
    const key = `${letter.stage}\u0000${letter.exceptionClass}\u0000${letter.exceptionMessage}`;
    const summary = errors.get(key);
    if (summary) summary.records++;
    else
      errors.set(key, {
        stage: letter.stage,
        exceptionClass: letter.exceptionClass,
        exceptionMessage: letter.exceptionMessage,
        records: 1,
        example: id,
      });
  }
  const done = [...bySource.keys()].filter((id) => replayed.has(id)).length;
  return {
    group,
    topic: topic.name,
    deadLetters: total,
    sourceRecords: bySource.size,
    replayed: done,
    pending: bySource.size - done,
    bySourceTopic,
    errors: [...errors.values()].sort((a, b) => b.records - a.records),
  };
}

/**
 * Writes a group's dead letters back, once the cause is fixed: each source record once (duplicate dead
 * letters of one record count once), to its source topic or to `to`, with its original key, value and
 * headers plus `__pulse.replayed.from`. Each is recorded on the group's replay topic in the same produce
 * round, so running it again writes back only what is new since. Note that a record written back to its
 * source topic is read again by every group of that topic, not only by the one that dead-lettered it.
 */
export async function replayDeadLetters(
  kafka: KafkaClient,
  group: string,
  options: { to?: string; timeoutMs?: number; chunk?: number } = {},
): Promise<ReplayResult> {
  const { total, bySource, replayed, markers } = await load(kafka, group, options.timeoutMs);
  const targets = new Map<string, TopicDefinition<Buffer, Buffer>>();
  const target = (name: string) => {
    let t = targets.get(name);
    if (!t) {
      t = defineTopic({ name, description: 'replay target', partitions: 1, config: {}, key: bytesCodec, value: bytesCodec });
      targets.set(name, t);
    }
    return t;
  };
  const pending = [...bySource.entries()].filter(([id]) => !replayed.has(id));
  if (pending.length > 0) await kafka.admin.ensureTopics([markers]);
  const byTargetTopic: Record<string, number> = {};
  const chunk = options.chunk ?? 500;
  for (let i = 0; i < pending.length; i += chunk) {
    const writes = new Map<string, OutgoingRecord<Buffer, Buffer>[]>();
    const marks: OutgoingRecord<string, { to: string; deadLetter: string; replayedAtMs: number }>[] = [];
    for (const [id, letter] of pending.slice(i, i + chunk)) {
      const to = options.to ?? letter.topic;
      writes.set(to, [
        ...(writes.get(to) ?? []),
        {
          key: letter.key ?? Buffer.alloc(0),
          value: letter.value,
          headers: { ...letter.headers, [REPLAYED_FROM_HEADER]: id },
        },
      ]);
      marks.push({ key: id, value: { to, deadLetter: positionId(letter.at), replayedAtMs: Date.now() } });
      byTargetTopic[to] = (byTargetTopic[to] ?? 0) + 1;
    }
    const batches: TopicBatch[] = [...writes].map(([name, records]) => ({ topic: target(name), records }));
    batches.push({ topic: markers, records: marks });
    await kafka.producer.sendMany(batches);
  }
  return {
    group,
    replayed: pending.length,
    alreadyReplayed: bySource.size - pending.length,
    duplicates: total - bySource.size,
    byTargetTopic,
  };
}
