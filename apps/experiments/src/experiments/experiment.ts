import { experimentsV1, millisToTimestamp } from '@pulse/contracts';

const { ExperimentStatus, Metric, ServingStrategy } = experimentsV1;

export type Status = 'DRAFT' | 'RUNNING' | 'STOPPED';

/** A variant as stored: what it serves is a model version or a serving strategy (by enum name without prefix). */
export interface StoredVariant {
  name: string;
  weight: number;
  control: boolean;
  modelVersion?: string;
  strategy?: 'PROMOTED' | 'POPULAR';
  description: string;
}

/** Analysis settings with the defaults filled in. */
export interface Analysis {
  alpha: number;
  sequential: boolean;
  sequentialTuning: number;
  cupedDisabled: boolean;
  cupedLookbackDays: number;
}

/** An experiment as the service keeps it (a row of `experiments`). */
export interface ExperimentRecord {
  id: string;
  name: string;
  description: string;
  layer: string;
  trafficPercent: number;
  salt: string;
  variants: StoredVariant[];
  /** Metric names without the METRIC_ prefix, e.g. `CTR`. */
  primaryMetric: string;
  guardrailMetrics: string[];
  analysis: Analysis;
  status: Status;
  placementStart: number | null;
  buckets: { start: number; end: number } | null;
  createdAt: number;
  startedAt: number | null;
  stoppedAt: number | null;
  stopReason: string;
}

/** What CreateExperiment stores: a record before it has a state. */
export type NewExperiment = Omit<ExperimentRecord, 'status' | 'buckets' | 'createdAt' | 'startedAt' | 'stoppedAt' | 'stopReason'>;

/** The number of layer buckets a traffic share takes. */
export function bucketCount(trafficPercent: number): number {
  return Math.round(trafficPercent * 100);
}

export function metricName(metric: experimentsV1.Metric): string {
  return (Metric[metric] ?? '').replace(/^METRIC_/, '');
}

export function metricValue(name: string): experimentsV1.Metric {
  const value = (Metric as unknown as Record<string, number>)[`METRIC_${name}`];
  return value ?? Metric.METRIC_UNSPECIFIED;
}

export function statusValue(status: Status): experimentsV1.ExperimentStatus {
  return ExperimentStatus[`EXPERIMENT_STATUS_${status}`];
}

export function statusName(status: experimentsV1.ExperimentStatus): Status | undefined {
  const name = (ExperimentStatus[status] ?? '').replace(/^EXPERIMENT_STATUS_/, '');
  return name === 'DRAFT' || name === 'RUNNING' || name === 'STOPPED' ? name : undefined;
}

/** The experiment as the API returns it. */
export function toProto(e: ExperimentRecord): experimentsV1.Experiment {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    layer: e.layer,
    trafficPercent: e.trafficPercent,
    salt: e.salt,
    variants: e.variants.map((v) => ({
      name: v.name,
      weight: v.weight,
      control: v.control,
      modelVersion: v.modelVersion,
      strategy: v.strategy === undefined ? undefined : ServingStrategy[`SERVING_STRATEGY_${v.strategy}`],
      description: v.description,
    })),
    primaryMetric: metricValue(e.primaryMetric),
    guardrailMetrics: e.guardrailMetrics.map(metricValue),
    status: statusValue(e.status),
    buckets: e.buckets ?? undefined,
    analysis: { ...e.analysis },
    createdAt: millisToTimestamp(e.createdAt),
    startedAt: e.startedAt === null ? undefined : millisToTimestamp(e.startedAt),
    stoppedAt: e.stoppedAt === null ? undefined : millisToTimestamp(e.stoppedAt),
    stopReason: e.stopReason,
    placement: e.placementStart === null ? undefined : { start: e.placementStart },
  };
}
