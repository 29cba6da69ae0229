import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { HealthRegistry } from '../health/health.registry';
import type { Logger } from '../logging/logger';
import { ServiceMetrics } from '../metrics/metrics';
import { type LeaderRole, PgLeaderElection } from '../postgres/leader-election';
import { LOGGER } from './platform.module';

export const LEADER_ELECTION = Symbol('LEADER_ELECTION');

/** What a singleton's work waits on: this replica leads, or stands by until it does. */
export interface LeaderElection {
  readonly isLeader: boolean;
  readonly state: LeaderRole;
  /** Resolves when this replica leads. */
  readonly leader: Promise<void>;
  /** Settles when leadership was lost for good; the work must stop (the services end the process). */
  readonly lost: Promise<Error>;
  /** One attempt now: true when this replica leads. */
  tryAcquire(): Promise<boolean>;
  /** Keeps trying (standby) or keeps the lock (leader) in the background. */
  campaign(): void;
  /** Gives leadership up (the guarded work failed): a standby takes over, `lost` settles. */
  resign(reason: Error): Promise<void>;
  stop(): Promise<void>;
}

/** No election (one replica by construction, or tests): this replica always leads. */
export class SoleLeader implements LeaderElection {
  readonly isLeader = true;
  readonly state = 'leader' as const;
  readonly leader = Promise.resolve();
  async tryAcquire() {
    return true;
  }
  campaign() {
    // nothing to campaign for
  }
  private resolveLost!: (error: Error) => void;
  readonly lost = new Promise<Error>((resolve) => (this.resolveLost = resolve));
  async resign(reason: Error) {
    this.resolveLost(reason);
  }
  async stop() {
    // no lock to release
  }
}

/**
 * Runs a singleton's work on the leader: at once when this replica takes the lock now (so a start that fails
 * fails the app's start), else once it takes over from the leader; work that fails after a takeover resigns
 * (the process ends through `lost`, a standby tries in its turn).
 */
export async function whenLeading(election: LeaderElection, logger: Logger, what: string, work: () => Promise<void>): Promise<void> {
  const leading = await election.tryAcquire();
  election.campaign();
  if (leading) return work();
  logger.info({ what }, 'standing by: another replica leads');
  void election.leader.then(async () => {
    if (!election.isLeader) return;
    logger.info({ what }, 'taking over');
    await work().catch((error: Error) => {
      logger.error({ err: error, what }, 'could not start after taking over; resigning');
      return election.resign(error);
    });
  });
}

export interface LeaderElectionModuleOptions {
  /** False: this replica leads without asking (SoleLeader). */
  enabled: boolean;
  /** PostgreSQL holding the advisory lock. */
  url: string;
  /** What is elected; replicas of one singleton share it. */
  name: string;
  identity: string;
  retryIntervalMs: number;
  renewDeadlineMs: number;
}

class ElectionLifecycle implements OnApplicationShutdown {
  constructor(@Inject(LEADER_ELECTION) private readonly election: LeaderElection) {}

  // After the servers drained and the work stopped: free the lock so that a standby takes over at once.
  async onApplicationShutdown() {
    await this.election.stop();
  }
}

/**
 * The leader election of a singleton service (docs/decisions/0019-leader-election.md): a PostgreSQL advisory
 * lock on a session of its own. Readiness checks the election's session; `leader_election_is_leader` on
 * /metrics says which replica leads. The work itself waits on `leader` (see cdc's capture, etl's aggregates).
 */
@Global()
@Module({})
export class LeaderElectionModule {
  static forRoot(options: LeaderElectionModuleOptions): DynamicModule {
    return {
      module: LeaderElectionModule,
      providers: [
        {
          provide: LEADER_ELECTION,
          inject: [HealthRegistry, LOGGER, ServiceMetrics],
          useFactory: (health: HealthRegistry, logger: Logger, metrics: ServiceMetrics): LeaderElection => {
            if (!options.enabled) return new SoleLeader();
            const election = new PgLeaderElection({
              url: options.url,
              name: options.name,
              identity: options.identity,
              retryIntervalMs: options.retryIntervalMs,
              renewDeadlineMs: options.renewDeadlineMs,
              logger,
            });
            health.register('leader-election', () => election.check());
            new Gauge({
              name: 'leader_election_is_leader',
              help: '1 while this replica holds the leadership of its singleton, 0 while it stands by',
              labelNames: ['election'],
              registers: [metrics.registry],
              collect() {
                this.set({ election: options.name }, election.isLeader ? 1 : 0);
              },
            });
            return election;
          },
        },
        ElectionLifecycle,
      ],
      exports: [LEADER_ELECTION],
    };
  }
}
