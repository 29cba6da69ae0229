import type { GrpcOptions } from '@nestjs/microservices';
import { Transport } from '@nestjs/microservices';
import { protoFile } from '@pulse/contracts';
import { acceptEncodedResponses } from '../grpc/encoded-response';
import { acceptMalformedRequests } from '../grpc/malformed-request';
import { keepRequestBytes } from '../grpc/request-bytes';
import { addHealthAndReflection, PROTO_LOADER_OPTIONS } from '../grpc/health-reflection';
import { serverCredentials, type GrpcTlsSettings } from '../grpc/tls';
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
  /** TLS (and mTLS) of the server; absent: plaintext. */
  tls?: GrpcTlsSettings;
  /** Methods whose handlers read the bytes of their request (requestBytesOf), e.g. `TrackEvents`. */
  keepRequestBytes?: readonly string[];
}

/**
 * Connection settings of every Pulse gRPC server:
 * - a connection takes new calls for at most 5 minutes (grpc-js adds ±10 % jitter), then the calls on it get 10
 *   minutes to finish (a long media upload included): clients that balance round-robin over the replicas they
 *   resolved (a headless Service, DNS) resolve again and reach replicas the autoscaler added, instead of holding
 *   their first connections for good;
 * - a connection idle for 10 minutes is closed, and none lives longer than its age and grace: a peer that vanished
 *   without closing holds its connection 15 minutes at most;
 * - no keepalive pings from the server: grpc-js (1.14) pings a connection it has sent its max-age GOAWAY like any
 *   other, the ping on the closing session fails, and the server then destroys the connection with the calls still
 *   on it ("Connection dropped") — the grace would last one ping interval, not 10 minutes
 *   (grpc-transport.spec.ts shows both). Clients keep their own pings (peer-client.ts);
 * - at most 1,000 calls in flight per connection: one client cannot open streams without limit.
 */
export const GRPC_SERVER_CHANNEL_OPTIONS = {
  'grpc.max_connection_age_ms': 5 * 60_000,
  'grpc.max_connection_age_grace_ms': 10 * 60_000,
  'grpc.max_connection_idle_ms': 10 * 60_000,
  'grpc.max_concurrent_streams': 1_000,
} as const;

/**
 * Nest's gRPC transport as every Pulse service runs it: ts-proto-compatible loading, health, reflection, TLS from
 * config, graceful drain, and responses a handler has already encoded (encodedResponse) sent as they are.
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
      channelOptions: { ...GRPC_SERVER_CHANNEL_OPTIONS },
      credentials: serverCredentials(settings.tls),
      gracefulShutdown: true,
      onLoadPackageDefinition: (pkg, server) => {
        acceptEncodedResponses(pkg);
        acceptMalformedRequests(pkg);
        keepRequestBytes(pkg, settings.keepRequestBytes ?? []);
        addHealthAndReflection(server, settings.health, settings.serviceNames, { reflection: settings.reflection ?? true });
      },
    },
  };
}
