import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { storageV1 } from '@pulse/contracts';
import { PeerClient, ServiceMetrics, peerSecurity } from '@pulse/platform';
import { PRIVACY_CONFIG, type PrivacyConfig } from '../config/privacy.config';
import type { EraseOutcome, StoreEraser, Subject } from '../erasure/erasure.model';

/** storage erases its own part (Cassandra and media) through StorageService.EraseUserData, an idempotent call. */
@Injectable()
export class StorageEraser implements StoreEraser, OnApplicationShutdown {
  readonly store = 'storage' as const;
  private readonly storage?: PeerClient;

  constructor(@Inject(PRIVACY_CONFIG) config: PrivacyConfig, metrics: ServiceMetrics) {
    if (!config.STORAGE_GRPC_ADDR) return;
    this.storage = new PeerClient({
      name: 'storage',
      address: config.STORAGE_GRPC_ADDR,
      protoFile: 'pulse/storage/v1/storage_service.proto',
      service: 'pulse.storage.v1.StorageService',
      // A user with many edges and objects takes a while: each attempt gets minutes, not the serving default.
      deadlineMs: 300_000,
      retries: 3,
      backoffMs: 500,
      registry: metrics.registry,
      // The service's own key (PULSE_API_KEY): EraseUserData needs privacy:erase.
      ...peerSecurity(config),
    });
  }

  onApplicationShutdown() {
    this.storage?.close();
  }

  async erase(subject: Subject): Promise<EraseOutcome> {
    if (!this.storage) return { counts: {} };
    const response = await this.storage.call<storageV1.EraseUserDataResponse>('EraseUserData', { userId: subject.userId });
    return { counts: Object.fromEntries(Object.entries(response.erased ?? {}).map(([k, v]) => [k, Number(v)])) };
  }
}
