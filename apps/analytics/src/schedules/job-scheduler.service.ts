import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { errorMessage, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { JobCatalog } from '../jobs/job-catalog';
import { JobRunsRepository } from '../runs/job-run';
import { JobRunner } from '../runs/job-runner.service';
import { type CronSchedule, parseCron } from './cron';

export interface SchedulerSettings {
  enabled: boolean;
  tickMs: number;
  heartbeatTimeoutMs: number;
}
export const SCHEDULER_SETTINGS = Symbol('SCHEDULER_SETTINGS');

/**
 * Fires the jobs' cron schedules. Every replica may run it: a schedule time becomes one run (the run row is
 * unique per job and schedule time), and never while a run of the job is active (unique per active job), so
 * a slow run makes the next firing skip rather than overlap. A firing missed while the service was down is
 * not caught up; the next one runs. Each tick also fails the runs whose replica stopped reporting, and settles
 * them (JobRunner.settleAbandoned).
 */
@Injectable()
export class JobScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly crons = new Map<string, CronSchedule>();
  private lastTickMs = Date.now();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private readonly skipped: Counter<'job' | 'reason'>;

  constructor(
    private readonly catalog: JobCatalog,
    private readonly runner: JobRunner,
    private readonly repository: JobRunsRepository,
    @Inject(SCHEDULER_SETTINGS) private readonly settings: SchedulerSettings,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    for (const job of catalog.jobs) {
      const cron = catalog.schedule(job.name);
      if (cron) this.crons.set(job.name, parseCron(cron));
    }
    this.skipped = new Counter({
      name: 'analytics_schedule_skipped_total',
      help: 'Schedule firings that started no run: the job was still running (active), or another replica fired it (taken)',
      labelNames: ['job', 'reason'],
      registers: [metrics.registry],
    });
  }

  /** When a job's schedule fires next, undefined without a schedule or with schedules off. */
  nextRun(job: string, afterMs = Date.now()): number | undefined {
    if (!this.settings.enabled) return undefined;
    return this.crons.get(job)?.next(afterMs);
  }

  onApplicationBootstrap(): void {
    this.lastTickMs = Date.now();
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick(Date.now()).finally(() => (this.ticking = undefined));
    }, this.settings.tickMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /** One check: fail abandoned runs, then start each job whose schedule fired since the last check. */
  async tick(nowMs: number): Promise<void> {
    try {
      const abandoned = await this.repository.failAbandoned(
        nowMs - this.settings.heartbeatTimeoutMs,
        `the replica running it stopped reporting for ${Math.round(this.settings.heartbeatTimeoutMs / 1000)} s (it stopped or lost PostgreSQL)`,
        nowMs,
      );
      for (const run of abandoned) {
        this.logger.warn({ job: run.job, runId: run.runId, replica: run.replica }, 'abandoned run failed');
        // its Spark operations stopped, and a commit it made recorded on it
        const committed = await this.runner
          .settleAbandoned(run)
          .catch((error: unknown) => this.logger.warn({ runId: run.runId, err: errorMessage(error) }, 'could not settle an abandoned run'));
        if (committed) this.logger.warn({ runId: run.runId, output: committed }, 'the abandoned run had committed its output');
      }
    } catch (error) {
      this.logger.warn({ err: errorMessage(error) }, 'could not check for abandoned runs');
    }
    if (this.settings.enabled) {
      for (const [job, cron] of this.crons) {
        // the latest firing in (last tick, now]; older ones missed in between are not caught up
        let due: number | undefined;
        for (let t = cron.next(this.lastTickMs); t <= nowMs; t = cron.next(t)) due = t;
        if (due === undefined) continue;
        try {
          const result = await this.runner.submit({
            job,
            trigger: 'SCHEDULE',
            scheduledForMs: due,
            parameters: this.catalog.parameters(this.catalog.get(job), {}),
          });
          if ('activeRunId' in result) {
            this.skipped.inc({ job, reason: 'active' });
            this.logger.info(
              { job, activeRunId: result.activeRunId, scheduledFor: new Date(due).toISOString() },
              'schedule skipped: the job is still running',
            );
          } else if ('alreadyScheduled' in result) {
            this.skipped.inc({ job, reason: 'taken' });
          }
        } catch (error) {
          this.logger.warn({ job, err: errorMessage(error) }, 'could not start a scheduled run');
        }
      }
    }
    this.lastTickMs = nowMs;
  }
}
