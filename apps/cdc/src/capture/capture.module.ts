import { Module } from '@nestjs/common';
import { WalSafetyService } from '../wal/wal-safety.service';
import { CaptureService } from './capture.service';
import { CdcGrpcController } from './cdc.grpc.controller';
import { CdcMetrics } from './cdc.metrics';

/** The capture slice: slot → Kafka streaming, WAL safety and the CdcService gRPC API. */
@Module({
  controllers: [CdcGrpcController],
  providers: [CdcMetrics, CaptureService, WalSafetyService],
  exports: [CaptureService],
})
export class CaptureModule {}
