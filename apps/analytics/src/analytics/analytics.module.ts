import { Module } from '@nestjs/common';
import { PeerClient, ServiceMetrics, peerSecurity } from '@pulse/platform';
import { ANALYTICS_CONFIG, type AnalyticsConfig } from '../config/analytics.config';
import { FeaturePusher, GrpcFeaturePusher } from '../features/feature-push.client';
import { JobCatalog } from '../jobs/job-catalog';
import { LakeLocation } from '../lake/lake-location';
import { JobRunsRepository } from '../runs/job-run';
import { PgJobRunsRepository } from '../runs/job-runs.pg.repository';
import { JobRunner, RUNNER_SETTINGS, type RunnerSettings } from '../runs/job-runner.service';
import { JobScheduler, SCHEDULER_SETTINGS, type SchedulerSettings } from '../schedules/job-scheduler.service';
import { SparkModule } from '../spark/spark.module';
import { AnalyticsGrpcController } from './analytics.grpc.controller';
import { AnalyticsService } from './analytics.service';
import { JobOutputReader } from './job-output.reader';

/** The analytics slice: jobs, runs (runner + PostgreSQL record), schedules, the feature store push, the gRPC API. */
@Module({
  imports: [SparkModule],
  controllers: [AnalyticsGrpcController],
  providers: [
    AnalyticsService,
    JobOutputReader,
    JobRunner,
    JobScheduler,
    { provide: JobRunsRepository, useClass: PgJobRunsRepository },
    {
      provide: JobCatalog,
      inject: [ANALYTICS_CONFIG],
      useFactory: (config: AnalyticsConfig) => new JobCatalog(undefined, config.ANALYTICS_SCHEDULES),
    },
    { provide: LakeLocation, inject: [ANALYTICS_CONFIG], useFactory: (config: AnalyticsConfig) => new LakeLocation(config.LAKE_ROOT) },
    {
      provide: FeaturePusher,
      inject: [ANALYTICS_CONFIG, ServiceMetrics],
      useFactory: (config: AnalyticsConfig, metrics: ServiceMetrics) =>
        new GrpcFeaturePusher(
          new PeerClient({
            name: 'feature-store',
            address: config.FEATURES_GRPC_ADDR,
            protoFile: 'pulse/features/v1/features_service.proto',
            service: 'pulse.features.v1.FeaturesService',
            deadlineMs: 10_000,
            retries: 2,
            backoffMs: 200,
            registry: metrics.registry,
            ...peerSecurity(config),
          }),
        ),
    },
    {
      provide: RUNNER_SETTINGS,
      inject: [ANALYTICS_CONFIG],
      useFactory: (config: AnalyticsConfig): RunnerSettings => ({
        maxConcurrentRuns: config.ANALYTICS_MAX_CONCURRENT_RUNS,
        pushBatch: config.ANALYTICS_PUSH_BATCH,
      }),
    },
    {
      provide: SCHEDULER_SETTINGS,
      inject: [ANALYTICS_CONFIG],
      useFactory: (config: AnalyticsConfig): SchedulerSettings => ({
        enabled: config.ANALYTICS_SCHEDULES_ENABLED,
        tickMs: config.ANALYTICS_SCHEDULER_TICK,
        heartbeatTimeoutMs: config.ANALYTICS_RUN_HEARTBEAT_TIMEOUT,
      }),
    },
  ],
})
export class AnalyticsModule {}
