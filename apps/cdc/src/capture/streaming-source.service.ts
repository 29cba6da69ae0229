import { checkReason } from './capture.validation';
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { grpcErrors, LOGGER, type Logger } from '@pulse/platform';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { formatLsn } from '../replication/lsn';
import type { ReplicationConnection } from '../replication/replication.pg.connection';
import { IncrementalSnapshotService } from '../snapshot/incremental-snapshot.service';
import { SnapshotCancelledError } from '../snapshot/initial-snapshot';
import { CaptureContext } from './capture.context';
import { CaptureFatalError, slotLostError } from './capture-fatal.error';
import { CaptureStatusService } from './capture-status.service';
import { CdcCatalogRepository } from './cdc-catalog.pg.repository';
import { ChangeEventProducer, MAX_BATCH_BYTES } from './change-event.kafka.producer';
import { ChangeStream, type StreamContext } from './change-stream';
import { PgConnectionFactory } from './pg-connections.factory';

const MAX_BACKOFF_MS = 30_000;

/**
 * A new slot's start: takes its initial snapshot and resolves with the slot's replication connection, which
 * streams next; on failure the connection is closed. `cancelled` turns true on shutdown or failure.
 */
export type NewSlotStart = (cancelled: () => boolean) => Promise<ReplicationConnection>;

/**
 * The capture loop (Debezium's streaming change event source): streams the slot through `ChangeStream`
 * sessions — pgoutput read, mapped to Debezium events, put on Kafka, and only then confirmed to the slot —
 * reconnecting from the confirmed position after any failure, with backoff. Pauses and resumes on request
 * (the slot is released meanwhile). A new slot's initial snapshot runs first, retried like a session.
 */
@Injectable()
export class StreamingSourceService implements BeforeApplicationShutdown {
  private stream?: ChangeStream;
  private loop?: Promise<void>;
  private stopping = false;
  private wakeLoop?: () => void;

  constructor(
    @Inject(CDC_CONFIG) private readonly config: CdcConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: CdcCatalogRepository,
    private readonly context: CaptureContext,
    private readonly connections: PgConnectionFactory,
    private readonly producer: ChangeEventProducer,
    private readonly snapshots: IncrementalSnapshotService,
    private readonly status: CaptureStatusService,
  ) {}

  /**
   * Runs the loop in the background until shutdown or a condition reconnecting cannot cure (slot lost or
   * invalidated), handed to `fatal`. `newSlot`: the slot was just created and its snapshot comes first.
   */
  start(options: { newSlot?: NewSlotStart; fatal: (error: CaptureFatalError) => void }): void {
    this.loop = this.run(options.newSlot, options.fatal);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.interrupt();
    await this.loop;
  }

  /** Ends the current session and wakes the loop, which then sees what was asked (stop, pause, failure). */
  interrupt(): void {
    this.stream?.stop();
    this.wakeLoop?.();
  }

  async pause(reason: string): Promise<void> {
    checkReason(reason);
    const { status } = this;
    if (status.state === 'failed') throw grpcErrors.failedPrecondition(`capture failed: ${status.lastError}`);
    if (status.state === 'snapshotting' || status.state === 'starting') {
      throw grpcErrors.failedPrecondition(`capture is ${status.state}; it can be paused once streaming`);
    }
    if (status.requestPause(true)) this.logger.info({ reason }, 'capture paused');
    this.interrupt();
    await this.waitFor(() => status.state === 'paused' || status.state === 'failed');
  }

  async resume(reason: string): Promise<void> {
    checkReason(reason);
    const { status } = this;
    if (status.state === 'failed') throw grpcErrors.failedPrecondition(`capture failed: ${status.lastError}`);
    if (status.requestPause(false)) this.logger.info({ reason }, 'capture resumed');
    this.wakeLoop?.();
    await this.waitFor(() => status.state !== 'paused');
  }

  private async waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw grpcErrors.unavailable('capture did not reach the requested state in time; try again');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sleeps, woken early by stop, pause, resume or failure. */
  private async pauseFor(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeLoop = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeLoop = undefined;
  }

  private async run(newSlot: NewSlotStart | undefined, fatal: (error: CaptureFatalError) => void): Promise<void> {
    const { config, status } = this;
    let backoff = config.CDC_RETRY_BACKOFF;
    let connection: ReplicationConnection | undefined;
    while (!this.stopping && status.state !== 'failed') {
      if (status.pauseRequested && !newSlot) {
        status.setState('paused');
        await this.pauseFor(3_600_000);
        continue;
      }
      try {
        if (newSlot) {
          connection = await newSlot(() => this.stopping || status.state === 'failed');
          newSlot = undefined;
          continue;
        }
        const slot = await this.catalog.slotInfo(config.CDC_SLOT);
        if (!slot) throw slotLostError(config);
        if (slot.walStatus === 'lost') {
          throw new CaptureFatalError(
            `replication slot "${config.CDC_SLOT}" was invalidated by the server (wal_status lost, max_slot_wal_keep_size exceeded): ` +
              'the WAL it needed is gone. Drop the slot, delete its row from connector_state and restart for a fresh snapshot.',
          );
        }
        // Right after the slot's creation its own connection streams; otherwise a new one.
        const fresh = connection === undefined;
        const conn = connection ?? this.connections.replication();
        connection = undefined;
        status.setState('running');
        status.confirmed(slot.confirmedFlushLsn);
        const stream = new ChangeStream(conn, this.streamContext(), slot.confirmedFlushLsn);
        try {
          if (fresh) await conn.connect();
          this.stream = stream;
          status.trackSession(stream);
          // A stop or pause that came while connecting found no stream to stop: honour it here.
          if (this.stopping || status.pauseRequested) continue;
          this.logger.info({ slot: config.CDC_SLOT, from: formatLsn(slot.confirmedFlushLsn) }, 'streaming from the replication slot');
          await stream.run();
          backoff = config.CDC_RETRY_BACKOFF;
          status.sessionSucceeded();
        } finally {
          this.stream = undefined;
          status.trackSession(undefined);
          await conn.close();
        }
      } catch (error) {
        await connection?.close();
        connection = undefined;
        if (error instanceof SnapshotCancelledError && this.stopping) break;
        if (error instanceof CaptureFatalError || isSlotMissing(error)) {
          fatal(error instanceof CaptureFatalError ? error : slotLostError(config));
          break;
        }
        if (this.stopping) break;
        status.sessionFailed(describe(error));
        this.logger.warn(
          { err: error, retryInMs: backoff },
          `replication session failed: ${status.lastError}; resuming from the confirmed position`,
        );
        await this.pauseFor(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
    await connection?.close();
    if (status.state !== 'failed') status.setState('stopped');
  }

  private streamContext(): StreamContext {
    const { config, context, status } = this;
    return {
      slot: config.CDC_SLOT,
      publication: config.CDC_PUBLICATION,
      serverName: config.CDC_SERVER_NAME,
      database: context.database,
      maxBatchRecords: config.CDC_MAX_BATCH_RECORDS,
      maxBatchBytes: MAX_BATCH_BYTES,
      statusIntervalMs: config.CDC_STATUS_INTERVAL,
      types: context.types,
      mapper: context.mapper,
      catalog: this.catalog,
      shapes: context.shapes,
      logger: this.logger,
      snapshots: this.snapshots.snapshotter,
      send: (records) => this.producer.send(records),
      committed: async (batch) => {
        status.transactionsConfirmed(batch);
        if (Object.keys(batch.shapes).length > 0) await this.catalog.saveRelations(config.CDC_SLOT, batch.shapes);
      },
      confirmed: (lsn) => status.confirmed(lsn),
    };
  }
}

function isSlotMissing(error: unknown): boolean {
  return (error as { code?: string })?.code === '42704' && /replication slot/.test((error as Error).message);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
