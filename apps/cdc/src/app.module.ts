import { DynamicModule, Module } from '@nestjs/common';
import { KafkaModule, kafkaSettings, LeaderElectionModule, type Logger, PlatformModule, PostgresModule } from '@pulse/platform';
import { CaptureModule } from './capture/capture.module';
import { CDC_STATIC_TOPICS } from './capture/cdc-topics';
import { CDC_CONFIG, type CdcConfig } from './config/cdc.config';
import { sessionOptions } from './debezium/value-converter';

/**
 * config → logging, health, metrics → Kafka, PostgreSQL (the pool of catalog queries; replication and
 * snapshot connections are opened by the capture) → the capture slice.
 */
@Module({})
export class AppModule {
  static forRoot(config: CdcConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: kafkaSettings(config),
          // Per-table topics are created by the capture as it finds the tables of its publication.
          topics: CDC_STATIC_TOPICS,
        }),
        // The app database's migrations are applied by `nx run cdc:migrate`, not at start.
        PostgresModule.forRoot({
          url: config.PG_URL,
          schema: config.CDC_STATE_SCHEMA,
          applicationName: `${config.SERVICE_NAME}-catalog`,
          maxConnections: 3,
          sessionOptions: sessionOptions(),
        }),
        // One replica reads the slot; the others stand by (docs/decisions/0019-leader-election.md).
        LeaderElectionModule.forRoot({
          enabled: config.LEADER_ELECTION,
          url: config.PG_URL,
          name: `cdc:${config.CDC_SLOT}`,
          identity: config.LEADER_ELECTION_IDENTITY,
          retryIntervalMs: config.LEADER_ELECTION_RETRY_INTERVAL,
          renewDeadlineMs: config.LEADER_ELECTION_RENEW_DEADLINE,
        }),
        CaptureModule,
      ],
      providers: [{ provide: CDC_CONFIG, useValue: config }],
      exports: [CDC_CONFIG],
    };
  }
}
