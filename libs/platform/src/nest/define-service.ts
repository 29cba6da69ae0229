import { type DynamicModule, Module } from '@nestjs/common';
import { type AuthConfig, authConfigProblems } from '../config/auth.config';
import { ConfigError } from '../config/load-config';
import { grpcTlsSettings } from '../grpc/tls';
import type { Logger } from '../logging/logger';
import { createLogger } from '../logging/logger';
import { attachTelemetry, startTelemetry } from '../telemetry/telemetry';
import type { TelemetryConfig } from '../telemetry/telemetry.config';
import { AuthModule } from './auth.module';
import { bootstrapService, type RunningService } from './bootstrap';
import { isClusterPrimary, serviceProcesses, superviseWorkers } from './processes';

/** The settings every service's config schema has (see `env` of load-config, `authEnv` and `telemetryEnv`). */
export interface BaseServiceConfig extends AuthConfig, Partial<TelemetryConfig> {
  SERVICE_NAME: string;
  LOG_LEVEL: string;
  /** Absent in an app that serves HTTP only (no `grpc` in its definition). */
  GRPC_HOST?: string;
  GRPC_PORT?: number;
  HTTP_PORT: number;
}

export interface ServiceDefinition<C extends BaseServiceConfig> {
  /** The app's config loader (its zod schema over the environment plus overrides). */
  loadConfig(overrides: Record<string, string | undefined>): C;
  /** The app's root module, built from its config. */
  module(config: C, logger: Logger): DynamicModule;
  /**
   * The gRPC service it serves, e.g. `{ package: 'pulse.ingest.v1', service: 'IngestService' }`; the proto file
   * defaults to `pulse/<domain>/v1/<domain>_service.proto`. Without it the app serves HTTP only.
   */
  grpc?: {
    package: string;
    service: string;
    protoFile?: string;
    maxReceiveMessageBytes?: number;
    /** Methods whose handlers read their request's bytes (requestBytesOf). */
    keepRequestBytes?: readonly string[];
  };
  /** Work before the app is built (e.g. loading a native backend), logged by the service's logger. */
  beforeStart?(config: C, logger: Logger): Promise<void>;
}

export interface RunningApp<C> extends RunningService {
  config: C;
}

/** The app's module beside the authentication of its gRPC server: what every service runs. */
@Module({})
class ServiceRootModule {}

/**
 * Builds the `createApp(overrides)` of a service from its config loader, root module and proto package: config →
 * telemetry → logger → `bootstrapService`, with authentication and per-RPC authorisation (`AuthModule`) on every
 * service. `main.ts` and the integration tests both start the app through it.
 */
export function defineService<C extends BaseServiceConfig>(
  definition: ServiceDefinition<C>,
): (overrides?: Record<string, string | undefined>) => Promise<RunningApp<C>> {
  return async (overrides = {}) => {
    const config = definition.loadConfig(overrides);
    const problems = authConfigProblems(config);
    if (problems.length > 0) throw new ConfigError(config.SERVICE_NAME, problems);
    // Tracing and log shipping, as the config switches them on; stopped by PlatformModule when the app closes.
    const telemetry = startTelemetry(config.SERVICE_NAME, config);
    const logger = createLogger(config.SERVICE_NAME, config.LOG_LEVEL, telemetry.loggerHooks);
    attachTelemetry(logger, telemetry);
    if (config.PULSE_AUTH === 'off') logger.warn('PULSE_AUTH=off: every gRPC call is let through unauthenticated (local use only)');
    try {
      await definition.beforeStart?.(config, logger);
      const grpc = definition.grpc;
      const running = await bootstrapService({
        module: {
          module: ServiceRootModule,
          imports: [definition.module(config, logger), AuthModule.forRoot(config, config.SERVICE_NAME)],
        },
        logger,
        grpcHost: config.GRPC_HOST,
        grpcPort: config.GRPC_PORT,
        httpPort: config.HTTP_PORT,
        grpc: grpc && {
          packages: [grpc.package],
          protoFiles: [grpc.protoFile ?? defaultProtoFile(grpc.package)],
          serviceNames: [`${grpc.package}.${grpc.service}`],
          maxReceiveMessageBytes: grpc.maxReceiveMessageBytes,
          keepRequestBytes: grpc.keepRequestBytes,
          reflection: config.GRPC_REFLECTION,
          tls: grpcTlsSettings(config),
        },
      });
      return { ...running, config };
    } catch (error) {
      await telemetry.shutdown();
      throw error;
    }
  };
}

/** `pulse.ingest.v1` → `pulse/ingest/v1/ingest_service.proto`. */
export function defaultProtoFile(protoPackage: string): string {
  const parts = protoPackage.split('.');
  return `${parts.join('/')}/${parts[parts.length - 2]}_service.proto`;
}

/**
 * The whole of an app's `main.ts`: start it, and on a failure to start print the reason and exit non-zero.
 * `afterStart` may watch the running app (cdc exits when capture fails for good). With SERVICE_PROCESSES=N (N > 1)
 * this process forks N workers that each do so, on the same ports (processes.ts).
 */
export function runMain<R extends RunningService>(start: () => Promise<R>, afterStart?: (running: R) => Promise<void>): void {
  let processes: number;
  try {
    processes = serviceProcesses();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  if (isClusterPrimary(processes)) return superviseWorkers(processes);
  start()
    .then((running) => afterStart?.(running))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
