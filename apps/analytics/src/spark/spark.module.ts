import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { HealthRegistry } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { ANALYTICS_CONFIG, type AnalyticsConfig } from '../config/analytics.config';
import { SparkConnectClient } from './spark-connect.client';

class SparkClientLifecycle implements OnApplicationShutdown {
  constructor(@Inject(SparkConnectClient) private readonly client: SparkConnectClient) {}

  onApplicationShutdown(): void {
    this.client.close();
  }
}

/**
 * The one Spark Connect client of the app (SPARK_REMOTE). Spark is not critical to readiness: without it the
 * service still answers (lists jobs and runs, records the failed runs), and reports itself degraded.
 */
@Global()
@Module({
  providers: [
    {
      provide: SparkConnectClient,
      inject: [ANALYTICS_CONFIG, HealthRegistry],
      useFactory: (config: AnalyticsConfig, health: HealthRegistry) => {
        const client = new SparkConnectClient(config.SPARK_REMOTE);
        const healthSession = randomUUID();
        health.register('spark', async () => void (await client.version(healthSession, 1_500)), { critical: false });
        return client;
      },
    },
    SparkClientLifecycle,
  ],
  exports: [SparkConnectClient],
})
export class SparkModule {}
