import { Module } from '@nestjs/common';
import { LOGGER, type Logger } from '@pulse/platform';
import { AppDatabasePgRepository } from '../app-database/app-database.pg.repository';
import { EventRateLimiter } from '../behaviour/rate-limiter';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config/simulator.config';
import { IngestEventSender } from '../peers/ingest.client';
import { PeerConnections } from '../peers/peer-connections';
import { RecsClient } from '../peers/recs.client';
import { StorageMediaClient } from '../peers/storage-media.client';
import { WorldPgRepository } from '../world/world.pg.repository';
import { SimulationRunner } from './simulation.runner';
import { SimulatorGrpcController } from './simulator.grpc.controller';
import { SimulatorMetrics } from './simulator.metrics';
import { SimulatorService } from './simulator.service';

/**
 * The simulator slice: the gRPC controller and status service, the runner and its collaborators (rate limiter,
 * peer clients, the world and app database repositories), each built once from the config.
 */
@Module({
  controllers: [SimulatorGrpcController],
  providers: [
    SimulatorService,
    SimulationRunner,
    SimulatorMetrics,
    WorldPgRepository,
    AppDatabasePgRepository,
    {
      provide: EventRateLimiter,
      inject: [SIMULATOR_CONFIG],
      useFactory: (c: SimulatorConfig) => new EventRateLimiter({ rate: c.SIMULATOR_RATE, dayPeriodMs: c.SIMULATOR_DAY_PERIOD }),
    },
    { provide: PeerConnections, inject: [SIMULATOR_CONFIG], useFactory: PeerConnections.open },
    {
      provide: IngestEventSender,
      inject: [PeerConnections, SIMULATOR_CONFIG, EventRateLimiter, SimulatorMetrics, LOGGER],
      useFactory: (peers: PeerConnections, c: SimulatorConfig, limiter: EventRateLimiter, metrics: SimulatorMetrics, logger: Logger) =>
        new IngestEventSender(
          peers.ingest,
          {
            batchEvents: c.SIMULATOR_BATCH_EVENTS,
            flushIntervalMs: c.SIMULATOR_FLUSH_INTERVAL,
            maxQueued: c.SIMULATOR_MAX_QUEUED_EVENTS,
            deadlineMs: c.SIMULATOR_RPC_DEADLINE,
            clientId: c.SERVICE_NAME,
          },
          limiter,
          metrics,
          logger,
        ),
    },
    {
      provide: RecsClient,
      inject: [PeerConnections, SIMULATOR_CONFIG, SimulatorMetrics],
      useFactory: (peers: PeerConnections, c: SimulatorConfig, metrics: SimulatorMetrics) =>
        new RecsClient(peers.recs, c.SIMULATOR_RPC_DEADLINE, metrics),
    },
    {
      provide: StorageMediaClient,
      inject: [PeerConnections, SIMULATOR_CONFIG, SimulatorMetrics],
      useFactory: (peers: PeerConnections, c: SimulatorConfig, metrics: SimulatorMetrics) =>
        new StorageMediaClient(peers.storage, c.SIMULATOR_RPC_DEADLINE, metrics),
    },
  ],
})
export class SimulatorModule {}
