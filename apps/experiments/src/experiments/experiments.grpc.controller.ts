import { Controller, UseFilters } from '@nestjs/common';
import { experimentsV1 } from '@pulse/contracts';
import { GrpcExceptionFilter, grpcErrors, RequiresScope } from '@pulse/platform';
import { ResultsService } from '../results/results.service';
import { statusName, toProto } from './experiment';
import { ExperimentsService } from './experiments.service';

/** pulse.experiments.v1.ExperimentsService: the experiments' lifecycle and their results. */
@Controller()
@experimentsV1.ExperimentsServiceControllerMethods()
@UseFilters(GrpcExceptionFilter)
export class ExperimentsGrpcController implements experimentsV1.ExperimentsServiceController {
  constructor(
    private readonly experiments: ExperimentsService,
    private readonly results: ResultsService,
  ) {}

  @RequiresScope('admin')
  async createExperiment(request: experimentsV1.CreateExperimentRequest): Promise<experimentsV1.CreateExperimentResponse> {
    return { experiment: toProto(await this.experiments.create(request.experiment)) };
  }

  @RequiresScope('admin')
  async startExperiment(request: experimentsV1.StartExperimentRequest): Promise<experimentsV1.StartExperimentResponse> {
    return { experiment: toProto(await this.experiments.start(request.id)) };
  }

  @RequiresScope('admin')
  async stopExperiment(request: experimentsV1.StopExperimentRequest): Promise<experimentsV1.StopExperimentResponse> {
    return { experiment: toProto(await this.experiments.stop(request.id, request.reason ?? '')) };
  }

  @RequiresScope('experiments:read')
  async getExperiment(request: experimentsV1.GetExperimentRequest): Promise<experimentsV1.GetExperimentResponse> {
    return { experiment: toProto(await this.experiments.get(request.id)) };
  }

  @RequiresScope('experiments:read')
  async listExperiments(request: experimentsV1.ListExperimentsRequest): Promise<experimentsV1.ListExperimentsResponse> {
    const status = request.status ? statusName(request.status) : undefined;
    if (request.status && !status) throw grpcErrors.invalidArgument('status', 'not an experiment status');
    const found = await this.experiments.list({ status, layer: request.layer || undefined });
    return { experiments: found.map(toProto) };
  }

  @RequiresScope('experiments:read')
  async getResults(request: experimentsV1.GetResultsRequest): Promise<experimentsV1.GetResultsResponse> {
    const experiment = await this.experiments.get(request.id);
    return { results: await this.results.results(experiment, Number(request.tableVersion ?? 0)) };
  }
}
