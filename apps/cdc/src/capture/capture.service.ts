import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { cdcTopic, cdcV1, type TopicDefinition } from '@pulse/contracts';
import { grpcErrors, HealthRegistry, KAFKA_CLIENT, type KafkaClient, kafkaErrorMessage, LOGGER, type Logger } from '@pulse/platform';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { ChangeEventMapper } from '../debezium/change-event.mapper';
import { TypeRegistry } from '../debezium/pg-types';
import { formatLsn, type Lsn } from '../replication/lsn';
import { type CreatedSlot, ReplicationConnection } from '../replication/replication.pg.connection';
import { InitialSnapshotReader } from '../snapshot/initial-snapshot.pg.reader';
import { SnapshotCancelledError, takeInitialSnapshot } from '../snapshot/initial-snapshot';
import { type IncrementalSnapshotRecord, IncrementalSnapshotter } from '../snapshot/incremental-snapshot';
import { ChunkReader } from '../snapshot/incremental-snapshot.pg.reader';
import { CdcCatalogRepository, type SlotInfo, splitQualified, type TableInfo } from './cdc-catalog.pg.repository';
import { CdcMetrics } from './cdc.metrics';
import { checkReason, checkSnapshotId, checkSnapshotRequest, checkTables } from './capture.validation';
import { ChangeStream, type StreamContext } from './change-stream';
import { type EncodedRecord, topicBatches } from './kafka-records';

export type CaptureState = 'starting' | 'snapshotting' | 'running' | 'paused' | 'failed' | 'stopped';

const STATE_TO_PROTO: Record<CaptureState, cdcV1.ConnectorState> = {
  starting: cdcV1.ConnectorState.CONNECTOR_STATE_UNSPECIFIED,
  snapshotting: cdcV1.ConnectorState.CONNECTOR_STATE_SNAPSHOTTING,
  running: cdcV1.ConnectorState.CONNECTOR_STATE_RUNNING,
  paused: cdcV1.ConnectorState.CONNECTOR_STATE_PAUSED,
  failed: cdcV1.ConnectorState.CONNECTOR_STATE_FAILED,
  stopped: cdcV1.ConnectorState.CONNECTOR_STATE_UNSPECIFIED,
};

/** Upper bound of one produce, below the broker's default message.max.bytes (1 MiB). */
const MAX_BATCH_BYTES = 900 * 1024;
const MAX_BACKOFF_MS = 30_000;

/** A condition the service cannot recover from by reconnecting: it stops and says what to do. */
export class CaptureFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFatalError';
  }
}

interface TableCounters {
  inserts: number;
  updates: number;
  deletes: number;
  snapshotReads: number;
  lastEventMicros?: bigint;
}

/**
 * Change data capture from PostgreSQL to Kafka, Debezium-compatible. At start it creates (or checks) its
 * publication and logical replication slot; a new slot comes with an initial snapshot read from the
 * slot's exported snapshot; then it streams the slot through `ChangeStream` sessions, reconnecting from
 * the confirmed position after any failure. The slot is only ever confirmed up to transactions whose
 * events Kafka acknowledged. A lost slot stops the service with a clear message instead of silently
 * starting over. Incremental snapshots requested over gRPC run inside the streaming sessions
 * (`IncrementalSnapshotter`, DBLog watermarks).
 */
@Injectable()
export class CaptureService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly catalog: CdcCatalogRepository;
  private state: CaptureState = 'starting';
  private lastError = '';
  private readonly startedAt = new Date();
  private stream?: ChangeStream;
  private loop?: Promise<void>;
  private stopping = false;
  private pauseRequested = false;
  private wakeLoop?: () => void;
  private database = '';
  private readonly types = new TypeRegistry();
  private mapper!: ChangeEventMapper;
  private snapshots?: IncrementalSnapshotter;
  private readonly chunkReader: ChunkReader;
  private readonly shapes = new Map<string, string>();
  private readonly ensuredTopics = new Set<string>();
  private readonly tableCounters = new Map<string, TableCounters>();
  private lastEventMicros?: bigint;
  private confirmedLsn: Lsn = 0n;
  private lastConfirmedCommitMicros?: bigint;
  /** The slot exists for this run (created, or found with a finished snapshot): from now on it must stay. */
  private slotExpected = false;
  private createSlot = false;
  /** A slot created at start, its connection idle until the snapshot of its exported snapshot is read. */
  private newSlot?: { connection: ReplicationConnection; created: CreatedSlot };
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
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: CdcMetrics,
    private readonly health: HealthRegistry,
  ) {
    this.catalog = new CdcCatalogRepository(config.PG_URL, config.CDC_STATE_SCHEMA, `${config.SERVICE_NAME}-catalog`);
    this.chunkReader = new ChunkReader(config.PG_URL, `${config.SERVICE_NAME}-incremental-snapshot`);
    this.setState('starting');
    this.started.catch(() => undefined);
  }

  /** Prepares publication, slot and topics (failing the start on a bad setup), then captures in the background. */
  async onApplicationBootstrap(): Promise<void> {
    const { config } = this;
    try {
      await this.catalog.ensureStateTable();
      this.database = await this.catalog.databaseName();
      for (const type of await this.catalog.userTypes()) this.types.addUserType(type);
      this.mapper = new ChangeEventMapper(
        {
          serverName: config.CDC_SERVER_NAME,
          database: this.database,
          tombstonesOnDelete: config.CDC_TOMBSTONES_ON_DELETE,
          transactionMetadata: config.CDC_PROVIDE_TRANSACTION_METADATA,
        },
        this.types,
      );
      await this.catalog.ensurePublication(config.CDC_PUBLICATION, {
        schema: config.CDC_SCHEMA,
        tables: config.CDC_TABLES.map((t) => splitQualified(t, config.CDC_SCHEMA).join('.')),
      });
      const tables = await this.catalog.publishedTables(config.CDC_PUBLICATION);
      if (tables.length === 0) this.logger.warn({ publication: config.CDC_PUBLICATION }, 'the publication has no tables (yet)');
      await this.ensureTopics(tables.map((t) => cdcTopic(t.table, t.schema)));

      const slot = await this.catalog.slotInfo(config.CDC_SLOT);
      const state = await this.catalog.getState(config.CDC_SLOT);
      if (!slot && state?.snapshotCompletedAt) throw this.slotLost();
      this.snapshots = new IncrementalSnapshotter({
        slot: config.CDC_SLOT,
        publication: config.CDC_PUBLICATION,
        catalog: this.catalog,
        reader: this.chunkReader,
        mapper: this.mapper,
        logger: this.logger,
        persist: (record) => this.catalog.saveIncrementalSnapshot(config.CDC_SLOT, record),
        emitted: (table, rows) => {
          this.metrics.snapshotRows.inc({ table }, rows);
          const now = BigInt(Date.now()) * 1000n;
          for (let i = 0; i < rows; i++) this.count(table, 'r', now);
        },
      });
      if (slot && state?.snapshotCompletedAt) {
        for (const [table, shape] of Object.entries(state.relations)) this.shapes.set(table, shape);
        this.snapshots.restore(state.incrementalSnapshot as IncrementalSnapshotRecord | null);
        this.slotExpected = true;
      } else {
        if (slot) this.logger.warn({ slot: config.CDC_SLOT }, 'replication slot found without a finished snapshot: it is created again');
        this.createSlot = true;
        // Created before the service reports started: whatever commits from now on is captured.
        this.newSlot = await this.newReplicationSlot();
      }
    } catch (error) {
      await this.catalog.close();
      await this.chunkReader.close();
      this.rejectStarted(error as Error);
      throw error;
    }
    this.resolveStarted();
    this.health.register('postgres', () => this.catalog.ping());
    this.health.register('replication', async () => {
      if (this.state === 'failed') throw new Error(this.lastError);
      if (this.state === 'running' && !this.stream)
        throw new Error(`reconnecting to the replication slot${this.lastError ? `: ${this.lastError}` : ''}`);
      if (this.state === 'starting' || this.state === 'stopped') throw new Error(`capture is ${this.state}`);
    });
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.stream?.stop();
    this.wakeLoop?.();
    await this.loop;
    await this.chunkReader.close();
    await this.catalog.close();
  }

  get currentState(): CaptureState {
    return this.state;
  }

  /** Whether the slot must exist now (for the lag monitor: a missing slot is then fatal). */
  get expectsSlot(): boolean {
    return this.slotExpected && this.state !== 'failed' && this.state !== 'stopped';
  }

  /** True when everything read from the slot is confirmed (or capture is not reading). */
  get caughtUp(): boolean {
    return this.stream?.idle ?? true;
  }

  /** Age of the oldest change read and not confirmed; while paused, of the last confirmed commit when WAL waits. */
  lagMillis(lagBytes: bigint): number {
    const now = BigInt(Date.now()) * 1000n;
    const pending = this.stream?.pendingSinceMicros;
    if (pending !== undefined) return Math.max(0, Number((now - pending) / 1000n));
    if (this.state === 'paused' && lagBytes > 0n && this.lastConfirmedCommitMicros !== undefined) {
      return Math.max(0, Number((now - this.lastConfirmedCommitMicros) / 1000n));
    }
    return 0;
  }

  /** Stops the service for good: state FAILED, readiness down, `failure` settles (main exits non-zero). */
  fail(error: Error): void {
    if (this.state === 'failed') return;
    this.lastError = error.message;
    this.setState('failed');
    this.logger.fatal({ err: error }, error.message);
    this.stream?.stop();
    this.wakeLoop?.();
    this.resolveFailure(error);
  }

  slotLost(): CaptureFatalError {
    const { CDC_SLOT: slot, CDC_STATE_SCHEMA: schema } = this.config;
    return new CaptureFatalError(
      `replication slot "${slot}" no longer exists: changes made since it was last confirmed may not be on Kafka. ` +
        `Capture cannot resume without losing them. To start over with a new slot and a fresh initial snapshot, run ` +
        `DELETE FROM ${schema}.connector_state WHERE slot_name = '${slot}' and restart the service.`,
    );
  }

  async pause(reason: string): Promise<void> {
    checkReason(reason);
    if (this.state === 'failed') throw grpcErrors.failedPrecondition(`capture failed: ${this.lastError}`);
    if (this.state === 'snapshotting' || this.state === 'starting') {
      throw grpcErrors.failedPrecondition(`capture is ${this.state}; it can be paused once streaming`);
    }
    if (!this.pauseRequested) this.logger.info({ reason }, 'capture paused');
    this.pauseRequested = true;
    this.stream?.stop();
    this.wakeLoop?.();
    await this.waitFor(() => this.state === 'paused' || this.state === 'failed');
  }

  async resume(reason: string): Promise<void> {
    checkReason(reason);
    if (this.state === 'failed') throw grpcErrors.failedPrecondition(`capture failed: ${this.lastError}`);
    if (this.pauseRequested) this.logger.info({ reason }, 'capture resumed');
    this.pauseRequested = false;
    this.wakeLoop?.();
    await this.waitFor(() => this.state !== 'paused');
  }

  /** The connector's status for GetStatus: state, slot position and lag, per-table counts. */
  async status(): Promise<cdcV1.ConnectorStatus> {
    const { config } = this;
    let slot: SlotInfo | undefined;
    try {
      slot = await this.catalog.slotInfo(config.CDC_SLOT);
    } catch (error) {
      throw grpcErrors.unavailable(`PostgreSQL does not answer: ${(error as Error).message}`);
    }
    const lagMs = slot ? this.lagMillis(slot.lagBytes) : 0;
    return {
      name: config.CDC_SERVER_NAME,
      state: STATE_TO_PROTO[this.state],
      slot: {
        slotName: config.CDC_SLOT,
        plugin: 'pgoutput',
        database: this.database,
        active: slot?.active ?? false,
        confirmedFlushLsn: Number(slot?.confirmedFlushLsn ?? 0n),
        restartLsn: Number(slot?.restartLsn ?? 0n),
        currentWalLsn: Number(slot?.currentWalLsn ?? 0n),
        lagBytes: Number(slot?.lagBytes ?? 0n),
        lag: { seconds: Math.floor(lagMs / 1000), nanos: (lagMs % 1000) * 1_000_000 },
      },
      publication: config.CDC_PUBLICATION,
      tables: [...this.tableCounters.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([table, c]) => ({
          table,
          inserts: c.inserts,
          updates: c.updates,
          deletes: c.deletes,
          snapshotReads: c.snapshotReads,
          lastEventAt: c.lastEventMicros === undefined ? undefined : timestamp(c.lastEventMicros),
        })),
      activeSnapshotId: this.snapshots?.activeId ?? '',
      startedAt: timestamp(BigInt(this.startedAt.getTime()) * 1000n),
      lastEventAt: this.lastEventMicros === undefined ? undefined : timestamp(this.lastEventMicros),
      lastError: this.state === 'failed' ? this.lastError : '',
    };
  }

  /**
   * Starts an incremental snapshot of published tables (`schema.table`); INVALID_ARGUMENT for a malformed
   * request (see checkSnapshotRequest). FAILED_PRECONDITION while another runs or capture is not streaming; NOT_FOUND for a table outside
   * the publication; FAILED_PRECONDITION for a table without primary key (chunks are read by key).
   */
  async triggerIncrementalSnapshot(
    tables: readonly string[],
    chunkSize: number,
    conditions: Record<string, string>,
  ): Promise<cdcV1.Snapshot> {
    checkSnapshotRequest(tables, chunkSize, conditions);
    const snapshots = this.snapshots;
    if (!snapshots || this.state === 'snapshotting' || this.state === 'stopped') {
      throw grpcErrors.failedPrecondition(`capture is ${this.state}; an incremental snapshot can start once streaming`);
    }
    if (this.state === 'failed') throw grpcErrors.failedPrecondition(`capture failed: ${this.lastError}`);
    if (this.state === 'paused' || this.pauseRequested) throw grpcErrors.failedPrecondition('capture is paused; resume it first');
    if (snapshots.active)
      throw grpcErrors.failedPrecondition(`incremental snapshot ${snapshots.activeId} is running; stop it or wait for it`);
    const published = await this.catalog.publishedTables(this.config.CDC_PUBLICATION);
    const selected = [];
    for (const name of tables) {
      const found = published.find((t) => `${t.schema}.${t.table}` === name);
      if (!found) throw grpcErrors.notFound(`table ${name} in publication ${this.config.CDC_PUBLICATION}`);
      const info = await this.catalog.tableInfo(found.relationOid, this.config.CDC_PUBLICATION);
      if (!info) throw grpcErrors.notFound(`table ${name}`);
      if (info.primaryKey.length === 0)
        throw grpcErrors.failedPrecondition(`table ${name} has no primary key: it cannot be read in chunks`);
      selected.push({ info, condition: conditions[name] ?? '' });
    }
    const record = await snapshots.start(selected, chunkSize || this.config.CDC_INCREMENTAL_SNAPSHOT_CHUNK_SIZE);
    return snapshots.toProto(record, false);
  }

  getIncrementalSnapshot(id: string): cdcV1.Snapshot {
    checkSnapshotId(id);
    const snapshots = this.snapshots;
    const record = snapshots?.find(id);
    if (!snapshots || !record) throw grpcErrors.notFound(`snapshot ${id}`);
    return snapshots.toProto(record, this.state === 'paused');
  }

  async stopIncrementalSnapshot(id: string, tables: readonly string[]): Promise<cdcV1.Snapshot> {
    checkSnapshotId(id);
    checkTables(tables, false);
    const snapshots = this.snapshots;
    const record = await snapshots?.stop(id, tables);
    if (!snapshots || !record) throw grpcErrors.notFound(`snapshot ${id}`);
    return snapshots.toProto(record, this.state === 'paused');
  }

  private setState(state: CaptureState): void {
    this.state = state;
    for (const s of Object.keys(STATE_TO_PROTO)) this.metrics.state.set({ state: s }, s === state ? 1 : 0);
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

  private async run(): Promise<void> {
    let backoff = this.config.CDC_RETRY_BACKOFF;
    let connection: ReplicationConnection | undefined;
    while (!this.stopping && this.state !== 'failed') {
      if (this.pauseRequested && !this.createSlot) {
        this.setState('paused');
        await this.pauseFor(3_600_000);
        continue;
      }
      try {
        if (this.createSlot) {
          const fresh = this.newSlot ?? (await this.newReplicationSlot());
          this.newSlot = undefined;
          connection = fresh.connection;
          await this.initialSnapshot(fresh.created);
          this.createSlot = false;
          this.slotExpected = true;
          continue;
        }
        const slot = await this.catalog.slotInfo(this.config.CDC_SLOT);
        if (!slot) throw this.slotLost();
        if (slot.walStatus === 'lost') {
          throw new CaptureFatalError(
            `replication slot "${this.config.CDC_SLOT}" was invalidated by the server (wal_status lost, max_slot_wal_keep_size exceeded): ` +
              'the WAL it needed is gone. Drop the slot, delete its row from connector_state and restart for a fresh snapshot.',
          );
        }
        // Right after the slot's creation its own connection streams; otherwise a new one.
        const fresh = connection === undefined;
        const conn = connection ?? new ReplicationConnection(this.config.PG_URL, `${this.config.SERVICE_NAME}-${this.config.CDC_SLOT}`);
        connection = undefined;
        this.setState('running');
        this.confirmed(slot.confirmedFlushLsn);
        const stream = new ChangeStream(conn, this.streamContext(), slot.confirmedFlushLsn);
        try {
          if (fresh) await conn.connect();
          this.stream = stream;
          // A stop or pause that came while connecting found no stream to stop: honour it here.
          if (this.stopping || this.pauseRequested) continue;
          this.logger.info({ slot: this.config.CDC_SLOT, from: formatLsn(slot.confirmedFlushLsn) }, 'streaming from the replication slot');
          await stream.run();
          backoff = this.config.CDC_RETRY_BACKOFF;
          this.lastError = '';
        } finally {
          this.stream = undefined;
          await conn.close();
        }
      } catch (error) {
        await connection?.close();
        connection = undefined;
        if (error instanceof SnapshotCancelledError && this.stopping) break;
        if (error instanceof CaptureFatalError || isSlotMissing(error)) {
          this.fail(error instanceof CaptureFatalError ? error : this.slotLost());
          break;
        }
        if (this.stopping) break;
        this.metrics.sessionFailures.inc();
        this.lastError = describe(error);
        this.logger.warn(
          { err: error, retryInMs: backoff },
          `replication session failed: ${this.lastError}; resuming from the confirmed position`,
        );
        await this.pauseFor(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
    await connection?.close();
    if (this.state !== 'failed') this.setState('stopped');
  }

  /**
   * Creates the slot (dropping an unfinished one first) on a new replication connection; with snapshot
   * mode `initial` the slot exports its snapshot, valid while that connection stays idle.
   */
  private async newReplicationSlot(): Promise<{ connection: ReplicationConnection; created: CreatedSlot }> {
    const { config } = this;
    if (await this.catalog.slotInfo(config.CDC_SLOT)) await this.catalog.dropSlot(config.CDC_SLOT);
    const connection = new ReplicationConnection(config.PG_URL, `${config.SERVICE_NAME}-${config.CDC_SLOT}`);
    try {
      await connection.connect();
      const created = await connection.createSlot(config.CDC_SLOT, config.CDC_SNAPSHOT_MODE === 'initial');
      await this.catalog.resetState(config.CDC_SLOT, config.CDC_PUBLICATION);
      this.shapes.clear();
      this.confirmed(created.consistentPoint);
      this.logger.info({ slot: created.slotName, consistentPoint: formatLsn(created.consistentPoint) }, 'replication slot created');
      return { connection, created };
    } catch (error) {
      await connection.close();
      throw error;
    }
  }

  /**
   * In snapshot mode `initial`, reads every table from the new slot's exported snapshot while its
   * replication connection waits idle; that connection then streams from the slot's consistent point.
   */
  private async initialSnapshot(created: CreatedSlot): Promise<void> {
    const { config } = this;
    if (created.snapshotName) {
      this.setState('snapshotting');
      const published = await this.catalog.publishedTables(config.CDC_PUBLICATION);
      const tables = (await Promise.all(published.map((t) => this.catalog.tableInfo(t.relationOid, config.CDC_PUBLICATION)))).filter(
        (t): t is TableInfo => t !== undefined,
      );
      const reader = new InitialSnapshotReader(config.PG_URL, `${config.SERVICE_NAME}-snapshot`);
      const started = Date.now();
      try {
        const result = await takeInitialSnapshot({
          reader,
          snapshotName: created.snapshotName,
          consistentPoint: created.consistentPoint,
          tables,
          mapper: this.mapper,
          types: this.types,
          database: this.database,
          fetchSize: config.CDC_SNAPSHOT_FETCH_SIZE,
          maxBatchRecords: config.CDC_MAX_BATCH_RECORDS,
          maxBatchBytes: MAX_BATCH_BYTES,
          send: (records) => this.send(records),
          progress: (table, rows) => this.metrics.snapshotRows.inc({ table }, rows),
          cancelled: () => this.stopping || this.state === 'failed',
        });
        for (const [table, shape] of Object.entries(result.shapes)) this.shapes.set(table, shape);
        await this.catalog.saveRelations(config.CDC_SLOT, result.shapes);
        this.logger.info({ rows: result.rows, tables: tables.length, ms: Date.now() - started }, 'initial snapshot on Kafka');
      } finally {
        await reader.close();
      }
    }
    await this.catalog.markSnapshotCompleted(config.CDC_SLOT);
  }

  private streamContext(): StreamContext {
    const { config } = this;
    return {
      slot: config.CDC_SLOT,
      publication: config.CDC_PUBLICATION,
      serverName: config.CDC_SERVER_NAME,
      database: this.database,
      maxBatchRecords: config.CDC_MAX_BATCH_RECORDS,
      maxBatchBytes: MAX_BATCH_BYTES,
      statusIntervalMs: config.CDC_STATUS_INTERVAL,
      types: this.types,
      mapper: this.mapper,
      catalog: this.catalog,
      shapes: this.shapes,
      logger: this.logger,
      snapshots: this.snapshots,
      send: (records) => this.send(records),
      committed: async (batch) => {
        this.metrics.transactions.inc(batch.transactions);
        for (const { table, op } of batch.stats) {
          this.count(table, op, batch.lastCommitMicros);
        }
        this.lastConfirmedCommitMicros = batch.lastCommitMicros;
        if (Object.keys(batch.shapes).length > 0) await this.catalog.saveRelations(config.CDC_SLOT, batch.shapes);
      },
      confirmed: (lsn) => this.confirmed(lsn),
    };
  }

  private count(table: string, op: string, timeMicros: bigint): void {
    this.metrics.events.inc({ table, op });
    let counters = this.tableCounters.get(table);
    if (!counters) this.tableCounters.set(table, (counters = { inserts: 0, updates: 0, deletes: 0, snapshotReads: 0 }));
    if (op === 'c') counters.inserts++;
    else if (op === 'u') counters.updates++;
    else if (op === 'd') counters.deletes++;
    else if (op === 'r') counters.snapshotReads++;
    counters.lastEventMicros = timeMicros;
    this.lastEventMicros = timeMicros;
  }

  private confirmed(lsn: Lsn): void {
    if (lsn <= this.confirmedLsn) return;
    this.confirmedLsn = lsn;
    this.metrics.confirmedLsn.set({ slot: this.config.CDC_SLOT }, Number(lsn));
  }

  /** Puts records on Kafka (creating topics of newly seen tables first); resolves once all are acknowledged. */
  private async send(records: readonly EncodedRecord[]): Promise<void> {
    const missing = new Map<string, TopicDefinition<any, any>>();
    for (const r of records) if (!this.ensuredTopics.has(r.topic.name)) missing.set(r.topic.name, r.topic);
    if (missing.size > 0) await this.ensureTopics([...missing.values()]);
    const done = this.metrics.produceSeconds.startTimer();
    try {
      await this.kafka.producer.sendMany(topicBatches(records));
    } catch (error) {
      throw new Error(`Kafka did not acknowledge ${records.length} change events: ${kafkaErrorMessage(error)}`);
    }
    done();
    // Snapshot reads are counted here: they have no transaction to confirm.
    for (const r of records) if (r.stats?.op === 'r') this.count(r.stats.table, 'r', BigInt(Date.now()) * 1000n);
  }

  private async ensureTopics(topics: readonly TopicDefinition<any, any>[]): Promise<void> {
    const missing = topics.filter((t) => !this.ensuredTopics.has(t.name));
    if (missing.length === 0) return;
    await this.kafka.admin.ensureTopics(missing);
    for (const t of missing) this.ensuredTopics.add(t.name);
  }
}

function timestamp(micros: bigint) {
  return { seconds: Number(micros / 1_000_000n), nanos: Number(micros % 1_000_000n) * 1000 };
}

function isSlotMissing(error: unknown): boolean {
  return (error as { code?: string })?.code === '42704' && /replication slot/.test((error as Error).message);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
