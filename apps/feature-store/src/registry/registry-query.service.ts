import { Injectable } from '@nestjs/common';
import type { featuresV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { WatermarksRepository } from '../offline/watermarks.pg.repository';
import { RegistryCache } from './registry.cache';
import { featureServiceProto, featureViewProto, registryProto } from './registry-proto';

function hasTags(tags: Record<string, string>, wanted: Record<string, string> | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([k, v]) => tags[k] === v);
}

/** The registry RPCs, answered from the cached registry (watermarks from PostgreSQL). */
@Injectable()
export class RegistryQueryService {
  constructor(
    private readonly cache: RegistryCache,
    private readonly watermarks: WatermarksRepository,
  ) {}

  async listFeatureViews(request: featuresV1.ListFeatureViewsRequest): Promise<featuresV1.ListFeatureViewsResponse> {
    const registry = this.cache.current;
    if (request.entity && !registry.entities.has(request.entity)) throw grpcErrors.notFound(`entity "${request.entity}"`);
    const marks = await this.currentWatermarks();
    const featureViews = registry.definitions.featureViews
      .filter((v) => hasTags(v.tags, request.tags) && (!request.entity || v.entities.includes(request.entity)))
      .map((v) => featureViewProto(v, registry, marks.get(v.name)));
    return { featureViews };
  }

  async getFeatureView(request: featuresV1.GetFeatureViewRequest): Promise<featuresV1.GetFeatureViewResponse> {
    if (!request.name) throw grpcErrors.invalidArgument('name', 'is required');
    const registry = this.cache.current;
    const view = registry.views.get(request.name);
    if (!view) throw grpcErrors.notFound(`feature view "${request.name}"`);
    const marks = await this.currentWatermarks();
    return { featureView: featureViewProto(view.def, registry, marks.get(view.def.name)) };
  }

  listFeatureServices(request: featuresV1.ListFeatureServicesRequest): featuresV1.ListFeatureServicesResponse {
    const registry = this.cache.current;
    return {
      featureServices: registry.definitions.featureServices
        .filter((s) => hasTags(s.tags, request.tags))
        .map((s) => featureServiceProto(s, registry)),
    };
  }

  async getRegistry(request: featuresV1.GetRegistryRequest): Promise<featuresV1.GetRegistryResponse> {
    const registry = this.cache.current;
    if (request.ifVersionNot && Number(request.ifVersionNot) === registry.version) {
      return {
        registry: {
          project: registry.project,
          version: registry.version,
          lastUpdatedAt: undefined,
          entities: [],
          featureViews: [],
          featureServices: [],
        },
        notModified: true,
      };
    }
    return { registry: registryProto(registry, await this.currentWatermarks()), notModified: false };
  }

  private async currentWatermarks(): Promise<Map<string, number>> {
    try {
      return await this.watermarks.all();
    } catch (error) {
      throw grpcErrors.unavailable(`registry database unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
