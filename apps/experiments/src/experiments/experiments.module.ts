import { Module } from '@nestjs/common';
import { ExposuresLakeReader } from '../results/exposures.lake.reader';
import { ResultsService } from '../results/results.service';
import { ExperimentsGrpcController } from './experiments.grpc.controller';
import { ExperimentsService } from './experiments.service';
import { PgExperimentsRepository } from './experiments.pg.repository';
import { ExperimentsRepository } from './experiments.repository';
import { ModelCatalog } from './model-catalog';
import { RecsModelCatalog } from './model-catalog.recs.client';

/** The experiments slice: gRPC controller, lifecycle and results services, the repository and the recommender's models. */
@Module({
  controllers: [ExperimentsGrpcController],
  providers: [
    ExperimentsService,
    ResultsService,
    ExposuresLakeReader,
    { provide: ExperimentsRepository, useClass: PgExperimentsRepository },
    { provide: ModelCatalog, useClass: RecsModelCatalog },
  ],
})
export class ExperimentsModule {}
