import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { ETL_CONFIG, type EtlConfig } from '../config/etl.config';
import { Lake } from './lake';

/** Provides the `Lake` (storage, DuckDB engine, managed tables); closed on shutdown. */
@Global()
@Module({
  providers: [
    {
      provide: Lake,
      inject: [ETL_CONFIG, LOGGER],
      useFactory: (config: EtlConfig, logger: Logger) => Lake.open(config, logger),
    },
  ],
  exports: [Lake],
})
export class LakeModule implements OnApplicationShutdown {
  constructor(@Inject(Lake) private readonly lake: Lake) {}

  onApplicationShutdown() {
    this.lake.close();
  }
}
