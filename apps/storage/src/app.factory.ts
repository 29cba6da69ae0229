import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createLogger, freePort, grpcTransport, HealthRegistry, PinoNestLogger } from '@pulse/platform';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { loadStorageConfig, type StorageConfig } from './config/storage.config';

export interface RunningApp {
  app: INestApplication;
  config: StorageConfig;
  grpcAddress: string;
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * Builds and starts the storage service: gRPC StorageService (plus health and reflection), HTTP
 * health/metrics and the activity consumer. `main.ts` and the integration tests start it through here.
 */
export async function createApp(overrides: Record<string, string | undefined> = {}): Promise<RunningApp> {
  const config = loadStorageConfig(overrides);
  const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL);
  const app = await NestFactory.create(AppModule.forRoot(config, logger), { logger: new PinoNestLogger(logger), abortOnError: false });
  const grpcPort = config.GRPC_PORT === 0 ? await freePort() : config.GRPC_PORT;
  app.connectMicroservice(
    grpcTransport({
      url: `${config.GRPC_HOST}:${grpcPort}`,
      packages: ['pulse.storage.v1'],
      protoFiles: ['pulse/storage/v1/storage_service.proto'],
      serviceNames: ['pulse.storage.v1.StorageService'],
      health: app.get(HealthRegistry),
    }),
    { inheritAppConfig: true },
  );
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.HTTP_PORT, '0.0.0.0');
  const httpPort = (app.getHttpServer().address() as AddressInfo).port;
  logger.info({ grpcPort, httpPort, keyspace: config.CASSANDRA_KEYSPACE }, 'storage ready');
  return {
    app,
    config,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    close: () => app.close(),
  };
}
