import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { grpcClient, type UnaryClient, peerSecurity } from '@pulse/platform';
import { CONSOLE_CONFIG, type ConsoleConfig, type PeerConfig, type PeerName } from '../config/console.config';
import { grpcPeerError, httpPeerError, PeerError } from './peer-error';

/** The public gRPC API each peer serves (its proto file and service), as any client would load it. */
const APIS: Partial<Record<PeerName, { proto: string; service: string }>> = {
  ingest: { proto: 'pulse/ingest/v1/ingest_service.proto', service: 'pulse.ingest.v1.IngestService' },
  cdc: { proto: 'pulse/cdc/v1/cdc_service.proto', service: 'pulse.cdc.v1.CdcService' },
  etl: { proto: 'pulse/etl/v1/etl_service.proto', service: 'pulse.etl.v1.EtlService' },
  storage: { proto: 'pulse/storage/v1/storage_service.proto', service: 'pulse.storage.v1.StorageService' },
  'feature-store': { proto: 'pulse/features/v1/features_service.proto', service: 'pulse.features.v1.FeaturesService' },
  recommender: { proto: 'pulse/recs/v1/recs_service.proto', service: 'pulse.recs.v1.RecsService' },
  logs: { proto: 'pulse/logs/v1/logs_service.proto', service: 'pulse.logs.v1.LogsService' },
  experiments: { proto: 'pulse/experiments/v1/experiments_service.proto', service: 'pulse.experiments.v1.ExperimentsService' },
  analytics: { proto: 'pulse/analytics/v1/analytics_service.proto', service: 'pulse.analytics.v1.AnalyticsService' },
};

/** Reconnect soon after a peer comes back, instead of grpc-js's backoff of up to two minutes. */
const CHANNEL_OPTIONS = { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 2_000 };

/**
 * The console's one way to its peers: their public gRPC APIs and their HTTP /health and /metrics, every call
 * with the configured deadline. A failure is a PeerError naming the service and address, never a hang.
 */
@Injectable()
export class Peers implements OnApplicationShutdown {
  private readonly clients = new Map<PeerName, UnaryClient>();

  constructor(@Inject(CONSOLE_CONFIG) private readonly config: ConsoleConfig) {}

  /** Every peer, in the service list's start order. */
  all(): PeerConfig[] {
    return Object.values(this.config.peers);
  }

  get(name: PeerName): PeerConfig {
    return this.config.peers[name];
  }

  /** A unary call to a peer's API; rejects with a PeerError. */
  async call<Res>(name: PeerName, method: string, request: unknown, deadlineMs = this.config.CONSOLE_CALL_DEADLINE): Promise<Res> {
    const peer = this.get(name);
    const api = APIS[name];
    if (!api || !peer.grpc) throw new PeerError(name, peer.http, 'UNIMPLEMENTED', `${name} serves no gRPC API`, false);
    let client = this.clients.get(name);
    if (!client) {
      client = grpcClient(peer.grpc, api.proto, api.service, {
        channelOptions: CHANNEL_OPTIONS,
        ...peerSecurity(this.config),
      });
      this.clients.set(name, client);
    }
    try {
      return await client.call<Res>(method, request, { deadlineMs });
    } catch (error) {
      throw grpcPeerError(name, peer.grpc, error);
    }
  }

  /** GET of a path of a peer's HTTP; any status is returned, only no answer rejects (PeerError). */
  async http(name: PeerName, path: string): Promise<{ status: number; text: string }> {
    const peer = this.get(name);
    try {
      const response = await fetch(`${peer.http}${path}`, { signal: AbortSignal.timeout(this.config.CONSOLE_CALL_DEADLINE) });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      throw httpPeerError(name, peer.http, error);
    }
  }

  onApplicationShutdown() {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
