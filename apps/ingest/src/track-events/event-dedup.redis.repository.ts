import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger, REDIS_CLIENT, ServiceMetrics } from '@pulse/platform';
import type Redis from 'ioredis';
import { Counter } from 'prom-client';
import { INGEST_CONFIG, type IngestConfig } from '../config/ingest.config';

const MARK_SCRIPT = "for i = 1, #KEYS do redis.call('SET', KEYS[i], '1', 'PX', ARGV[1]) end return #KEYS";

/**
 * Remembers accepted event_ids in Redis for the dedup window, shared by every ingest replica.
 * Ids are marked only after Kafka acknowledged the events, so a failed write never turns a client's
 * retry into a false duplicate; two concurrent requests carrying the same new id can both pass
 * (at-least-once; consumers are idempotent on event_id). When Redis is down, dedup is skipped
 * rather than refusing events: the count shows on /metrics.
 */
@Injectable()
export class EventDedupRepository {
  private readonly skipped: Counter;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(INGEST_CONFIG) private readonly config: IngestConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.skipped = new Counter({
      name: 'ingest_dedup_unavailable_total',
      help: 'Dedup look-ups or marks skipped because Redis did not answer',
      registers: [metrics.registry],
    });
  }

  /** The subset of `eventIds` already accepted within the window. */
  async seen(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    try {
      const values = await this.redis.mget(eventIds.map((id) => this.key(id)));
      return new Set(eventIds.filter((_, i) => values[i] !== null));
    } catch (error) {
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup look-up skipped: redis unavailable');
      return new Set();
    }
  }

  /** One command per batch: a script sets every key with the window as its expiry. */
  async markAccepted(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    try {
      await this.redis.eval(MARK_SCRIPT, eventIds.length, ...eventIds.map((id) => this.key(id)), this.config.INGEST_DEDUP_TTL);
    } catch (error) {
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup mark skipped: redis unavailable');
    }
  }

  private key(eventId: string): string {
    return this.config.INGEST_DEDUP_KEY_PREFIX + eventId;
  }
}
