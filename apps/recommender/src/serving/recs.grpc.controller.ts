import { Controller, UseFilters } from '@nestjs/common';
import { recsV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, RequiresScope } from '@pulse/platform';
import { PeopleService } from '../people/people.service';
import { RecsService } from './recs.service';

/** pulse.recs.v1.RecsService over gRPC. */
@Controller()
@UseFilters(GrpcExceptionFilter)
@recsV1.RecsServiceControllerMethods()
export class RecsGrpcController implements recsV1.RecsServiceController {
  constructor(
    private readonly service: RecsService,
    private readonly people: PeopleService,
  ) {}

  @RequiresScope('recs:read')
  recommend(request: recsV1.RecommendRequest) {
    return this.service.recommend(request);
  }

  @RequiresScope('recs:read')
  recommendSimilar(request: recsV1.RecommendSimilarRequest) {
    return this.service.recommendSimilar(request);
  }

  @RequiresScope('recs:read')
  rankItems(request: recsV1.RankItemsRequest) {
    return this.service.rankItems(request);
  }

  @RequiresScope('recs:read')
  recommendUsers(request: recsV1.RecommendUsersRequest) {
    return this.people.recommendUsers(request);
  }

  @RequiresScope('recs:read')
  getModel(request: recsV1.GetModelRequest): recsV1.GetModelResponse {
    return { model: this.service.getModel(request.version ?? '') };
  }

  @RequiresScope('recs:read')
  listModels(request: recsV1.ListModelsRequest) {
    return this.service.listModels(request.pageSize ?? 0, request.pageToken ?? '');
  }

  @RequiresScope('admin')
  promoteModel(request: recsV1.PromoteModelRequest) {
    return this.service.promote(request.version ?? '', request.reason ?? '');
  }

  @RequiresScope('admin')
  rollbackModel(request: recsV1.RollbackModelRequest) {
    return this.service.rollback(request.reason ?? '');
  }
}
