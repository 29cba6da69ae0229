import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HealthRegistry, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter, Gauge } from 'prom-client';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import { LoadedRegistry } from './loaded-registry';
import { RegistryRepository } from './registry.pg.repository';

/**
 * The registry this replica serves from. Reads take `current` synchronously and never wait on
 * PostgreSQL: a timer checks for a newer version in the background and swaps the whole snapshot once it
 * is loaded. If PostgreSQL is unreachable the last loaded version keeps serving (counted on /metrics).
 */
@Injectable()
export class RegistryCache implements OnModuleInit, OnApplicationShutdown {
  private snapshot: LoadedRegistry;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private readonly listeners = new Set<(registry: LoadedRegistry) => void>();
  private readonly failures: Counter;
  private readonly versionGauge: Gauge;

  constructor(
    @Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly repository: RegistryRepository,
    health: HealthRegistry,
    metrics: ServiceMetrics,
  ) {
    this.snapshot = LoadedRegistry.empty(config.FEATURE_STORE_PROJECT);
    this.failures = new Counter({
      name: 'feature_store_registry_refresh_failures_total',
      help: 'Registry refreshes that failed (the previous version kept serving)',
      registers: [metrics.registry],
    });
    this.versionGauge = new Gauge({
      name: 'feature_store_registry_version',
      help: 'Registry version this replica serves',
      registers: [metrics.registry],
    });
    // Serving from a stale registry is degraded, not down: reported, not critical.
    health.register(
      'registry',
      async () => {
        if (this.snapshot.version === 0) throw new Error(`no registry applied yet for project ${config.FEATURE_STORE_PROJECT}`);
      },
      { critical: false },
    );
  }

  /** The registry snapshot to serve from; never blocks. */
  get current(): LoadedRegistry {
    return this.snapshot;
  }

  /** Called with each new snapshot after it replaced the previous one. */
  onChange(listener: (registry: LoadedRegistry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async onModuleInit() {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.FEATURE_STORE_REGISTRY_REFRESH);
    this.timer.unref();
  }

  onApplicationShutdown() {
    if (this.timer) clearInterval(this.timer);
  }

  /** Loads the latest version if it is newer than the served one; concurrent calls share one load. */
  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    try {
      const project = this.config.FEATURE_STORE_PROJECT;
      const latest = await this.repository.latestVersion(project);
      if (latest === this.snapshot.version) return;
      const stored = await this.repository.latest(project);
      if (!stored || stored.version === this.snapshot.version) return;
      const next = LoadedRegistry.from(stored);
      this.snapshot = next;
      this.versionGauge.set(next.version);
      this.logger.info({ project, version: next.version }, 'serving registry version');
      for (const listener of this.listeners) listener(next);
    } catch (error) {
      this.failures.inc();
      this.logger.warn({ err: error }, 'registry refresh failed; serving the previous version');
    }
  }
}
