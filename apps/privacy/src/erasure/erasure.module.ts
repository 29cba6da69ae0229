import { Module } from '@nestjs/common';
import { AppDatabaseEraser } from '../stores/app-database.eraser';
import { ErasureListEraser } from '../stores/erasure-list.eraser';
import { FeatureStoreEraser } from '../stores/feature-store.eraser';
import { KafkaEraser } from '../stores/kafka.eraser';
import { LakeAccess } from '../stores/lake-access';
import { LakePurgeEraser } from '../stores/lake-purge.eraser';
import { LakeEraser } from '../stores/lake.eraser';
import { ModelsEraser } from '../stores/models.eraser';
import { RedisEraser } from '../stores/redis.eraser';
import { StorageEraser } from '../stores/storage.eraser';
import { ErasureJobsRepository } from './erasure-jobs.pg.repository';
import { STORE_ERASERS, type StoreEraser } from './erasure.model';
import { ErasureRunnerService } from './erasure-runner.service';
import { ErasureService } from './erasure.service';
import { PrivacyGrpcController } from './privacy.grpc.controller';

const ERASERS = [
  ErasureListEraser,
  AppDatabaseEraser,
  StorageEraser,
  FeatureStoreEraser,
  RedisEraser,
  ModelsEraser,
  KafkaEraser,
  LakeEraser,
  LakePurgeEraser,
];

/** Erasure: the jobs and their worker, one eraser per store (src/stores), the PrivacyService controller. */
@Module({
  controllers: [PrivacyGrpcController],
  providers: [
    ErasureService,
    ErasureJobsRepository,
    ErasureRunnerService,
    LakeAccess,
    ...ERASERS,
    { provide: STORE_ERASERS, inject: ERASERS, useFactory: (...erasers: StoreEraser[]) => erasers },
  ],
})
export class ErasureModule {}
