import { status } from '@grpc/grpc-js';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { featuresV1 } from '@pulse/contracts';
import { PeerClient, ServiceMetrics, peerSecurity } from '@pulse/platform';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/**
 * The user's online features, in every feature view keyed by users, through FeaturesService.DeleteEntity (the
 * feature store knows its views and keys). The offline rows are in the lake (the lake eraser).
 */
@Injectable()
export class FeatureStoreEraser implements StoreEraser, OnApplicationShutdown {
  readonly store = 'feature_store' as const;
  private readonly features?: PeerClient;

  constructor(
    @Inject(PRIVACY_CONFIG) private readonly config: PrivacyConfig,
    metrics: ServiceMetrics,
  ) {
    if (config.FEATURES_GRPC_ADDR) {
      this.features = new PeerClient({
        name: 'feature-store',
        address: config.FEATURES_GRPC_ADDR,
        protoFile: 'pulse/features/v1/features_service.proto',
        service: 'pulse.features.v1.FeaturesService',
        deadlineMs: 60_000,
        retries: 3,
        backoffMs: 500,
        registry: metrics.registry,
        // The service's own key (PULSE_API_KEY): DeleteEntity needs privacy:erase.
        ...peerSecurity(config),
      });
    }
  }

  onApplicationShutdown() {
    this.features?.close();
  }

  async erase(subject: Subject): Promise<EraseOutcome> {
    if (!this.features) return { counts: {} };
    try {
      const response = await this.features.call<featuresV1.DeleteEntityResponse>('DeleteEntity', {
        entity: this.config.PRIVACY_FEATURE_ENTITY,
        key: subject.userId,
      });
      return { counts: { online_rows: Number(response.rowsDeleted) } };
    } catch (error) {
      // A registry without the user entity keys nothing by users.
      if ((error as { code?: number }).code === status.NOT_FOUND) return { counts: {} };
      throw error;
    }
  }
}
