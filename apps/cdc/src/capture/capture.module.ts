import { Module } from '@nestjs/common';
import { PG_POOL } from '@pulse/platform';
import type { Pool } from 'pg';
import { CDC_CONFIG, type CdcConfig } from '../config/cdc.config';
import { CdcGrpcController } from '../status/cdc.grpc.controller';
import { WalSafetyService } from '../wal/wal-safety.service';
import { CaptureService } from './capture.service';
import { CdcCatalogRepository } from './cdc-catalog.pg.repository';
import { CdcMetrics } from './cdc.metrics';

/** The capture slice: slot → Kafka streaming, WAL safety and the CdcService gRPC API. */
@Module({
  controllers: [CdcGrpcController],
  providers: [
    {
      provide: CdcCatalogRepository,
      inject: [PG_POOL, CDC_CONFIG],
      useFactory: (pool: Pool, config: CdcConfig) => new CdcCatalogRepository(pool, config.CDC_STATE_SCHEMA),
    },
    CdcMetrics,
    CaptureService,
    WalSafetyService,
  ],
  exports: [CaptureService],
})
export class CaptureModule {}
