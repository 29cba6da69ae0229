import { Module } from '@nestjs/common';
import { PG_POOL } from '@pulse/platform';
import type { Pool } from 'pg';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { IncrementalSnapshotService } from '../snapshot/incremental-snapshot.service';
import { ChunkReader } from '../snapshot/incremental-snapshot.pg.reader';
import { InitialSnapshotService } from '../snapshot/initial-snapshot.service';
import { WalSafetyService } from '../wal/wal-safety.service';
import { CaptureContext } from './capture.context';
import { CaptureCoordinatorService } from './capture-coordinator.service';
import { CaptureStatusService } from './capture-status.service';
import { CdcCatalogRepository } from './cdc-catalog.pg.repository';
import { CdcGrpcController } from './cdc.grpc.controller';
import { CdcMetrics } from './cdc.metrics';
import { ChangeEventProducer } from './change-event.kafka.producer';
import { PgConnectionFactory } from './pg-connections.factory';
import { StreamingSourceService } from './streaming-source.service';

/**
 * The capture slice, split as Debezium's PostgreSQL connector: the coordinator (publication, slot, snapshot
 * decision), the initial and incremental snapshots, the streaming source (slot → Kafka, confirmed after the
 * acks), the status (state, confirmed position, lag, counts), WAL safety and the CdcService gRPC API.
 */
@Module({
  controllers: [CdcGrpcController],
  providers: [
    {
      provide: CdcCatalogRepository,
      inject: [PG_POOL, CDC_CONFIG],
      useFactory: (pool: Pool, config: CdcConfig) => new CdcCatalogRepository(pool, config.CDC_STATE_SCHEMA),
    },
    {
      provide: CaptureContext,
      inject: [CDC_CONFIG, CdcCatalogRepository],
      useFactory: (config: CdcConfig, catalog: CdcCatalogRepository) => CaptureContext.load(config, catalog),
    },
    PgConnectionFactory,
    {
      provide: ChunkReader,
      inject: [PgConnectionFactory],
      useFactory: (connections: PgConnectionFactory) => connections.chunkReader(),
    },
    CdcMetrics,
    CaptureStatusService,
    ChangeEventProducer,
    InitialSnapshotService,
    IncrementalSnapshotService,
    StreamingSourceService,
    CaptureCoordinatorService,
    WalSafetyService,
  ],
  exports: [CaptureCoordinatorService],
})
export class CaptureModule {}
