import type { GrpcOptions } from '@nestjs/microservices';
import { Transport } from '@nestjs/microservices';
import { protoFile } from '@pulse/contracts';
import { acceptEncodedResponses } from '../grpc/encoded-response';
import { addHealthAndReflection, PROTO_LOADER_OPTIONS } from '../grpc/health-reflection';
import type { HealthRegistry } from '../health/health.registry';

export interface GrpcTransportSettings {
  /** `host:port`; port 0 picks a free one (tests). */
  url: string;
  /** Proto packages served, e.g. `pulse.ingest.v1`. */
  packages: string[];
  /** Proto files relative to proto/, e.g. `pulse/ingest/v1/ingest_service.proto`. */
  protoFiles: string[];
  /** Fully-qualified service names answered by grpc.health.v1, e.g. `pulse.ingest.v1.IngestService`. */
  serviceNames: string[];
  health: HealthRegistry;
  maxReceiveMessageBytes?: number;
  /** Serve server reflection (default true; production turns it off with GRPC_REFLECTION=false). */
  reflection?: boolean;
}

/**
 * Nest's gRPC transport as every Pulse service runs it: ts-proto-compatible loading, health, reflection, graceful
 * drain, and responses a handler has already encoded (encodedResponse) sent as they are.
 */
export function grpcTransport(settings: GrpcTransportSettings): GrpcOptions {
  return {
    transport: Transport.GRPC,
    options: {
      url: settings.url,
      package: settings.packages,
      protoPath: settings.protoFiles.map(protoFile),
      loader: PROTO_LOADER_OPTIONS,
      maxReceiveMessageLength: settings.maxReceiveMessageBytes ?? 8 * 1024 * 1024,
      gracefulShutdown: true,
      onLoadPackageDefinition: (pkg, server) => {
        acceptEncodedResponses(pkg);
        addHealthAndReflection(server, settings.health, settings.serviceNames, { reflection: settings.reflection ?? true });
      },
    },
  };
}
