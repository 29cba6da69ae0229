import { Topics } from '@pulse/contracts';
import { randomUUID } from 'node:crypto';
import type { HealthRegistry } from '../health/health.registry';
import { superviseConsumer, type SupervisedConsumer } from '../kafka/consumer-supervisor';
import type { IncomingRecord, KafkaClient } from '../kafka/kafka.types';
import type { Logger } from '../logging/logger';
import { subjectHash } from './subject-hash';

/**
 * The erasure list as one service sees it: every subject hash of pulse.privacy.erasures.v1, read whole before
 * `start` resolves and followed afterwards, so `has(userId)` answers from memory. Consumers of user data drop
 * the records of listed users: events of an erased user still in Kafka (append-only topics keep them until
 * their retention passes, compacted ones until compaction) never come back into a store.
 *
 * The topic is read by a group of its own per process, from the beginning: nothing is committed that matters.
 */
export class ErasureList {
  private readonly hashes = new Set<string>();
  private supervised?: SupervisedConsumer;
  private readonly cache = new Map<string, boolean>();

  constructor(
    private readonly options: {
      kafka: KafkaClient;
      /** The platform's subject key (PRIVACY_SUBJECT_KEY). */
      subjectKey: string;
      logger: Logger;
      /** A dead list makes the service unready (the consumer is supervised). */
      health?: HealthRegistry;
      /** Name of the service, in the consumer group's name. */
      service: string;
    },
  ) {}

  /** Reads the list to its end, then keeps following it. */
  async start(): Promise<void> {
    const { kafka, logger, health, service } = this.options;
    await kafka.admin.ensureTopics([Topics.privacyErasures]);
    const end = await kafka.admin.endOffsets(Topics.privacyErasures.name);
    let loaded!: () => void;
    const initial = new Promise<void>((resolve) => (loaded = resolve));
    const caughtUp = (positions: bigint[]) => end.every((e, p) => e === 0n || (positions[p] ?? -1n) >= e - 1n);
    const positions: bigint[] = end.map(() => -1n);
    if (caughtUp(positions)) loaded();
    const consume = { groupId: `${service}-erasure-list-${randomUUID()}`, from: 'earliest' as const };
    const handler = async (batch: IncomingRecord<string, unknown>[]) => {
      for (const record of batch) {
        if (record.key) this.add(record.key);
        if (record.offset > positions[record.partition]) positions[record.partition] = record.offset;
      }
      if (caughtUp(positions)) loaded();
    };
    if (health) {
      this.supervised = superviseConsumer({
        name: 'erasure-list',
        kafka,
        topics: [Topics.privacyErasures],
        consume,
        handler,
        logger,
        health,
      });
    } else {
      const consumer = kafka.consumer([Topics.privacyErasures], consume);
      const running = consumer.run(handler);
      this.supervised = {
        stop: async () => {
          await consumer.close();
          await running.catch(() => undefined);
        },
      };
    }
    await initial;
    logger.info({ subjects: this.hashes.size }, 'erasure list loaded');
  }

  /** Whether the user was erased. Empty ids are never listed. */
  has(userId: string | null | undefined): boolean {
    if (!userId || this.hashes.size === 0) return false;
    let listed = this.cache.get(userId);
    if (listed === undefined) {
      listed = this.hashes.has(subjectHash(this.options.subjectKey, userId));
      // Only answers of "not listed" can change (a later erasure); they are dropped when one arrives.
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(userId, listed);
    }
    return listed;
  }

  /** Listed subjects. */
  get size(): number {
    return this.hashes.size;
  }

  /** Adds a subject hash (a record of the topic, or one this process just published). */
  add(hash: string): void {
    if (this.hashes.has(hash)) return;
    this.hashes.add(hash);
    this.cache.clear();
  }

  async stop(): Promise<void> {
    await this.supervised?.stop();
  }

  /** Reads the whole list once and stops: for command-line tools (training). */
  static async load(kafka: KafkaClient, subjectKey: string, logger: Logger): Promise<ErasureList> {
    const list = new ErasureList({ kafka, subjectKey, logger, service: 'tool' });
    await list.start();
    await list.stop();
    return list;
  }
}
