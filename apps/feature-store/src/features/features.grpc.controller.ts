import { Controller, UseFilters } from '@nestjs/common';
import { featuresV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import { MaterializationService } from '../offline/materialization.service';
import { RetrievalService } from '../offline/retrieval.service';
import { OnlineFeaturesService } from '../online/online-features.service';
import { PushService } from '../online/push.service';
import { RegistryQueryService } from '../registry/registry-query.service';

/** pulse.features.v1.FeaturesService over gRPC; each RPC is answered by its slice's service. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@featuresV1.FeaturesServiceControllerMethods()
export class FeaturesGrpcController implements featuresV1.FeaturesServiceController {
  constructor(
    private readonly online: OnlineFeaturesService,
    private readonly pushes: PushService,
    private readonly materialization: MaterializationService,
    private readonly retrieval: RetrievalService,
    private readonly registry: RegistryQueryService,
  ) {}

  @RequiresScope('features:read')
  getOnlineFeatures(request: featuresV1.GetOnlineFeaturesRequest) {
    return this.online.get(request);
  }

  @RequiresScope('features:write')
  push(request: featuresV1.PushRequest) {
    return this.pushes.push(request);
  }

  @RequiresScope('features:write')
  materialize(request: featuresV1.MaterializeRequest) {
    return this.materialization.start(request);
  }

  @RequiresScope('features:read')
  getMaterializationStatus(request: featuresV1.GetMaterializationStatusRequest) {
    return this.materialization.get(request);
  }

  @RequiresScope('features:read')
  getHistoricalFeatures(request: featuresV1.GetHistoricalFeaturesRequest) {
    return this.retrieval.start(request);
  }

  @RequiresScope('features:read')
  getRetrievalJob(request: featuresV1.GetRetrievalJobRequest) {
    return this.retrieval.get(request);
  }

  @RequiresScope('features:read')
  listFeatureViews(request: featuresV1.ListFeatureViewsRequest) {
    return this.registry.listFeatureViews(request);
  }

  @RequiresScope('features:read')
  getFeatureView(request: featuresV1.GetFeatureViewRequest) {
    return this.registry.getFeatureView(request);
  }

  @RequiresScope('features:read')
  listFeatureServices(request: featuresV1.ListFeatureServicesRequest) {
    return this.registry.listFeatureServices(request);
  }

  @RequiresScope('features:read')
  getRegistry(request: featuresV1.GetRegistryRequest) {
    return this.registry.getRegistry(request);
  }
}
