import { DynamicModule, Module } from '@nestjs/common';
import { Topics } from '@pulse/contracts';
import { KafkaModule, type Logger, PlatformModule } from '@pulse/platform';
import { LOGS_CONFIG, type LogsConfig } from './config/logs.config';
import { LogsModule } from './logs/logs.module';

/** config → logging, health, metrics → infrastructure → the logs slice. */
@Module({})
export class AppModule {
  static forRoot(config: LogsConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }),
        KafkaModule.forRoot({
          settings: { brokers: config.KAFKA_BROKERS, clientId: config.SERVICE_NAME },
          topics: [Topics.logs],
        }),
        LogsModule,
      ],
      providers: [{ provide: LOGS_CONFIG, useValue: config }],
      exports: [LOGS_CONFIG],
    };
  }
}
