import { DynamicModule, Module } from '@nestjs/common';
import { type Logger, PlatformModule } from '@pulse/platform';
import { CONSOLE_CONFIG, type ConsoleConfig } from './config/console.config';
import { InsightsController } from './insights/insights.controller';
import { LakeController } from './lake/lake.controller';
import { LogsController } from './logs/logs.controller';
import { TracesController } from './logs/traces.controller';
import { MetricsSampler } from './metrics/metrics-sampler';
import { ModelsController } from './models/models.controller';
import { OverviewController } from './overview/overview.controller';
import { OverviewPanels } from './overview/overview.panels';
import { Peers } from './peers/peers';
import { UserPanels } from './users/user.panels';
import { UsersController } from './users/users.controller';
import { AssetsController } from './web/assets.controller';
import { ExperimentsController } from './web/experiments.controller';

/**
 * config → logging, health, metrics → the peers (their gRPC APIs and HTTP) and the metrics sampler → the pages.
 * The console's readiness does not depend on any peer: it serves, and says which of them does not answer.
 */
@Module({})
export class AppModule {
  static forRoot(config: ConsoleConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [PlatformModule.forRoot({ service: config.SERVICE_NAME, logger })],
      controllers: [
        OverviewController,
        UsersController,
        ModelsController,
        LakeController,
        InsightsController,
        LogsController,
        TracesController,
        ExperimentsController,
        AssetsController,
      ],
      providers: [{ provide: CONSOLE_CONFIG, useValue: config }, Peers, MetricsSampler, OverviewPanels, UserPanels],
      exports: [CONSOLE_CONFIG],
    };
  }
}
