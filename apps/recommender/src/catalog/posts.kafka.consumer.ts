import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { cdcTopic, type DebeziumEnvelope } from '@pulse/contracts';
import {
  HealthRegistry,
  type IncomingRecord,
  KAFKA_CLIENT,
  type KafkaClient,
  LOGGER,
  type Logger,
  ServiceMetrics,
  type SupervisedConsumer,
  superviseConsumer,
} from '@pulse/platform';
import { Counter } from 'prom-client';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { type CatalogPost, PostCatalogRepository } from './post-catalog.redis.repository';

type PostChange = Parameters<PostCatalogRepository['apply']>[0][number];

/** The CDC topic of the app database's posts for the configured schema. */
export function postsTopic(schema: string) {
  return cdcTopic('posts', schema);
}

/** A Debezium change of `posts` as a catalogue change; undefined for what the catalogue ignores (truncate, bad rows). */
export function postChange(record: IncomingRecord<Record<string, unknown>, DebeziumEnvelope>): PostChange | undefined {
  const envelope = record.value;
  if (!envelope) return undefined; // a tombstone follows its delete, which carried the change
  if (envelope.op === 'd') {
    const id = envelope.before?.id ?? record.key?.id;
    return id === undefined || id === null ? undefined : { kind: 'delete', id: String(id) };
  }
  const row = envelope.after;
  if (!row || (envelope.op !== 'c' && envelope.op !== 'u' && envelope.op !== 'r')) return undefined;
  if (row.id === undefined || row.author_id === undefined) return undefined;
  const created = typeof row.created_at === 'string' ? Date.parse(row.created_at) : Number(row.created_at);
  const post: Omit<CatalogPost, 'deleted'> = {
    id: String(row.id),
    authorId: String(row.author_id),
    tags: Array.isArray(row.tags) ? row.tags.map(String).filter((t) => t.length > 0 && t.length <= 64) : [],
    createdAtMs: Number.isFinite(created) ? created : (envelope.source?.ts_ms ?? record.timestampMs),
  };
  // Only public posts are recommended; a post made private leaves the catalogue like a deleted one.
  if (row.visibility !== undefined && row.visibility !== 'public') return { kind: 'delete', id: post.id };
  return { kind: 'upsert', post };
}

/**
 * Keeps the post catalogue (PostCatalogRepository) in step with the app database through cdc's
 * pulse.cdc.posts.v1: new posts become candidates within seconds, deleted and private ones stop being
 * recommended. Changes of one post arrive in order (keyed by id); the catalogue writes are idempotent, so
 * the at-least-once replay after a restart is harmless.
 */
@Injectable()
export class PostsKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private supervised?: SupervisedConsumer;
  private readonly applied: Counter<'kind'>;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: PostCatalogRepository,
    private readonly health: HealthRegistry,
    private readonly metrics: ServiceMetrics,
  ) {
    this.applied = new Counter({
      name: 'recs_catalog_changes_total',
      help: 'Post changes applied to the recommender catalogue, by kind (upsert, delete)',
      labelNames: ['kind'],
      registers: [metrics.registry],
    });
  }

  async onApplicationBootstrap() {
    if (!this.config.RECS_CATALOG_CONSUMER) return;
    await this.rebuildIfLost();
    this.supervised = superviseConsumer({
      name: 'catalog-consumer',
      kafka: this.kafka,
      topics: [postsTopic(this.config.RECS_CDC_SCHEMA)],
      consume: { groupId: this.config.RECS_CATALOG_GROUP, from: 'earliest', maxBatchSize: 1000 },
      handler: async (batch) => {
        const changes = batch.map(postChange).filter((c): c is PostChange => c !== undefined);
        await this.catalog.apply(changes);
        for (const c of changes) this.applied.inc({ kind: c.kind });
      },
      logger: this.logger,
      health: this.health,
      metrics: this.metrics,
    });
  }

  /**
   * The catalogue lives in Redis, the consumer's position in Kafka: when Redis comes back without the
   * catalogue (no persistence, a failover, a flush) the group's committed offsets would skip every post
   * before them for good. A catalogue without its mark is therefore filled again from the start of the
   * (compacted) topic: the group is moved there before it joins, then the mark is written. Moving a group
   * needs it to have no active member: if another replica is consuming, this one says so and leaves the
   * group where it is (a rollout of every replica rebuilds the catalogue).
   */
  private async rebuildIfLost(): Promise<void> {
    const topic = postsTopic(this.config.RECS_CDC_SCHEMA).name;
    try {
      if ((await this.catalog.builtAt()) !== undefined) return;
      const topics = await this.kafka.admin.listTopics();
      if (topics.includes(topic)) {
        const start = await this.kafka.admin.startOffsets(topic);
        await this.kafka.admin.setGroupOffsets(this.config.RECS_CATALOG_GROUP, topic, start);
        this.logger.info(
          { topic, group: this.config.RECS_CATALOG_GROUP },
          'post catalogue not in Redis: filling it from the start of the topic',
        );
      }
      await this.catalog.markBuilt(Date.now());
    } catch (error) {
      this.logger.warn(
        { topic, group: this.config.RECS_CATALOG_GROUP, err: error instanceof Error ? error.message : String(error) },
        'post catalogue not in Redis and its consumer group could not be moved to the start of the topic: it holds only posts from here on until every replica restarts',
      );
    }
  }

  async onApplicationShutdown() {
    await this.supervised?.stop();
  }
}
