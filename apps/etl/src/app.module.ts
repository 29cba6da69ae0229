import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, type Logger, PlatformModule } from '@pulse/platform';
import { AggregateStreamsService, etlTopics } from './aggregates/aggregate-streams.service';
import { BackfillService } from './backfill/backfill.service';
import { BronzeStreamsService, cdcSources } from './bronze/bronze-streams.service';
import { ETL_CONFIG, type EtlConfig } from './config/etl.config';
import { ExperimentStreamsService, servedTopics } from './experiments/experiment-streams.service';
import { LakeModule } from './lake/lake.module';
import { EtlGrpcController } from './operations/etl.grpc.controller';
import { EtlOperationsService } from './operations/etl-operations.service';
import { TableReaderService } from './operations/table-reader.service';
import { StreamMetrics } from './streams/stream-metrics';
import { StreamRegistry } from './streams/stream-registry';

/** config → logging, health, metrics → Kafka, the lake → bronze, aggregate and exposures streams → operations. */
@Module({})
export class AppModule {
  static forRoot(config: EtlConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: { brokers: config.KAFKA_BROKERS, clientId: config.SERVICE_NAME },
          topics: [...etlTopics(config), ...servedTopics(config), ...cdcSources(config).map((s) => s.topic)],
        }),
        LakeModule,
      ],
      controllers: [EtlGrpcController],
      providers: [
        { provide: ETL_CONFIG, useValue: config },
        StreamRegistry,
        StreamMetrics,
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
