import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { cdcTopic } from '@pulse/contracts';
import { HealthRegistry, LEADER_ELECTION, type LeaderElection, LOGGER, type Logger, whenLeading } from '@pulse/platform';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { formatLsn } from '../replication/lsn';
import type { CreatedSlot, ReplicationConnection } from '../replication/replication.pg.connection';
import type { IncrementalSnapshotRecord } from '../snapshot/incremental-snapshot';
import { IncrementalSnapshotService } from '../snapshot/incremental-snapshot.service';
import { InitialSnapshotService } from '../snapshot/initial-snapshot.service';
import { CaptureContext } from './capture.context';
import { slotLostError } from './capture-fatal.error';
import { CaptureStatusService } from './capture-status.service';
import { CdcCatalogRepository, splitQualified } from './cdc-catalog.pg.repository';
import { ChangeEventProducer } from './change-event.kafka.producer';
import { PgConnectionFactory } from './pg-connections.factory';
import { type NewSlotStart, StreamingSourceService } from './streaming-source.service';

/** A slot just created, its replication connection idle until the snapshot it exported is read. */
interface CreatedSlotConnection {
  connection: ReplicationConnection;
  created: CreatedSlot;
}

/**
 * Starts capture from PostgreSQL to Kafka, Debezium-compatible (Debezium's connector task start and its
 * snapshot decision). At start it creates (or checks) its publication and the topics of its tables, then
 * looks at the slot: a slot whose snapshot finished is streamed from its confirmed position; otherwise a new
 * slot is created — exporting its snapshot in snapshot mode `initial` — before the service reports started,
 * and its initial snapshot runs before streaming. A slot lost after its snapshot stops the service with a
 * clear message instead of silently starting over. `started` and `failure` tell the rest of the app.
 */
@Injectable()
export class CaptureCoordinatorService implements OnApplicationBootstrap {
  private resolveFailure!: (error: Error) => void;
  private resolveStarted!: () => void;
  private rejectStarted!: (error: Error) => void;
  /** Resolves once publication, slot and topics are in place; rejects when the start failed. */
  readonly started: Promise<void> = new Promise((resolve, reject) => {
    this.resolveStarted = resolve;
    this.rejectStarted = reject;
  });
  /** Settles once the service failed for good (slot lost, ...); main exits non-zero then. */
  readonly failure: Promise<Error> = new Promise((resolve) => (this.resolveFailure = resolve));

  constructor(
    @Inject(CDC_CONFIG) private readonly config: CdcConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: CdcCatalogRepository,
    private readonly context: CaptureContext,
    private readonly connections: PgConnectionFactory,
    private readonly producer: ChangeEventProducer,
    private readonly status: CaptureStatusService,
    private readonly initialSnapshot: InitialSnapshotService,
    private readonly incrementalSnapshots: IncrementalSnapshotService,
    private readonly streaming: StreamingSourceService,
    private readonly health: HealthRegistry,
    @Inject(LEADER_ELECTION) private readonly election: LeaderElection,
  ) {
    this.started.catch(() => undefined);
  }

  /**
   * The leader (this replica when it takes the lock at once) prepares and captures as below; a standby starts
   * serving and captures once it takes over, from the slot's confirmed position (nothing skipped, at most the
   * unconfirmed tail again). A leader that loses the lock stops for good (the process ends, comes back standby).
   */
  async onApplicationBootstrap(): Promise<void> {
    void this.election.lost.then((error) => this.fail(error));
    await whenLeading(this.election, this.logger, `capture of slot ${this.config.CDC_SLOT}`, () => this.capture());
  }

  /** Prepares publication, slot and topics (failing the start on a bad setup), then captures in the background. */
  private async capture(): Promise<void> {
    const { config, catalog } = this;
    let newSlot: NewSlotStart | undefined;
    try {
      await catalog.ensureStateTable();
      await catalog.ensurePublication(config.CDC_PUBLICATION, {
        schema: config.CDC_SCHEMA,
        tables: config.CDC_TABLES.map((t) => splitQualified(t, config.CDC_SCHEMA).join('.')),
      });
      const tables = await catalog.publishedTables(config.CDC_PUBLICATION);
      if (tables.length === 0) this.logger.warn({ publication: config.CDC_PUBLICATION }, 'the publication has no tables (yet)');
      await this.producer.ensureTopics(tables.map((t) => cdcTopic(t.table, t.schema)));

      const slot = await catalog.slotInfo(config.CDC_SLOT);
      const state = await catalog.getState(config.CDC_SLOT);
      if (!slot && state?.snapshotCompletedAt) throw slotLostError(config);
      if (slot && state?.snapshotCompletedAt) {
        this.context.addShapes(state.relations);
        this.incrementalSnapshots.restore(state.incrementalSnapshot as IncrementalSnapshotRecord | null);
        this.status.expectSlot();
      } else {
        this.incrementalSnapshots.restore(null);
        if (slot) this.logger.warn({ slot: config.CDC_SLOT }, 'replication slot found without a finished snapshot: it is created again');
        // Created before the service reports started: whatever commits from now on is captured.
        newSlot = this.snapshotFirst(await this.createSlot());
      }
    } catch (error) {
      this.rejectStarted(error as Error);
      throw error;
    }
    this.resolveStarted();
    this.health.register('replication', () => this.status.checkReplication());
    this.streaming.start({ newSlot, fatal: (error) => this.fail(error) });
  }

  /**
   * Stops the service for good: state FAILED, readiness down, the leadership given up (a standby, or a restart,
   * decides for itself without waiting for this process to end), then `failure` settles (main exits non-zero).
   */
  fail(error: Error): void {
    if (!this.status.failed(error.message)) return;
    this.logger.fatal({ err: error }, error.message);
    this.streaming.interrupt();
    const resigned = this.election.resign(error).catch(() => undefined);
    // An unreachable PostgreSQL must not keep the process alive: its session (and the lock) ends with it.
    void Promise.race([resigned, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]).then(() => this.resolveFailure(error));
  }

  /**
   * The start of a new slot's stream: its initial snapshot, on `created` the first time and on a slot
   * created again when a previous attempt failed; then the slot must stay.
   */
  private snapshotFirst(created: CreatedSlotConnection): NewSlotStart {
    let prepared: CreatedSlotConnection | undefined = created;
    return async (cancelled) => {
      const fresh = prepared ?? (await this.createSlot());
      prepared = undefined;
      try {
        await this.initialSnapshot.execute(fresh.created, cancelled);
      } catch (error) {
        await fresh.connection.close();
        throw error;
      }
      this.status.expectSlot();
      return fresh.connection;
    };
  }

  /**
   * Creates the slot (dropping an unfinished one first) on a new replication connection; with snapshot
   * mode `initial` the slot exports its snapshot, valid while that connection stays idle.
   */
  private async createSlot(): Promise<CreatedSlotConnection> {
    const { config } = this;
    if (await this.catalog.slotInfo(config.CDC_SLOT)) await this.catalog.dropSlot(config.CDC_SLOT);
    const connection = this.connections.replication();
    try {
      await connection.connect();
      const created = await connection.createSlot(config.CDC_SLOT, config.CDC_SNAPSHOT_MODE === 'initial');
      await this.catalog.resetState(config.CDC_SLOT, config.CDC_PUBLICATION);
      this.context.shapes.clear();
      this.status.confirmed(created.consistentPoint);
      this.logger.info({ slot: created.slotName, consistentPoint: formatLsn(created.consistentPoint) }, 'replication slot created');
      return { connection, created };
    } catch (error) {
      await connection.close();
      throw error;
    }
  }
}
