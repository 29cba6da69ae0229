import { Inject, Injectable } from '@nestjs/common';
import { cdcV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import type { Lsn } from '../replication/lsn';
import type { EncodedRecord } from './kafka-records';
import { CaptureContext } from './capture.context';
import { CdcCatalogRepository, type SlotInfo } from './cdc-catalog.pg.repository';
import { CdcMetrics } from './cdc.metrics';

export type CaptureState = 'starting' | 'snapshotting' | 'running' | 'paused' | 'failed' | 'stopped';

const STATE_TO_PROTO: Record<CaptureState, cdcV1.ConnectorState> = {
  starting: cdcV1.ConnectorState.CONNECTOR_STATE_UNSPECIFIED,
  snapshotting: cdcV1.ConnectorState.CONNECTOR_STATE_SNAPSHOTTING,
  running: cdcV1.ConnectorState.CONNECTOR_STATE_RUNNING,
  paused: cdcV1.ConnectorState.CONNECTOR_STATE_PAUSED,
  failed: cdcV1.ConnectorState.CONNECTOR_STATE_FAILED,
  stopped: cdcV1.ConnectorState.CONNECTOR_STATE_UNSPECIFIED,
};

interface TableCounters {
  inserts: number;
  updates: number;
  deletes: number;
  snapshotReads: number;
  lastEventMicros?: bigint;
}

/** What a replication session tells about its progress. */
export interface SessionProgress {
  /** Commit time of the oldest change read and not yet confirmed; undefined when none. */
  readonly pendingSinceMicros: bigint | undefined;
}

type RecordStats = NonNullable<EncodedRecord['stats']>;

/**
 * Where capture stands, as GetStatus, the metrics, readiness and the WAL monitor see it (Debezium's offset
 * context and connector metrics): the state and the last error, the position confirmed to the slot, events
 * per table, the age of what was read and not yet confirmed. The snapshots and the stream report here.
 */
@Injectable()
export class CaptureStatusService {
  private current: CaptureState = 'starting';
  private error = '';
  private pauseWanted = false;
  private readonly startedAt = new Date();
  private readonly tableCounters = new Map<string, TableCounters>();
  private lastEventMicros?: bigint;
  private confirmedLsn: Lsn = 0n;
  private lastConfirmedCommitMicros?: bigint;
  /** The slot exists for this run (created, or found with a finished snapshot): from now on it must stay. */
  private slotExpected = false;
  /** The replication session streaming now; undefined while connecting, snapshotting, paused or retrying. */
  private session?: SessionProgress;

  constructor(
    @Inject(CDC_CONFIG) private readonly config: CdcConfig,
    private readonly metrics: CdcMetrics,
    private readonly catalog: CdcCatalogRepository,
    private readonly context: CaptureContext,
  ) {
    this.setState('starting');
  }

  get state(): CaptureState {
    return this.current;
  }

  /** Why the last session failed (cleared once one ends cleanly), or why capture failed for good. */
  get lastError(): string {
    return this.error;
  }

  setState(state: CaptureState): void {
    this.current = state;
    for (const s of Object.keys(STATE_TO_PROTO)) this.metrics.state.set({ state: s }, s === state ? 1 : 0);
  }

  /** Capture failed for good: state FAILED with its reason. False when it had failed already. */
  failed(reason: string): boolean {
    if (this.current === 'failed') return false;
    this.error = reason;
    this.setState('failed');
    return true;
  }

  /** A session failed and is retried: counted, its reason kept until a session ends cleanly. */
  sessionFailed(reason: string): void {
    this.metrics.sessionFailures.inc();
    this.error = reason;
  }

  sessionSucceeded(): void {
    this.error = '';
  }

  /** The session streaming now (undefined once it ended): its pending changes make the lag. */
  trackSession(session: SessionProgress | undefined): void {
    this.session = session;
  }

  /** A pause was asked for and not lifted since; the capture loop pauses at its next step. */
  get pauseRequested(): boolean {
    return this.pauseWanted;
  }

  /** Records a pause (true) or resume (false) request; returns whether it changed what is asked. */
  requestPause(paused: boolean): boolean {
    const changed = this.pauseWanted !== paused;
    this.pauseWanted = paused;
    return changed;
  }

  expectSlot(): void {
    this.slotExpected = true;
  }

  /** Whether the slot must exist now (for the lag monitor: a missing slot is then fatal). */
  get expectsSlot(): boolean {
    return this.slotExpected && this.current !== 'failed' && this.current !== 'stopped';
  }

  /** The position confirmed to the slot (only ever forward). */
  confirmed(lsn: Lsn): void {
    if (lsn <= this.confirmedLsn) return;
    this.confirmedLsn = lsn;
    this.metrics.confirmedLsn.set({ slot: this.config.CDC_SLOT }, Number(lsn));
  }

  /** Transactions whose events are all on Kafka, about to be confirmed to the slot. */
  transactionsConfirmed(batch: { transactions: number; stats: readonly RecordStats[]; lastCommitMicros: bigint }): void {
    this.metrics.transactions.inc(batch.transactions);
    for (const { table, op } of batch.stats) this.count(table, op, batch.lastCommitMicros);
    this.lastConfirmedCommitMicros = batch.lastCommitMicros;
  }

  /** Rows a snapshot read from a table (cdc_snapshot_rows_total). */
  snapshotRowsRead(table: string, rows: number): void {
    this.metrics.snapshotRows.inc({ table }, rows);
  }

  /** Rows of an incremental snapshot's chunk now on Kafka. */
  snapshotRowsEmitted(table: string, rows: number): void {
    this.snapshotRowsRead(table, rows);
    const now = nowMicros();
    for (let i = 0; i < rows; i++) this.count(table, 'r', now);
  }

  /** Records now on Kafka: the snapshot reads among them are counted (they have no transaction to confirm). */
  recordsSent(records: readonly EncodedRecord[]): void {
    for (const r of records) if (r.stats?.op === 'r') this.count(r.stats.table, 'r', nowMicros());
  }

  /** Age of the oldest change read and not confirmed; while paused, of the last confirmed commit when WAL waits. */
  lagMillis(lagBytes: bigint): number {
    const now = nowMicros();
    const pending = this.session?.pendingSinceMicros;
    if (pending !== undefined) return Math.max(0, Number((now - pending) / 1000n));
    if (this.current === 'paused' && lagBytes > 0n && this.lastConfirmedCommitMicros !== undefined) {
      return Math.max(0, Number((now - this.lastConfirmedCommitMicros) / 1000n));
    }
    return 0;
  }

  /** Readiness: capture streams, or snapshots, or is paused on request. */
  async checkReplication(): Promise<void> {
    const state = this.current;
    if (state === 'failed') throw new Error(this.error);
    if (state === 'running' && !this.session) throw new Error(`reconnecting to the replication slot${this.error ? `: ${this.error}` : ''}`);
    if (state === 'starting' || state === 'stopped') throw new Error(`capture is ${state}`);
  }

  /** The connector's status for GetStatus: state, slot position and lag, per-table counts. */
  async report(activeSnapshotId: string): Promise<cdcV1.ConnectorStatus> {
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
      state: STATE_TO_PROTO[this.current],
      slot: {
        slotName: config.CDC_SLOT,
        plugin: 'pgoutput',
        database: this.context.database,
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
      activeSnapshotId,
      startedAt: timestamp(BigInt(this.startedAt.getTime()) * 1000n),
      lastEventAt: this.lastEventMicros === undefined ? undefined : timestamp(this.lastEventMicros),
      lastError: this.current === 'failed' ? this.error : '',
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
}

function nowMicros(): bigint {
  return BigInt(Date.now()) * 1000n;
}

function timestamp(micros: bigint) {
  return { seconds: Number(micros / 1_000_000n), nanos: Number(micros % 1_000_000n) * 1000 };
}
