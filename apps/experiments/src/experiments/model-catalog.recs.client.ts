import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { GrpcStatus, grpcErrors, PeerClient, ServiceMetrics, peerSecurity } from '@pulse/platform';
import { EXPERIMENTS_CONFIG, type ExperimentsConfig } from '../config/experiments.config';
import { ModelCatalog } from './model-catalog';

/** The recommender's model registry through `pulse.recs.v1.RecsService/GetModel` (a PeerClient: deadline, retries, breaker). */
@Injectable()
export class RecsModelCatalog extends ModelCatalog implements OnApplicationShutdown {
  private readonly recs: PeerClient;

  constructor(@Inject(EXPERIMENTS_CONFIG) config: ExperimentsConfig, metrics: ServiceMetrics) {
    super();
    this.recs = new PeerClient({
      name: 'recommender',
      address: config.RECS_GRPC_ADDR,
      protoFile: 'pulse/recs/v1/recs_service.proto',
      service: 'pulse.recs.v1.RecsService',
      deadlineMs: config.RECS_DEADLINE,
      retries: 1,
      registry: metrics.registry,
      // The service's own key (PULSE_API_KEY): recs:read, to look a variant's model version up.
      ...peerSecurity(config),
    });
  }

  async hasVersion(version: string): Promise<boolean> {
    try {
      const response = await this.recs.call<{ model?: { version: string } }>('GetModel', { version });
      return response.model?.version === version;
    } catch (error) {
      if ((error as { code?: number }).code === GrpcStatus.NOT_FOUND) return false;
      throw grpcErrors.unavailable(`cannot ask the recommender about model version ${version}: ${(error as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    this.recs.close();
  }
}
