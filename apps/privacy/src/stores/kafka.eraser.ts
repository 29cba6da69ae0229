import { Inject, Injectable } from '@nestjs/common';
import { defineTopic, type TopicDefinition, utf8Codec } from '@pulse/contracts';
import { type IncomingRecord, KAFKA_CLIENT, type KafkaClient } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/** How long one scan of a topic may take before the step fails (and is retried). */
const SCAN_TIMEOUT_MS = 120_000;

/**
 * Tombstones for the subject's keys on compacted topics keyed by user (PRIVACY_KAFKA_USER_TOPICS: the etl's
 * per-user window aggregates, keyed `<window start>|user_id=<id>`): the topic is read from its earliest offset to
 * its end, and every key of the subject whose latest record is not a tombstone gets one; compaction then removes
 * the key's records (docs/privacy.md gives the time). The CDC topics get theirs from cdc, when the app database's
 * row goes; append-only topics (tracked activity, served lists, late and rejected events) keep records until their
 * retention passes, and every consumer drops them by the erasure list meanwhile.
 */
@Injectable()
export class KafkaEraser implements StoreEraser {
  readonly store = 'kafka' as const;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
  ) {}

  async erase(subject: Subject): Promise<EraseOutcome> {
    let tombstones = 0;
    let topics = 0;
    for (const entry of this.config.PRIVACY_KAFKA_USER_TOPICS) {
      const [name, field] = entry.split(':');
      const topic = defineTopic({
        name,
        description: 'a compacted topic keyed by user',
        partitions: 1,
        config: {},
        key: utf8Codec,
        value: utf8Codec,
      });
      const live = await this.liveKeys(topic, (key) => key.split('|').includes(`${field}=${subject.userId}`));
      if (live === undefined) continue;
      topics++;
      if (live.length > 0)
        await this.kafka.producer.send(
          topic,
          live.map((key) => ({ key, value: null })),
        );
      tombstones += live.length;
    }
    return { counts: { tombstones }, memo: { topics } };
  }

  /** The matching keys whose latest record is a value (not a tombstone); undefined when the topic does not exist. */
  private async liveKeys(topic: TopicDefinition<string, string>, matches: (key: string) => boolean): Promise<string[] | undefined> {
    let end: bigint[];
    try {
      end = await this.kafka.admin.endOffsets(topic.name);
    } catch {
      return undefined;
    }
    const latest = new Map<string, boolean>();
    const positions = end.map(() => -1n);
    const done = () => end.every((e, p) => e === 0n || positions[p] >= e - 1n);
    if (done()) return [];
    const consumer = this.kafka.consumer([topic], { groupId: `privacy-scan-${randomUUID()}`, from: 'earliest', maxBatchSize: 5000 });
    let timer: NodeJS.Timeout | undefined;
    try {
      const finished = await Promise.race([
        consumer
          .run(async (batch: IncomingRecord<string, string>[]) => {
            for (const r of batch) {
              if (r.key !== null && matches(r.key)) latest.set(r.key, r.value !== null);
              if (r.offset > positions[r.partition]) positions[r.partition] = r.offset;
            }
            if (done()) await consumer.close();
          })
          .then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SCAN_TIMEOUT_MS))),
      ]);
      if (!finished || !done()) throw new Error(`could not read ${topic.name} to its end within ${SCAN_TIMEOUT_MS} ms`);
    } finally {
      clearTimeout(timer);
      await consumer.close().catch(() => undefined);
    }
    return [...latest].filter(([, live]) => live).map(([key]) => key);
  }
}
