import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { LOGGER, type Logger, REDIS_CLIENT, ServiceMetrics } from '@pulse/platform';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { INGEST_CONFIG, type IngestConfig } from '../config/ingest.config';

const MARK_SCRIPT = "for i = 1, #KEYS do redis.call('SET', KEYS[i], '1', 'PX', ARGV[1]) end return #KEYS";

/**
 * Claims the keys of a call's events. A key holds `1` once its event was accepted, or `p\n<writer key>\n<call>` while a
 * call writes it. Per key: 0 = claimed for this call (free, already this call's, or left by a writer that is gone),
 * 1 = accepted earlier, 2 = being written by a live writer's call. ARGV: claim value, claim TTL, writer key, writer TTL.
 * The writer keys are read, not declared in KEYS: Pulse's Redis is one primary (standalone or Sentinel), not a cluster.
 */
const CLAIM_SCRIPT = `
redis.call('SET', ARGV[3], '1', 'PX', ARGV[4])
local out = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  local state = 0
  if v and v ~= ARGV[1] then
    if string.sub(v, 1, 2) ~= 'p\\n' then
      state = 1
    else
      local writer = string.match(v, '^p\\n([^\\n]*)\\n')
      if writer and redis.call('EXISTS', writer) == 1 then state = 2 end
    end
  end
  if state == 0 then redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2]) end
  out[i] = state
end
return out`;

/** Frees the keys this call claimed and did not write (ARGV[1]: its claim value). */
const RELEASE_SCRIPT = "for i = 1, #KEYS do if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end end return 0";

/** How long a writer counts as alive after its last sign (each claim, and a beat every WRITER_BEAT_MS). */
const WRITER_TTL_MS = 10_000;
const WRITER_BEAT_MS = 2_000;

/** What a claim of a call's event ids found. */
export interface Claim {
  /** Ids accepted by earlier calls: duplicates. */
  accepted: Set<string>;
  /** Ids an earlier call (of this replica or another) is still writing. */
  pending: string[];
}

/**
 * Remembers accepted event_ids in Redis for the dedup window, shared by every ingest replica. A call first claims its
 * events' ids: an id another call is still writing (its records queued behind a Kafka outage, say) is `pending`, so a
 * client's retry of a call that has not finished yet writes nothing again; the call marks its ids accepted once Kafka
 * acknowledged the records, or releases them when the write failed, so a failed write never turns a retry into a false
 * duplicate. A claim lasts as long as its writer (the replica) gives signs of life: a replica that dies mid-write leaves
 * its events claimable by the next call within WRITER_TTL_MS. When Redis is down, dedup is skipped rather than refusing
 * events: the count shows on /metrics.
 */
@Injectable()
export class EventDedupRepository implements OnModuleInit, OnModuleDestroy {
  private readonly skipped: Counter;
  /** This replica's sign of life; the ids cannot hold a space, so it meets no event's key. */
  private readonly writerKey: string;
  /** Longer than any write may wait for Kafka: two delivery timeouts (one queued behind another) and a minute. */
  private readonly claimTtlMs: number;
  private beat?: NodeJS.Timeout;

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
    this.writerKey = `${config.INGEST_DEDUP_KEY_PREFIX}writer ${randomUUID()}`;
    this.claimTtlMs = 2 * config.KAFKA_DELIVERY_TIMEOUT + 60_000;
  }

  onModuleInit(): void {
    this.beat = setInterval(() => {
      this.redis.set(this.writerKey, '1', 'PX', WRITER_TTL_MS).catch(() => undefined);
    }, WRITER_BEAT_MS);
    this.beat.unref();
  }

  /** The beat stops; the writer key expires on its own, so calls still draining keep their claims until then. */
  onModuleDestroy(): void {
    clearInterval(this.beat);
  }

  /** The subset of `eventIds` already accepted within the window (ValidateEvents: nothing claimed). */
  async seen(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    try {
      const values = await this.redis.mget(eventIds.map((id) => this.key(id)));
      return new Set(eventIds.filter((_, i) => values[i] === '1'));
    } catch (error) {
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup look-up skipped: redis unavailable');
      return new Set();
    }
  }

  /** Claims `eventIds` for the call `callId` in one command; calling it again for the same call keeps what it holds. */
  async claim(eventIds: readonly string[], callId: string): Promise<Claim> {
    if (eventIds.length === 0) return { accepted: new Set(), pending: [] };
    try {
      const states = (await this.redis.eval(
        CLAIM_SCRIPT,
        eventIds.length,
        ...eventIds.map((id) => this.key(id)),
        this.claimValue(callId),
        this.claimTtlMs,
        this.writerKey,
        WRITER_TTL_MS,
      )) as number[];
      return {
        accepted: new Set(eventIds.filter((_, i) => states[i] === 1)),
        pending: eventIds.filter((_, i) => states[i] === 2),
      };
    } catch (error) {
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup claim skipped: redis unavailable');
      return { accepted: new Set(), pending: [] };
    }
  }

  /** Frees what the call claimed and did not write (its write failed, or it gave way to an earlier call). */
  async release(eventIds: readonly string[], callId: string): Promise<void> {
    if (eventIds.length === 0) return;
    try {
      await this.redis.eval(RELEASE_SCRIPT, eventIds.length, ...eventIds.map((id) => this.key(id)), this.claimValue(callId));
    } catch (error) {
      // The claims expire with this replica's writer key or their TTL.
      this.skipped.inc();
      this.logger.warn({ err: error }, 'dedup release skipped: redis unavailable');
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

  private claimValue(callId: string): string {
    return `p\n${this.writerKey}\n${callId}`;
  }

  private key(eventId: string): string {
    return this.config.INGEST_DEDUP_KEY_PREFIX + eventId;
  }
}
