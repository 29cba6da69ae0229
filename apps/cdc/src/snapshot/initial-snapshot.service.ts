import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { CaptureContext } from '../capture/capture.context';
import { CaptureStatusService } from '../capture/capture-status.service';
import { CdcCatalogRepository, type TableInfo } from '../capture/cdc-catalog.pg.repository';
import { ChangeEventProducer, MAX_BATCH_BYTES } from '../capture/change-event.kafka.producer';
import { PgConnectionFactory } from '../capture/pg-connections.factory';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import type { CreatedSlot } from '../replication/replication.pg.connection';
import { takeInitialSnapshot } from './initial-snapshot';

/**
 * The initial snapshot of a new slot (Debezium's snapshot change event source). When the slot exported its
 * snapshot (snapshot mode `initial`), every published table is read from it while the slot's replication
 * connection waits idle, and the rows go to Kafka as read events; that connection then streams from the
 * slot's consistent point. Either way the slot's snapshot is then recorded as done.
 */
@Injectable()
export class InitialSnapshotService {
  constructor(
    @Inject(CDC_CONFIG) private readonly config: CdcConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly catalog: CdcCatalogRepository,
    private readonly context: CaptureContext,
    private readonly connections: PgConnectionFactory,
    private readonly producer: ChangeEventProducer,
    private readonly status: CaptureStatusService,
  ) {}

  /** Takes the snapshot of `created` (when it has one to import); `cancelled` is checked between fetches. */
  async execute(created: CreatedSlot, cancelled: () => boolean): Promise<void> {
    const { config, catalog, context } = this;
    if (created.snapshotName) {
      this.status.setState('snapshotting');
      const published = await catalog.publishedTables(config.CDC_PUBLICATION);
      const tables = (await Promise.all(published.map((t) => catalog.tableInfo(t.relationOid, config.CDC_PUBLICATION)))).filter(
        (t): t is TableInfo => t !== undefined,
      );
      const reader = this.connections.initialSnapshotReader();
      const started = Date.now();
      try {
        const result = await takeInitialSnapshot({
          reader,
          snapshotName: created.snapshotName,
          consistentPoint: created.consistentPoint,
          tables,
          mapper: context.mapper,
          types: context.types,
          database: context.database,
          fetchSize: config.CDC_SNAPSHOT_FETCH_SIZE,
          maxBatchRecords: config.CDC_MAX_BATCH_RECORDS,
          maxBatchBytes: MAX_BATCH_BYTES,
          send: (records) => this.producer.send(records),
          progress: (table, rows) => this.status.snapshotRowsRead(table, rows),
          cancelled,
        });
        context.addShapes(result.shapes);
        await catalog.saveRelations(config.CDC_SLOT, result.shapes);
        this.logger.info({ rows: result.rows, tables: tables.length, ms: Date.now() - started }, 'initial snapshot on Kafka');
      } finally {
        await reader.close();
      }
    }
    await catalog.markSnapshotCompleted(config.CDC_SLOT);
  }
}
