import { DynamicModule, Module } from '@nestjs/common';
import { type Logger, PlatformModule } from '@pulse/platform';
import { CONSOLE_CONFIG, type ConsoleConfig } from './config/console.config';
import { ConsoleModule } from './console/console.module';

/** config → logging, health, metrics → the console slice. */
@Module({})
export class AppModule {
  static forRoot(config: ConsoleConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [PlatformModule.forRoot({ service: config.SERVICE_NAME, logger }), ConsoleModule],
      providers: [{ provide: CONSOLE_CONFIG, useValue: config }],
      exports: [CONSOLE_CONFIG],
    };
  }
}
