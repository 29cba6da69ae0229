import { featuresV1 } from '@pulse/contracts';
import type { JobStateName } from './jobs.pg.repository';

const { JobState } = featuresV1;

export function jobState(state: JobStateName): featuresV1.JobState {
  return JobState[`JOB_STATE_${state}`];
}

export function timestamp(ms: number | undefined): { seconds: number; nanos: number } | undefined {
  return ms === undefined ? undefined : { seconds: Math.floor(ms / 1000), nanos: (((ms % 1000) + 1000) % 1000) * 1e6 };
}

export function toMs(t: { seconds: number | string; nanos?: number } | null | undefined): number | undefined {
  return t ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined;
}
