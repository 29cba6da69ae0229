import { Module } from '@nestjs/common';
import { LOGS_CONFIG, type LogsConfig } from '../config/logs.config';
import { OpenSearchClient } from '../opensearch/opensearch.client';
import { LogIndexer } from './log-indexer.service';
import { LogSearch } from './log-search.service';
import { LogStore, OPENSEARCH } from './log-store';
import { LogsGrpcController } from './logs.grpc.controller';
import { LogsKafkaConsumer } from './logs.kafka.consumer';

/** The logs slice: the store (template, retention), the indexer and its consumer, the search, the gRPC controller. */
@Module({
  controllers: [LogsGrpcController],
  providers: [
    {
      provide: OPENSEARCH,
      inject: [LOGS_CONFIG],
      useFactory: (config: LogsConfig) => new OpenSearchClient(config.OPENSEARCH_URL.replace(/\/$/, ''), config.OPENSEARCH_TIMEOUT),
    },
    LogStore,
    LogIndexer,
    LogSearch,
    LogsKafkaConsumer,
  ],
})
export class LogsModule {}
