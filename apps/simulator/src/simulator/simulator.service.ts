import { Inject, Injectable } from '@nestjs/common';
import { millisToDuration, millisToTimestamp, simulatorV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { EventRateLimiter } from '../behaviour/rate-limiter';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config/simulator.config';
import { SimulationRunner } from './simulation.runner';
import { SimulatorMetrics } from './simulator.metrics';

/** Most events per second SetRate accepts. */
export const MAX_RATE = 10_000;

/** What the console reads and steers: the simulator's status, and its rate. */
@Injectable()
export class SimulatorService {
  constructor(
    @Inject(SIMULATOR_CONFIG) private readonly config: SimulatorConfig,
    private readonly runner: SimulationRunner,
    private readonly limiter: EventRateLimiter,
    private readonly metrics: SimulatorMetrics,
  ) {}

  status(): simulatorV1.GetStatusResponse {
    const m = this.metrics;
    const world = this.runner.opened?.world;
    return {
      state: this.runner.state,
      running: this.runner.state === simulatorV1.SimulatorState.SIMULATOR_STATE_RUNNING,
      seed: this.runner.opened?.seed ?? this.config.SIMULATOR_SEED,
      run: this.runner.opened?.run ?? 0,
      users: world?.agents.length ?? 0,
      posts: world?.postCount ?? 0,
      follows: world?.followCount ?? 0,
      eventsSent: [...m.sentByType].sort(([a], [b]) => a - b).map(([type, count]) => ({ type, count })),
      eventsSentTotal: m.sentTotal,
      eventsRejected: m.rejected,
      errors: [...m.errors].sort().map(([key, count]) => {
        const [peer, code] = key.split('/');
        return { peer, code, count };
      }),
      sessions: m.sessionCount,
      recommendations: [...m.listsByStrategy].sort().map(([strategy, count]) => ({ strategy, count })),
      rate: this.limiter.rate,
      currentRate: this.limiter.currentRate,
      dayPeriod: millisToDuration(this.config.SIMULATOR_DAY_PERIOD),
      startedAt: millisToTimestamp(this.runner.startedAtMs),
    };
  }

  /** Sets the target rate (0 pauses); INVALID_ARGUMENT outside 0..MAX_RATE. */
  setRate(request: simulatorV1.SetRateRequest): simulatorV1.SetRateResponse {
    const rate = request.eventsPerSecond;
    if (!Number.isFinite(rate) || rate < 0 || rate > MAX_RATE) {
      throw grpcErrors.invalidArgument('events_per_second', `must be between 0 and ${MAX_RATE} events per second`);
    }
    const previous = this.limiter.rate;
    this.limiter.setRate(rate);
    return { previousEventsPerSecond: previous, eventsPerSecond: rate };
  }
}
