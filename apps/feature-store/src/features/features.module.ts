import { Module } from '@nestjs/common';
import { AggregatesKafkaConsumer } from '../aggregates/aggregates.kafka.consumer';
import { OfflineEngine } from '../offline/duckdb.provider';
import { JobsRepository } from '../offline/jobs.pg.repository';
import { MaterializationService } from '../offline/materialization.service';
import { OfflineStore } from '../offline/offline-store';
import { RetrievalService } from '../offline/retrieval.service';
import { WatermarksRepository } from '../offline/watermarks.pg.repository';
import { EntityDeletionService } from '../online/entity-deletion.service';
import { OnlineFeaturesService } from '../online/online-features.service';
import { OnlineStoreRepository } from '../online/online-store.redis.repository';
import { PushService } from '../online/push.service';
import { RegistryQueryService } from '../registry/registry-query.service';
import { FeaturesGrpcController } from './features.grpc.controller';

@Module({
  controllers: [FeaturesGrpcController],
  providers: [
    OnlineStoreRepository,
    OnlineFeaturesService,
    EntityDeletionService,
    PushService,
    AggregatesKafkaConsumer,
    OfflineEngine,
    OfflineStore,
    JobsRepository,
    WatermarksRepository,
    MaterializationService,
    RetrievalService,
    RegistryQueryService,
  ],
})
export class FeaturesModule {}
