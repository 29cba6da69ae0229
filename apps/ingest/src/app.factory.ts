import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createLogger, freePort, grpcTransport, HealthRegistry, PinoNestLogger } from '@pulse/platform';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { type IngestConfig, loadIngestConfig } from './config/ingest.config';

export interface RunningApp {
  app: INestApplication;
  config: IngestConfig;
  /** `host:port` the gRPC server listens on. */
  grpcAddress: string;
  /** Base URL of /health and /metrics. */
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * Builds and starts the ingest service: a hybrid Nest app with the gRPC IngestService (plus health and
 * reflection) and HTTP health/metrics. `main.ts` and the integration tests both start it through here;
 * tests pass overrides such as `{ GRPC_PORT: '0', HTTP_PORT: '0' }`.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadIngestConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const app = await NestFactory.create(AppModule.forRoot(config, logger), {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  const grpcPort = config.GRPC_PORT === 0 ? await freePort() : config.GRPC_PORT;
  app.connectMicroservice(
    grpcTransport({
      url: `${config.GRPC_HOST}:${grpcPort}`,
      packages: ['pulse.ingest.v1'],
      protoFiles: ['pulse/ingest/v1/ingest_service.proto'],
      serviceNames: ['pulse.ingest.v1.IngestService'],
      health: app.get(HealthRegistry),
    }),
    { inheritAppConfig: true },
  );
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, '0.0.0.0');
  const httpPort = (app.getHttpServer().address() as AddressInfo).port;
  logger.info({ grpcPort, httpPort }, 'ingest ready');
  return {
    app,
    config,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    close: () => app.close(),
  };
}
