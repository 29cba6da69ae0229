import { Controller, UseFilters } from '@nestjs/common';
import { recsV1 } from '@pulse/contracts';
import { GrpcExceptionFilter } from '@pulse/platform';
import { RecsService } from './recs.service';

/** pulse.recs.v1.RecsService over gRPC. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@recsV1.RecsServiceControllerMethods()
export class RecsGrpcController implements recsV1.RecsServiceController {
  constructor(private readonly service: RecsService) {}

  recommend(request: recsV1.RecommendRequest) {
    return this.service.recommend(request);
  }

  recommendSimilar(request: recsV1.RecommendSimilarRequest) {
    return this.service.recommendSimilar(request);
  }

  rankItems(request: recsV1.RankItemsRequest) {
    return this.service.rankItems(request);
  }

  getModel(request: recsV1.GetModelRequest): recsV1.GetModelResponse {
    return { model: this.service.getModel(request.version ?? '') };
  }

  listModels(request: recsV1.ListModelsRequest) {
    return this.service.listModels(request.pageSize ?? 0, request.pageToken ?? '');
  }

  promoteModel(request: recsV1.PromoteModelRequest) {
    return this.service.promote(request.version ?? '', request.reason ?? '');
  }

  rollbackModel(request: recsV1.RollbackModelRequest) {
    return this.service.rollback(request.reason ?? '');
  }
}
