import { grpcErrors } from '@pulse/platform';
import { GRAPH_JOBS } from './graph.jobs';
import { INSIGHT_JOBS } from './insights.jobs';
import type { JobDefinition } from './job-definition';
import { pymk } from './pymk.job';
import { SILVER_JOBS } from './silver.jobs';

/** Every job, silver before gold, each after the jobs whose output it reads. */
export const JOBS: readonly JobDefinition[] = [...SILVER_JOBS, ...INSIGHT_JOBS, ...GRAPH_JOBS, pymk];

/** The jobs by name, with the schedules in force (defaults overridden by ANALYTICS_SCHEDULES). */
export class JobCatalog {
  private readonly byName: Map<string, JobDefinition>;
  private readonly schedules: Map<string, string>;

  constructor(
    readonly jobs: readonly JobDefinition[] = JOBS,
    overrides: ReadonlyMap<string, string> = new Map(),
  ) {
    this.byName = new Map(jobs.map((j) => [j.name, j]));
    for (const name of overrides.keys()) {
      if (!this.byName.has(name))
        throw new Error(`ANALYTICS_SCHEDULES names an unknown job "${name}" (jobs: ${[...this.byName.keys()].join(', ')})`);
    }
    this.schedules = new Map(jobs.map((j) => [j.name, overrides.get(j.name) ?? j.schedule]));
  }

  /** The job, or NOT_FOUND. */
  get(name: string): JobDefinition {
    const job = this.byName.get(name);
    if (!job) throw grpcErrors.notFound(`job "${name}"`);
    return job;
  }

  /** The cron expression in force for a job; empty when it runs on request only. */
  schedule(name: string): string {
    return this.schedules.get(name) ?? '';
  }

  /** A run's parameters: the defaults with `given` applied; INVALID_ARGUMENT names an unknown or bad one. */
  parameters(job: JobDefinition, given: Readonly<Record<string, string>>): Record<string, string> {
    const specs = new Map((job.parameters ?? []).map((p) => [p.name, p]));
    const out = Object.fromEntries((job.parameters ?? []).map((p) => [p.name, p.defaultValue]));
    for (const [name, value] of Object.entries(given)) {
      const spec = specs.get(name);
      if (!spec) {
        const known = [...specs.keys()];
        throw grpcErrors.invalidArgument(
          `parameters[${name}]`,
          known.length ? `not a parameter of ${job.name} (it has ${known.join(', ')})` : `${job.name} takes no parameters`,
        );
      }
      const problem = spec.check(value);
      if (problem) throw grpcErrors.invalidArgument(`parameters[${name}]`, problem);
      out[name] = value;
    }
    return out;
  }
}
