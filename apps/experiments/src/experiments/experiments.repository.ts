import type { ExperimentRecord, NewExperiment, Status } from './experiment';

/** Thrown by `insert` when the id is taken. */
export class ExperimentExistsError extends Error {}

/**
 * Chooses the buckets of an experiment that is starting, given the RUNNING experiments of its layer (read under
 * the layer's lock, so two starts in one layer never both take a range); throws to refuse the start.
 */
export type PlaceBuckets = (experiment: ExperimentRecord, running: readonly ExperimentRecord[]) => { start: number; end: number };

/** The store of experiments; `*.pg.repository.ts` is its adapter. */
export abstract class ExperimentsRepository {
  /** Stores a new DRAFT experiment; `ExperimentExistsError` when the id is taken. */
  abstract insert(experiment: NewExperiment): Promise<ExperimentRecord>;
  abstract get(id: string): Promise<ExperimentRecord | undefined>;
  /** Newest first. */
  abstract list(filter: { status?: Status; layer?: string }): Promise<ExperimentRecord[]>;
  /**
   * DRAFT → RUNNING with the buckets `place` chooses, atomically with respect to other starts in the layer.
   * Returns undefined for an unknown id; the record unchanged when it is not DRAFT (the caller says why).
   */
  abstract start(id: string, at: number, place: PlaceBuckets): Promise<{ record: ExperimentRecord; started: boolean } | undefined>;
  /** DRAFT or RUNNING → STOPPED; as `start`, `started` meaning it was stopped by this call. */
  abstract stop(id: string, at: number, reason: string): Promise<{ record: ExperimentRecord; stopped: boolean } | undefined>;
}
