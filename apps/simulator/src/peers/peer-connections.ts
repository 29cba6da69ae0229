import { grpcClient, type UnaryClient, peerSecurity } from '@pulse/platform';
import type { SimulatorConfig } from '../config/simulator.config';

// Calls fail fast while a peer is down (no waiting for a connection) and reconnect quickly when it is back.
const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 5_000,
  'grpc.keepalive_time_ms': 30_000,
};

/** The gRPC channels to the peers the simulator drives, closed on shutdown. */
export class PeerConnections {
  constructor(
    readonly ingest: UnaryClient,
    readonly recs: UnaryClient,
    readonly storage: UnaryClient,
  ) {}

  static open(config: SimulatorConfig): PeerConnections {
    // The simulator's own key (PULSE_API_KEY): events:write, recs:read, storage:read and storage:write.
    const options = { channelOptions: CHANNEL_OPTIONS, ...peerSecurity(config) };
    return new PeerConnections(
      grpcClient(config.INGEST_GRPC_ADDR, 'pulse/ingest/v1/ingest_service.proto', 'pulse.ingest.v1.IngestService', options),
      grpcClient(config.RECS_GRPC_ADDR, 'pulse/recs/v1/recs_service.proto', 'pulse.recs.v1.RecsService', options),
      grpcClient(config.STORAGE_GRPC_ADDR, 'pulse/storage/v1/storage_service.proto', 'pulse.storage.v1.StorageService', options),
    );
  }

  onApplicationShutdown(): void {
    this.ingest.close();
    this.recs.close();
    this.storage.close();
  }
}
