import { checkCondition, checkSnapshotId, checkSnapshotRequest, checkTables } from '../capture/capture.validation';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { cdcV1 } from '@pulse/contracts';
import { grpcErrors, LOGGER, type Logger } from '@pulse/platform';
import { CaptureContext } from '../capture/capture.context';
import { CaptureStatusService } from '../capture/capture-status.service';
import { CdcCatalogRepository } from '../capture/cdc-catalog.pg.repository';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { type IncrementalSnapshotRecord, IncrementalSnapshotter } from './incremental-snapshot';
import { ChunkReader } from './incremental-snapshot.pg.reader';

/**
 * Incremental snapshots on request (TriggerIncrementalSnapshot, GetSnapshotStatus, StopIncrementalSnapshot):
 * checks a request against the publication and the capture's state, and keeps the `IncrementalSnapshotter`
 * whose chunks the stream reads between its watermarks. Requests are taken once the start restored the
 * slot's last snapshot (or found none to restore).
 */
@Injectable()
export class IncrementalSnapshotService implements OnApplicationShutdown {
  readonly snapshotter: IncrementalSnapshotter;
  private restored = false;

  constructor(
    @Inject(CDC_CONFIG) private readonly config: CdcConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly catalog: CdcCatalogRepository,
    private readonly status: CaptureStatusService,
    private readonly reader: ChunkReader,
    context: CaptureContext,
  ) {
    this.snapshotter = new IncrementalSnapshotter({
      slot: config.CDC_SLOT,
      publication: config.CDC_PUBLICATION,
      catalog,
      reader,
      mapper: context.mapper,
      logger,
      persist: (record) => catalog.saveIncrementalSnapshot(config.CDC_SLOT, record),
      emitted: (table, rows) => status.snapshotRowsEmitted(table, rows),
    });
  }

  /** The slot's last incremental snapshot, as saved (null for a new slot): a running one resumes. */
  restore(record: IncrementalSnapshotRecord | null): void {
    this.snapshotter.restore(record);
    this.restored = true;
  }

  /** Id of the running incremental snapshot; empty when none runs. */
  get activeId(): string {
    return this.snapshotter.activeId;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.reader.close();
  }

  /**
   * Starts an incremental snapshot of published tables (`schema.table`, their form checked first).
   * FAILED_PRECONDITION while another runs or capture is not streaming; NOT_FOUND for a table outside
   * the publication; FAILED_PRECONDITION for a table without primary key (chunks are read by key).
   */
  async trigger(requested: readonly string[], chunkSize: number, conditions: Record<string, string>): Promise<cdcV1.Snapshot> {
    const tables = checkSnapshotRequest(requested, chunkSize, conditions);
    const { snapshotter, status } = this;
    if (!this.restored || status.state === 'snapshotting' || status.state === 'stopped') {
      throw grpcErrors.failedPrecondition(`capture is ${status.state}; an incremental snapshot can start once streaming`);
    }
    if (status.state === 'failed') throw grpcErrors.failedPrecondition(`capture failed: ${status.lastError}`);
    if (status.state === 'paused' || status.pauseRequested) throw grpcErrors.failedPrecondition('capture is paused; resume it first');
    if (snapshotter.active)
      throw grpcErrors.failedPrecondition(`incremental snapshot ${snapshotter.activeId} is running; stop it or wait for it`);
    const published = await this.catalog.publishedTables(this.config.CDC_PUBLICATION);
    const selected = [];
    for (const name of tables) {
      const found = published.find((t) => `${t.schema}.${t.table}` === name);
      if (!found) throw grpcErrors.notFound(`table ${name} in publication ${this.config.CDC_PUBLICATION}`);
      const info = await this.catalog.tableInfo(found.relationOid, this.config.CDC_PUBLICATION);
      if (!info) throw grpcErrors.notFound(`table ${name}`);
      if (info.primaryKey.length === 0)
        throw grpcErrors.failedPrecondition(`table ${name} has no primary key: it cannot be read in chunks`);
      const condition = conditions[name] ?? '';
      if (condition)
        checkCondition(
          name,
          condition,
          info.columns.map((c) => c.name),
        );
      selected.push({ info, condition });
    }
    const record = await snapshotter.start(selected, chunkSize || this.config.CDC_INCREMENTAL_SNAPSHOT_CHUNK_SIZE);
    return snapshotter.toProto(record, false);
  }

  get(id: string): cdcV1.Snapshot {
    checkSnapshotId(id);
    const record = this.snapshotter.find(id);
    if (!record) throw grpcErrors.notFound(`snapshot ${id}`);
    return this.snapshotter.toProto(record, this.status.state === 'paused');
  }

  async stop(id: string, tables: readonly string[]): Promise<cdcV1.Snapshot> {
    checkSnapshotId(id);
    const record = await this.snapshotter.stop(id, checkTables(tables, false));
    if (!record) throw grpcErrors.notFound(`snapshot ${id}`);
    return this.snapshotter.toProto(record, this.status.state === 'paused');
  }
}
