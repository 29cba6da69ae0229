import { DynamicModule, Module } from '@nestjs/common';
import { ErasureListModule, KafkaModule, kafkaSettings, LeaderElectionModule, type Logger, PlatformModule } from '@pulse/platform';
import { AggregateStreamsService, etlTopics } from './aggregates/aggregate-streams.service';
import { BackfillService } from './backfill/backfill.service';
import { BronzeStreamsService, cdcSources } from './bronze/bronze-streams.service';
import { ETL_CONFIG, type EtlConfig } from './config/etl.config';
import { ExperimentStreamsService, servedTopics } from './experiments/experiment-streams.service';
import { LakeModule } from './lake/lake.module';
import { EtlGrpcController } from './operations/etl.grpc.controller';
import { EtlOperationsService } from './operations/etl-operations.service';
import { TableReaderService } from './operations/table-reader.service';
import { KafkaStreamSource } from './streams/kafka-stream-source';
import { StreamMetrics } from './streams/stream-metrics';
import { StreamRegistry } from './streams/stream-registry';

/** config → logging, health, metrics → Kafka, the erasure list, the lake → bronze, aggregate and exposures streams → operations. */
@Module({})
export class AppModule {
  static forRoot(config: EtlConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: kafkaSettings(config),
          topics: [...etlTopics(config), ...servedTopics(config), ...cdcSources(config).map((s) => s.topic)],
        }),
        ErasureListModule.forRoot({ service: config.SERVICE_NAME, subjectKey: config.PRIVACY_SUBJECT_KEY }),
        LakeModule,
        // The aggregates and the exposures join run on one replica at a time (docs/decisions/0019-leader-election.md).
        LeaderElectionModule.forRoot({
          enabled: config.LEADER_ELECTION,
          url: config.PG_URL,
          name: `etl-singletons:${config.ETL_GROUP_PREFIX}`,
          identity: config.LEADER_ELECTION_IDENTITY,
          retryIntervalMs: config.LEADER_ELECTION_RETRY_INTERVAL,
          renewDeadlineMs: config.LEADER_ELECTION_RENEW_DEADLINE,
        }),
      ],
      controllers: [EtlGrpcController],
      providers: [
        { provide: ETL_CONFIG, useValue: config },
        StreamRegistry,
        StreamMetrics,
        KafkaStreamSource,
        BronzeStreamsService,
        AggregateStreamsService,
        ExperimentStreamsService,
        BackfillService,
        EtlOperationsService,
        TableReaderService,
      ],
      exports: [ETL_CONFIG],
    };
  }
}
