import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { HealthRegistry, LOGGER, type Logger } from '@pulse/platform';
import { LOGS_CONFIG, type LogsConfig } from '../config/logs.config';
import { OpenSearchClient } from '../opensearch/opensearch.client';
import { dayOfIndex, indexTemplate, retentionPolicy } from './log-document';

export const OPENSEARCH = Symbol('OPENSEARCH');

/**
 * The log store's shape and age: at start it puts the index template of the daily indices and the retention policy
 * (ISM, where the store has the plugin); without ISM it deletes the daily indices past retention itself, at start and
 * hourly. The store's health is a readiness check: searches and indexing need it.
 */
@Injectable()
export class LogStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private mode: 'ism' | 'sweeper' | 'unknown' = 'unknown';

  constructor(
    @Inject(OPENSEARCH) private readonly store: OpenSearchClient,
    @Inject(LOGS_CONFIG) private readonly config: LogsConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    health: HealthRegistry,
  ) {
    health.register('opensearch', async () => {
      const { status } = await this.store.clusterHealth();
      if (status === 'red') throw new Error('cluster health is red');
    });
  }

  get retentionMode(): string {
    return this.mode;
  }

  get retentionSeconds(): number {
    return this.config.LOGS_RETENTION / 1000;
  }

  get indexPattern(): string {
    return `${this.config.LOGS_INDEX_PREFIX}-*`;
  }

  async onApplicationBootstrap() {
    const prefix = this.config.LOGS_INDEX_PREFIX;
    await this.store.putIndexTemplate(prefix, indexTemplate(prefix, this.config.LOGS_INDEX_REPLICAS));
    if (await this.store.hasIsm()) {
      await this.store.ensureIsmPolicy(`${prefix}-retention`, retentionPolicy(prefix, this.config.LOGS_RETENTION));
      this.mode = 'ism';
      return;
    }
    this.mode = 'sweeper';
    await this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'log retention sweep failed; next in an hour'));
    this.timer = setInterval(
      () => void this.sweep().catch((error: unknown) => this.logger.warn({ err: error }, 'log retention sweep failed; next in an hour')),
      3_600_000,
    );
    this.timer.unref();
  }

  /** Deletes the daily indices whose whole day is older than retention; returns their names. */
  async sweep(now = Date.now()): Promise<string[]> {
    const prefix = this.config.LOGS_INDEX_PREFIX;
    const expired = (await this.store.indices(this.indexPattern)).filter((index) => {
      const day = dayOfIndex(prefix, index);
      return day !== undefined && day + 86_400_000 <= now - this.config.LOGS_RETENTION;
    });
    for (const index of expired) await this.store.deleteIndex(index);
    if (expired.length > 0) this.logger.info({ indices: expired }, 'deleted log indices past retention');
    return expired;
  }

  onApplicationShutdown() {
    clearInterval(this.timer);
  }
}
