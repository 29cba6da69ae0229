import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HealthRegistry, LOGGER, type Logger } from '@pulse/platform';
import { CaptureCoordinatorService } from '../capture/capture-coordinator.service';
import { slotLostError } from '../capture/capture-fatal.error';
import { CaptureStatusService } from '../capture/capture-status.service';
import { CdcCatalogRepository } from '../capture/cdc-catalog.pg.repository';
import { CdcMetrics } from '../capture/cdc.metrics';
import { HEARTBEAT_PREFIX } from '../capture/change-stream';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { formatLsn } from '../replication/lsn';

/**
 * Keeps the replication slot from silently retaining WAL: writes heartbeats into the WAL so that the slot
 * advances even when the captured tables are quiet, measures the slot's lag from pg_replication_slots
 * (metric cdc_slot_lag_bytes), alerts above CDC_MAX_LAG_BYTES (error log, cdc_slot_lag_exceeded,
 * failing `slot-lag` readiness check) and fails the service when the slot disappears or is invalidated.
 */
@Injectable()
export class WalSafetyService implements OnApplicationBootstrap, OnModuleDestroy {
  private lagTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private exceeded = false;
  private lastLagBytes = 0n;
  private checking = false;

  constructor(
    @Inject(CDC_CONFIG) private readonly config: CdcConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: CdcCatalogRepository,
    private readonly status: CaptureStatusService,
    private readonly coordinator: CaptureCoordinatorService,
    private readonly metrics: CdcMetrics,
    private readonly health: HealthRegistry,
  ) {}

  onApplicationBootstrap(): void {
    // Watches only a capture that started (its start failing fails the app's start by itself); a standby's once it
    // took over, so the wait is not part of the app's start.
    void this.coordinator.started.then(
      () => this.watch(),
      () => undefined,
    );
  }

  private watch(): void {
    // Not critical: a lagging slot is an alert for operators, not a reason to stop capturing.
    this.health.register(
      'slot-lag',
      async () => {
        if (this.exceeded) {
          throw new Error(
            `slot "${this.config.CDC_SLOT}" retains ${this.lastLagBytes} bytes of WAL, above CDC_MAX_LAG_BYTES=${this.config.CDC_MAX_LAG_BYTES}`,
          );
        }
      },
      { critical: false },
    );
    this.lagTimer = setInterval(() => void this.checkLag(), this.config.CDC_LAG_CHECK_INTERVAL);
    if (this.config.CDC_HEARTBEAT_INTERVAL > 0) {
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.config.CDC_HEARTBEAT_INTERVAL);
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.lagTimer);
    clearInterval(this.heartbeatTimer);
  }

  /** Reads the slot's lag once; exported for tests and GetStatus-like callers. */
  async checkLag(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const slotName = this.config.CDC_SLOT;
      const slot = await this.catalog.slotInfo(slotName);
      if (!slot) {
        if (this.status.expectsSlot) this.coordinator.fail(slotLostError(this.config));
        return;
      }
      if (slot.walStatus === 'lost' && this.status.expectsSlot) {
        this.coordinator.fail(
          new Error(`replication slot "${slotName}" was invalidated by the server (wal_status lost): the WAL it needed is gone`),
        );
        return;
      }
      this.lastLagBytes = slot.lagBytes;
      this.metrics.slotLagBytes.set({ slot: slotName }, Number(slot.lagBytes));
      this.metrics.lagSeconds.set({ slot: slotName }, this.status.lagMillis(slot.lagBytes) / 1000);
      const exceeded = slot.lagBytes > BigInt(this.config.CDC_MAX_LAG_BYTES);
      if (exceeded && !this.exceeded) {
        this.logger.error(
          {
            slot: slotName,
            lagBytes: Number(slot.lagBytes),
            limitBytes: this.config.CDC_MAX_LAG_BYTES,
            confirmed: formatLsn(slot.confirmedFlushLsn),
            state: this.status.state,
          },
          'replication slot lag above CDC_MAX_LAG_BYTES: the database retains WAL for it; check that capture runs and Kafka accepts writes',
        );
      } else if (!exceeded && this.exceeded) {
        this.logger.info({ slot: slotName, lagBytes: Number(slot.lagBytes) }, 'replication slot lag back under CDC_MAX_LAG_BYTES');
      }
      this.exceeded = exceeded;
      this.metrics.slotLagExceeded.set({ slot: slotName }, exceeded ? 1 : 0);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the replication slot lag');
    } finally {
      this.checking = false;
    }
  }

  /** Writes a heartbeat into the WAL; it streams back through the slot, goes to Kafka and is confirmed like a change. */
  async heartbeat(): Promise<void> {
    if (this.status.state !== 'running') return;
    try {
      await this.catalog.emitMessage(HEARTBEAT_PREFIX, this.config.CDC_SLOT);
      this.metrics.heartbeats.inc();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not write a heartbeat');
    }
  }
}
