import { Inject, Injectable } from '@nestjs/common';
import { millisToTimestamp, Topics } from '@pulse/contracts';
import { KAFKA_CLIENT, type KafkaClient } from '@pulse/platform';
import type { EraseContext, EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/**
 * Lists the subject on pulse.privacy.erasures.v1 (key = subject hash, compacted, kept): from here on every consumer
 * of user data drops the subject's records (storage, etl, feature-store, recommender), so events still in Kafka never
 * bring the user back. Runs first. Publishing again is harmless (same key, same value); a verification pass has
 * nothing to find here.
 */
@Injectable()
export class ErasureListEraser implements StoreEraser {
  readonly store = 'erasure_list' as const;

  constructor(@Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient) {}

  async erase(subject: Subject, context: EraseContext): Promise<EraseOutcome> {
    if (context.pass > 1) return { counts: {} };
    const erasedAt = context.step.startedAt?.getTime() ?? context.now;
    await this.kafka.producer.send(Topics.privacyErasures, [
      { key: subject.hash, value: { subjectHash: subject.hash, jobId: subject.jobId, erasedAt: millisToTimestamp(erasedAt) } },
    ]);
    return { counts: { listed: 1 } };
  }
}
