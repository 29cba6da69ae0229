import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@pulse/contracts';
import {
  CassandraModule,
  cassandraSettings,
  ErasureListModule,
  KafkaModule,
  kafkaSettings,
  type Logger,
  migrationsDir,
  PlatformModule,
} from '@pulse/platform';
import { ActivityModule } from './activity/activity.module';
import { appDbTopics } from './cdc/app-db.kafka.consumer';
import { CdcModule } from './cdc/cdc.module';
import { STORAGE_CONFIG, type StorageConfig } from './config/storage.config';
import { GraphModule } from './graph/graph.module';
import { MediaModule } from './media/media.module';
import { ProfilesModule } from './profiles/profiles.module';
import { StorageModule } from './storage/storage.module';

/**
 * config → logging, health, metrics → Kafka, the erasure list, Cassandra → profiles, graph, activity, app-db changes,
 * media, erasure → the StorageService controller.
 */
@Module({})
export class AppModule {
  static forRoot(config: StorageConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: kafkaSettings(config),
          topics: [Topics.activityTracked, ...Object.values(appDbTopics(config.STORAGE_CDC_SCHEMA))],
        }),
        ErasureListModule.forRoot({ service: config.SERVICE_NAME, subjectKey: config.PRIVACY_SUBJECT_KEY }),
        CassandraModule.forRoot({
          ...cassandraSettings(config.SERVICE_NAME, config),
          keyspace: config.CASSANDRA_KEYSPACE,
          replication: config.CASSANDRA_REPLICATION,
          migrate: config.STORAGE_AUTO_MIGRATE && { dir: migrationsDir('storage', __dirname, config.STORAGE_MIGRATIONS_DIR) },
        }),
        ProfilesModule,
        GraphModule,
        ActivityModule,
        CdcModule,
        MediaModule,
        StorageModule,
      ],
      providers: [{ provide: STORAGE_CONFIG, useValue: config }],
      exports: [STORAGE_CONFIG],
    };
  }
}
