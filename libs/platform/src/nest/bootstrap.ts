import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { HealthRegistry } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import { PinoNestLogger } from '../logging/logger';
import { freePort } from '../net/free-port';
import { grpcTransport, type GrpcTransportSettings } from './grpc-transport';

export interface ServiceBootstrap {
  /** The app's root module, built from its config. */
  module: DynamicModule;
  logger: Logger;
  /** Listen address of the gRPC server; required with `grpc`. */
  grpcHost?: string;
  /** 0 picks a free port (tests); required with `grpc`. */
  grpcPort?: number;
  httpPort: number;
  /** The gRPC service(s) it serves; an app without serves HTTP only (health, metrics, its own routes). */
  grpc?: Pick<
    GrpcTransportSettings,
    'packages' | 'protoFiles' | 'serviceNames' | 'maxReceiveMessageBytes' | 'reflection' | 'tls' | 'keepRequestBytes'
  >;
}

export interface RunningService {
  app: INestApplication;
  /** `127.0.0.1:port` of the gRPC server; empty for an HTTP-only app. */
  grpcAddress: string;
  /** Base URL of /health and /metrics. */
  httpUrl: string;
  close(): Promise<void>;
}

/**
 * Starts a Pulse service the one way every service starts: a hybrid Nest app with its gRPC service
 * (plus grpc.health.v1 and, unless turned off, reflection), HTTP /health and /metrics, and shutdown hooks that drain
 * in-flight work. Each app's `createApp()` loads its config, builds its module and calls this.
 */
export async function bootstrapService(options: ServiceBootstrap): Promise<RunningService> {
  const app = await NestFactory.create(options.module, { logger: new PinoNestLogger(options.logger), abortOnError: false });
  const grpc = options.grpc;
  if (grpc && (options.grpcHost === undefined || options.grpcPort === undefined))
    throw new Error('a service with a gRPC server needs GRPC_HOST and GRPC_PORT in its config');
  const grpcPort = !grpc ? undefined : options.grpcPort === 0 ? await freePort() : options.grpcPort;
  if (grpc) {
    app.connectMicroservice(grpcTransport({ ...grpc, url: `${options.grpcHost}:${grpcPort}`, health: app.get(HealthRegistry) }), {
      inheritAppConfig: true,
    });
  }
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(options.httpPort, '0.0.0.0');
  const httpPort = (app.getHttpServer().address() as AddressInfo).port;
  options.logger.info({ grpcPort, httpPort }, 'service ready');
  return {
    app,
    grpcAddress: grpcPort === undefined ? '' : `127.0.0.1:${grpcPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    close: () => app.close(),
  };
}
