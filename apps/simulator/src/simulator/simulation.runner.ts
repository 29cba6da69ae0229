import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { simulatorV1 } from '@pulse/contracts';
import { errorMessage, LOGGER, type Logger } from '@pulse/platform';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { AppDatabasePgRepository } from '../app-database/app-database.pg.repository';
import { BehaviourModel } from '../behaviour/behaviour.model';
import { EventRateLimiter } from '../behaviour/rate-limiter';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config/simulator.config';
import { IngestEventSender } from '../peers/ingest.client';
import { RecsClient } from '../peers/recs.client';
import { StorageMediaClient } from '../peers/storage-media.client';
import { generateWorld } from '../world/world.generator';
import { type OpenedWorld, WorldPgRepository } from '../world/world.pg.repository';
import { ActivityEventFactory } from './activity-events';
import { ProgressLog } from './progress.log';
import { SessionRunner } from './session.runner';
import { SimulatorMetrics } from './simulator.metrics';

const { SimulatorState } = simulatorV1;

/** Events a session is expected to produce; reserved from the rate limiter when it starts, settled when it ends. */
const EXPECTED_SESSION_EVENTS = 24;
/** Posts whose facts are kept in memory. */
const POST_CAPACITY = 50_000;
const RETRY_OPEN_MS = 5_000;
const SAVE_TASTES_MS = 60_000;
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * The simulator's lifecycle: at start, opens the world (seeds the app database the first time, loads it back
 * afterwards; retried until PostgreSQL and the app tables are there), then runs sessions at the rate the limiter
 * allows, a few at a time, while the ingest queue has room. On shutdown it stops starting sessions, lets those in
 * flight finish, sends what is queued (within a grace period) and saves the drifted tastes.
 */
@Injectable()
export class SimulationRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly startedAtMs = Date.now();
  state: simulatorV1.SimulatorState = SimulatorState.SIMULATOR_STATE_SEEDING;
  opened?: OpenedWorld;
  private readonly stop = new AbortController();
  private loop?: Promise<void>;

  constructor(
    @Inject(SIMULATOR_CONFIG) private readonly config: SimulatorConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly worlds: WorldPgRepository,
    private readonly appDb: AppDatabasePgRepository,
    private readonly limiter: EventRateLimiter,
    private readonly sender: IngestEventSender,
    private readonly recs: RecsClient,
    private readonly media: StorageMediaClient,
    private readonly metrics: SimulatorMetrics,
  ) {
    // Every wait of the loop listens on the stop signal.
    setMaxListeners(64, this.stop.signal);
  }

  onApplicationBootstrap(): void {
    this.metrics.watch(() => ({
      rate: this.limiter.rate,
      currentRate: this.limiter.currentRate,
      queuedEvents: this.sender.queued,
      users: this.opened?.world.agents.length ?? 0,
      posts: this.opened?.world.postCount ?? 0,
      running: this.state === SimulatorState.SIMULATOR_STATE_RUNNING,
    }));
    this.loop = this.run().catch((error) => this.logger.error({ err: error }, 'simulation stopped on an unexpected error'));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.state = SimulatorState.SIMULATOR_STATE_STOPPED;
    this.stop.abort();
    await this.loop;
    await this.sender.stop(SHUTDOWN_GRACE_MS);
    await this.saveTastes();
    this.logger.info({ sent: this.metrics.sentTotal }, 'simulation stopped');
  }

  private get stopping(): boolean {
    return this.stop.signal.aborted;
  }

  private async run(): Promise<void> {
    const opened = await this.openWorld();
    if (!opened) return;
    this.opened = opened;
    const { world, seed, run } = opened;
    const tag = `sim${run}-${randomUUID().slice(0, 8)}`;
    const model = new BehaviourModel(world, (seed ^ Math.imul(run, 0x9e3779b1)) >>> 0);
    const sessions = new SessionRunner(
      {
        world,
        model,
        events: new ActivityEventFactory(tag),
        recs: this.recs,
        media: this.media,
        appDb: this.appDb,
        sender: this.sender,
        metrics: this.metrics,
      },
      tag,
    );
    this.sender.start();
    const progress = new ProgressLog(this.logger, this.metrics, this.limiter, this.sender);
    const logTimer = setInterval(() => progress.log(), this.config.SIMULATOR_LOG_INTERVAL);
    const saveTimer = setInterval(() => void this.saveTastes(), SAVE_TASTES_MS);
    const inFlight = new Set<Promise<void>>();
    try {
      while (!this.stopping) {
        if (this.limiter.rate === 0) {
          this.state = SimulatorState.SIMULATOR_STATE_PAUSED;
          await this.nap(250);
          continue;
        }
        this.state = SimulatorState.SIMULATOR_STATE_RUNNING;
        if (this.sender.full || inFlight.size >= this.config.SIMULATOR_MAX_CONCURRENT_SESSIONS) {
          await Promise.race([...inFlight, this.nap(50)]);
          continue;
        }
        const wait = this.limiter.waitMs();
        if (wait > 0) {
          await this.nap(Math.min(wait, 250));
          continue;
        }
        this.limiter.take(EXPECTED_SESSION_EVENTS);
        const plan = model.startSession({ media: this.config.SIMULATOR_MEDIA_UPLOADS });
        const session: Promise<void> = sessions.run(plan).then(
          (events) => this.limiter.giveBack(EXPECTED_SESSION_EVENTS - events),
          (error) => progress.sessionFailed(error),
        );
        inFlight.add(session);
        void session.finally(() => inFlight.delete(session));
      }
      await Promise.all(inFlight);
    } finally {
      clearInterval(logTimer);
      clearInterval(saveTimer);
    }
  }

  /** The world, seeded on the first start; retried every few seconds until it opens or the simulator stops. */
  private async openWorld(): Promise<OpenedWorld | undefined> {
    const c = this.config;
    const size = { seed: c.SIMULATOR_SEED, users: c.SIMULATOR_USERS, posts: c.SIMULATOR_POSTS, historyMs: c.SIMULATOR_SEED_HISTORY };
    while (!this.stopping) {
      try {
        const missing = await this.worlds.missingAppTables();
        if (missing.length > 0) {
          throw new Error(
            `schema "${c.SIMULATOR_APP_SCHEMA}" has no ${missing.join(', ')} table(s): apply the app migrations (nx run cdc:migrate)`,
          );
        }
        const started = Date.now();
        const opened = await this.worlds.open(size, generateWorld, POST_CAPACITY);
        if (opened.seed !== c.SIMULATOR_SEED) {
          this.logger.warn({ recorded: opened.seed, configured: c.SIMULATOR_SEED }, 'the world was seeded with another seed; keeping it');
        }
        this.logger.info(
          {
            seeded: opened.seeded,
            seed: opened.seed,
            run: opened.run,
            users: opened.world.agents.length,
            posts: opened.world.postCount,
            follows: opened.world.followCount,
            appSchema: c.SIMULATOR_APP_SCHEMA,
            ms: Date.now() - started,
          },
          opened.seeded ? 'world seeded' : 'world loaded',
        );
        return opened;
      } catch (error) {
        this.metrics.peerError('postgres', (error as { code?: string }).code ?? 'UNKNOWN');
        this.logger.warn({ reason: errorMessage(error) }, `cannot open the world yet; trying again in ${RETRY_OPEN_MS / 1000} s`);
        await this.nap(RETRY_OPEN_MS);
      }
    }
    return undefined;
  }

  private async saveTastes(): Promise<void> {
    const world = this.opened?.world;
    if (!world || world.driftedTastes.size === 0) return;
    const agents = [...world.driftedTastes].map((i) => world.agents[i]);
    world.driftedTastes.clear();
    try {
      await this.worlds.saveTastes(agents);
    } catch (error) {
      for (const a of agents) world.driftedTastes.add(a.index);
      this.metrics.peerError('postgres', (error as { code?: string }).code ?? 'UNKNOWN');
    }
  }

  /** Waits, or less when the simulator stops. */
  private nap(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }
}
