import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { cdcTopic, type DebeziumEnvelope } from '@pulse/contracts';
import {
  ERASURE_LIST,
  type ErasureList,
  HealthRegistry,
  type IncomingRecord,
  isPermanentCassandraError,
  KAFKA_CLIENT,
  PermanentError,
  type KafkaClient,
  LOGGER,
  type Logger,
  ServiceMetrics,
  type SupervisedConsumer,
  superviseConsumer,
} from '@pulse/platform';
import { Counter } from 'prom-client';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { GraphService } from '../graph/graph.service';
import { isUserId } from '../profiles/profile.validation';
import { ProfilesRepository } from '../profiles/profiles.cassandra.repository';
import { forEachConcurrently } from '../shared/concurrency';
import { CdcRowVersionsRepository } from './cdc-row-versions.cassandra.repository';

type Row = Record<string, unknown>;
type CdcRecord = IncomingRecord<Record<string, unknown>, DebeziumEnvelope>;

const KEY_CONCURRENCY = 32;

/** The CDC topics this replica applies, for the configured schema of the app database. */
export function appDbTopics(schema: string) {
  return { users: cdcTopic('users', schema), follows: cdcTopic('follows', schema), blocks: cdcTopic('blocks', schema) };
}

/**
 * Keeps Cassandra in step with the app database: `users` rows become profiles (and their handles), `follows`
 * rows graph edges, `blocks` rows blocks in both directions. Each change is applied only if its source LSN is
 * not older than the one recorded for the row (CdcRowVersionsRepository), so replays and reordering never regress a
 * row. Changes of one key are applied in order; offsets are committed after the batch (at-least-once).
 * A value that is not a change event goes to the dead-letter topic of the group; a store that does not
 * answer is retried with backoff.
 */
@Injectable()
export class AppDbKafkaConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private supervised?: SupervisedConsumer;
  private readonly outcomes: Counter<'table' | 'outcome'>;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly versions: CdcRowVersionsRepository,
    private readonly profiles: ProfilesRepository,
    private readonly graph: GraphService,
    private readonly health: HealthRegistry,
    @Inject(ERASURE_LIST) private readonly erased: ErasureList,
    private readonly metrics: ServiceMetrics,
  ) {
    this.outcomes = new Counter({
      name: 'storage_cdc_changes_total',
      help: 'CDC changes handled, by source table and outcome (applied, stale, erased, truncate_ignored, tombstone)',
      labelNames: ['table', 'outcome'],
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap() {
    if (!this.config.STORAGE_CDC_CONSUMER) return;
    const topics = appDbTopics(this.config.STORAGE_CDC_SCHEMA);
    this.supervised = superviseConsumer({
      name: 'cdc-applier',
      kafka: this.kafka,
      topics: [topics.users, topics.follows, topics.blocks],
      consume: { groupId: this.config.STORAGE_CDC_GROUP, from: 'earliest', maxBatchSize: 500 },
      handler: (batch) => this.applyBatch(batch),
      isPermanent: isPermanentCassandraError,
      logger: this.logger,
      health: this.health,
      metrics: this.metrics,
    });
  }

  async onApplicationShutdown() {
    await this.supervised?.stop();
  }

  /** Applies a batch: keys in parallel, the changes of one key in their log order. */
  async applyBatch(batch: readonly CdcRecord[]): Promise<void> {
    const byKey = new Map<string, CdcRecord[]>();
    for (const record of batch) {
      const key = `${record.topic}\u0000${JSON.stringify(record.key)}`;
      byKey.set(key, [...(byKey.get(key) ?? []), record]);
    }
    await forEachConcurrently([...byKey.values()], KEY_CONCURRENCY, async (queue) => {
      for (const record of queue) await this.apply(record);
    });
  }

  private async apply(record: CdcRecord): Promise<void> {
    const envelope = record.value;
    const topics = appDbTopics(this.config.STORAGE_CDC_SCHEMA);
    const table = record.topic === topics.users.name ? 'users' : record.topic === topics.blocks.name ? 'blocks' : 'follows';
    if (!envelope) {
      this.outcomes.inc({ table, outcome: 'tombstone' });
      return;
    }
    if (typeof envelope !== 'object' || !envelope.source || !['c', 'u', 'd', 'r', 't'].includes(envelope.op)) {
      throw new PermanentError(`${record.topic} holds a value that is not a Debezium change event`, { record });
    }
    if (envelope.op === 't') {
      // A TRUNCATE carries no rows to delete; Cassandra keeps them until the table is re-snapshotted.
      this.logger.error({ table, lsn: envelope.source.lsn }, 'TRUNCATE of the app table is not applied to Cassandra');
      this.outcomes.inc({ table, outcome: 'truncate_ignored' });
      return;
    }
    const deleted = envelope.op === 'd';
    const row = (deleted ? envelope.before : envelope.after) ?? record.key ?? {};
    const userColumns = table === 'users' ? ['id'] : table === 'blocks' ? ['blocker_id', 'blocked_id'] : ['follower_id', 'followee_id'];
    const users = userColumns.map((c) => (row[c] === undefined || row[c] === null ? '' : String(row[c])));
    const rowKey = users.join(':');
    // A change whose ids no user can have would fail the same way on every retry: it goes to the dead-letter topic.
    const invalid = users.find((u) => !isUserId(u)) ?? (users.length === 2 && users[0] === users[1] ? users[0] : undefined);
    if (invalid !== undefined) {
      throw new PermanentError(`${record.topic}: a ${table} change names user "${invalid.slice(0, 80)}", which cannot be applied`, {
        record,
      });
    }
    // A change naming an erased user is not applied, deletes included: nothing of theirs comes back, not even a version.
    if (users.some((u) => this.erased.has(u))) {
      this.outcomes.inc({ table, outcome: 'erased' });
      return;
    }
    const sourceTable = `${this.config.STORAGE_CDC_SCHEMA}.${table}`;
    await this.versions.indexUsers(sourceTable, rowKey, users);
    if (!(await this.versions.admit(sourceTable, rowKey, changeOrder(envelope), deleted))) {
      this.outcomes.inc({ table, outcome: 'stale' });
      return;
    }
    if (table === 'users') await this.applyUser(row, deleted);
    else if (table === 'blocks')
      await this.graph.applyBlock(users[0], users[1], deleted ? undefined : { at: toDate(row['created_at']) ?? new Date() });
    else await this.applyFollow(row, deleted);
    this.outcomes.inc({ table, outcome: 'applied' });
  }

  private async applyUser(row: Row, deleted: boolean): Promise<void> {
    const userId = String(row['id']);
    if (deleted) {
      await this.profiles.deleteFromSource(userId);
      return;
    }
    await this.profiles.upsertFromSource({
      userId,
      handle: String(row['handle'] ?? ''),
      displayName: String(row['display_name'] ?? ''),
      bio: String(row['bio'] ?? ''),
      avatarMediaId: '',
      createdAt: toDate(row['created_at']) ?? new Date(),
      updatedAt: toDate(row['updated_at']) ?? new Date(),
    });
  }

  private async applyFollow(row: Row, deleted: boolean): Promise<void> {
    const followerId = String(row['follower_id']);
    const followeeId = String(row['followee_id']);
    if (deleted) await this.graph.unfollow(followerId, followeeId);
    else await this.graph.follow(followerId, followeeId, { followedAt: toDate(row['created_at']), enforceLimit: false });
  }
}

/**
 * The position that orders changes of a row: the commit LSN of the change's transaction (Debezium's
 * `transaction.id` is `<txId>:<commitLsn>`), else `source.lsn` (snapshot reads carry the slot's consistent
 * point). A change's own LSN is not enough: a transaction that began before the snapshot and committed
 * after it has changes whose LSNs lie below the snapshot's, although they are newer than the snapshot rows.
 */
export function changeOrder(envelope: DebeziumEnvelope): number {
  const commitLsn = Number(envelope.transaction?.id?.split(':')[1]);
  return Number.isFinite(commitLsn) && commitLsn > 0 ? commitLsn : Number(envelope.source.lsn);
}

/** Debezium's temporal values: ISO strings (timestamptz) or epoch numbers (ms, µs). */
function toDate(value: unknown): Date | undefined {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : new Date(ms);
  }
  if (typeof value === 'number') return new Date(value > 1e14 ? Math.floor(value / 1000) : value);
  return undefined;
}
