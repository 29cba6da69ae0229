import { Inject, Injectable } from '@nestjs/common';
import { BUCKETS, rangesOverlap } from '@pulse/experiments';
import { grpcErrors, LOGGER, type Logger } from '@pulse/platform';
import { bucketCount, type ExperimentRecord, type Status } from './experiment';
import { validateNewExperiment } from './experiment-rules';
import { ExperimentExistsError, ExperimentsRepository } from './experiments.repository';
import { ModelCatalog } from './model-catalog';
import type { experimentsV1 } from '@pulse/contracts';

/**
 * The lifecycle of experiments: create (validated, model versions checked with the recommender, pinned buckets
 * checked against the running experiments of the layer), start (buckets given under the layer's lock), stop.
 * A running experiment is never edited: its assignment must not move users between variants.
 */
@Injectable()
export class ExperimentsService {
  constructor(
    private readonly experiments: ExperimentsRepository,
    private readonly models: ModelCatalog,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(input: experimentsV1.Experiment | undefined): Promise<ExperimentRecord> {
    const experiment = validateNewExperiment(input);
    for (const [i, v] of experiment.variants.entries()) {
      if (v.modelVersion && !(await this.models.hasVersion(v.modelVersion)))
        throw grpcErrors.invalidArgument(
          `experiment.variants[${i}].model_version`,
          `the recommender has no model version ${v.modelVersion}`,
        );
    }
    if (experiment.placementStart !== null) {
      const range = { start: experiment.placementStart, end: experiment.placementStart + bucketCount(experiment.trafficPercent) };
      const clash = (await this.experiments.list({ status: 'RUNNING', layer: experiment.layer })).find(
        (r) => r.buckets && rangesOverlap(r.buckets, range),
      );
      if (clash) throw overlapError(range, clash);
    }
    try {
      const created = await this.experiments.insert(experiment);
      this.logger.info({ experiment: created.id, layer: created.layer }, 'experiment created');
      return created;
    } catch (error) {
      if (error instanceof ExperimentExistsError) throw grpcErrors.alreadyExists(`experiment ${experiment.id}`);
      throw error;
    }
  }

  async start(id: string, now = Date.now()): Promise<ExperimentRecord> {
    requireId(id);
    const result = await this.experiments.start(id, now, (experiment, running) => placeBuckets(experiment, running));
    if (!result) throw grpcErrors.notFound(`experiment ${id}`);
    if (!result.started) throw grpcErrors.failedPrecondition(`experiment ${id} is ${result.record.status}, only a DRAFT starts`, 'id');
    this.logger.info({ experiment: id, buckets: result.record.buckets }, 'experiment started');
    return result.record;
  }

  async stop(id: string, reason: string, now = Date.now()): Promise<ExperimentRecord> {
    requireId(id);
    if (reason.length > 500) throw grpcErrors.invalidArgument('reason', 'at most 500 characters');
    const result = await this.experiments.stop(id, now, reason);
    if (!result) throw grpcErrors.notFound(`experiment ${id}`);
    if (!result.stopped) throw grpcErrors.failedPrecondition(`experiment ${id} is stopped already`, 'id');
    this.logger.info({ experiment: id, reason }, 'experiment stopped');
    return result.record;
  }

  async get(id: string): Promise<ExperimentRecord> {
    requireId(id);
    const found = await this.experiments.get(id);
    if (!found) throw grpcErrors.notFound(`experiment ${id}`);
    return found;
  }

  list(filter: { status?: Status; layer?: string }): Promise<ExperimentRecord[]> {
    return this.experiments.list(filter);
  }
}

function requireId(id: string): void {
  if (!id) throw grpcErrors.invalidArgument('id', 'is required');
}

/**
 * The buckets of a starting experiment: its pinned range, or the first free range of its size in the layer
 * (first fit over the running experiments' ranges). FAILED_PRECONDITION when the range is taken or none is free.
 */
export function placeBuckets(experiment: ExperimentRecord, running: readonly ExperimentRecord[]): { start: number; end: number } {
  const size = bucketCount(experiment.trafficPercent);
  const taken = running.flatMap((r) => (r.buckets ? [{ ...r.buckets, id: r.id }] : [])).sort((a, b) => a.start - b.start);
  if (experiment.placementStart !== null) {
    const range = { start: experiment.placementStart, end: experiment.placementStart + size };
    const clash = taken.find((t) => rangesOverlap(t, range));
    if (clash)
      throw overlapError(
        range,
        running.find((r) => r.id === clash.id)!,
      );
    return range;
  }
  let start = 0;
  for (const t of taken) {
    if (t.start - start >= size) break;
    start = Math.max(start, t.end);
  }
  if (start + size > BUCKETS) {
    const free = BUCKETS - taken.reduce((s, t) => s + (t.end - t.start), 0);
    throw grpcErrors.failedPrecondition(
      `layer ${experiment.layer} has no free range of ${size} buckets (${experiment.trafficPercent} %); ${free} buckets are free in all`,
      'traffic_percent',
    );
  }
  return { start, end: start + size };
}

function overlapError(range: { start: number; end: number }, clash: ExperimentRecord) {
  return grpcErrors.failedPrecondition(
    `buckets [${range.start}, ${range.end}) overlap those of running experiment ${clash.id} ([${clash.buckets?.start}, ${clash.buckets?.end})) in layer ${clash.layer}`,
    'experiment.placement.start',
  );
}
