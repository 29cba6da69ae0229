import {
  BeforeApplicationShutdown,
  Controller,
  DynamicModule,
  Get,
  Global,
  Inject,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
  Res,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { Response } from 'express';
import { HealthRegistry } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import { ServiceMetrics } from '../metrics/metrics';
import { telemetryOf } from '../telemetry/telemetry';
import { GrpcMetricsInterceptor } from './grpc-metrics.interceptor';
import { GrpcTracingInterceptor } from './grpc-tracing.interceptor';
import { MalformedRequestInterceptor } from './malformed-request.interceptor';
import { instanceMetrics } from './processes';

export const LOGGER = Symbol('LOGGER');
export const SERVICE_NAME = Symbol('SERVICE_NAME');

@Controller()
class HealthHttpController {
  constructor(
    private readonly health: HealthRegistry,
    private readonly metrics: ServiceMetrics,
  ) {}

  /** The process is up and its event loop answers. */
  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  /** Every real dependency answers and the process is not draining. */
  @Get('health/ready')
  async ready(@Res() res: Response) {
    const readiness = await this.health.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  }

  @Get('metrics')
  async prometheus(@Res() res: Response) {
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(await instanceMetrics(this.metrics.registry));
  }
}

/** Marks the process not ready as soon as shutdown begins, before servers stop and clients close. */
class DrainOnShutdown implements BeforeApplicationShutdown {
  constructor(@Inject(HealthRegistry) private readonly health: HealthRegistry) {}

  beforeApplicationShutdown() {
    this.health.startDraining();
  }
}

/** The app's telemetry (tracing, log shipping; see defineService): its metrics on /metrics, stopped last on shutdown. */
class TelemetryLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(ServiceMetrics) private readonly metrics: ServiceMetrics,
  ) {}

  onModuleInit() {
    telemetryOf(this.logger)?.registerMetrics(this.metrics.registry);
  }

  async onApplicationShutdown() {
    await telemetryOf(this.logger)?.shutdown();
  }
}

export interface PlatformModuleOptions {
  service: string;
  logger: Logger;
}

/** Health, readiness, metrics and logging for one app; every app module imports it first. */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformModuleOptions): DynamicModule {
    return {
      module: PlatformModule,
      controllers: [HealthHttpController],
      providers: [
        { provide: SERVICE_NAME, useValue: options.service },
        { provide: LOGGER, useValue: options.logger },
        { provide: HealthRegistry, useValue: new HealthRegistry() },
        { provide: ServiceMetrics, useValue: new ServiceMetrics(options.service) },
        { provide: APP_INTERCEPTOR, useClass: GrpcTracingInterceptor },
        { provide: APP_INTERCEPTOR, useClass: GrpcMetricsInterceptor },
        // After the metrics: a request that did not decode is counted as the INVALID_ARGUMENT it gets.
        { provide: APP_INTERCEPTOR, useClass: MalformedRequestInterceptor },
        DrainOnShutdown,
        TelemetryLifecycle,
      ],
      exports: [SERVICE_NAME, LOGGER, HealthRegistry, ServiceMetrics],
    };
  }
}
