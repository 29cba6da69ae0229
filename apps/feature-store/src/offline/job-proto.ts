import { featuresV1, millisToTimestamp, type ProtoTimestamp } from '@pulse/contracts';
import type { JobStateName } from './jobs.pg.repository';

const { JobState } = featuresV1;

export function jobState(state: JobStateName): featuresV1.JobState {
  return JobState[`JOB_STATE_${state}`];
}

export function timestamp(ms: number | undefined): ProtoTimestamp | undefined {
  return ms === undefined ? undefined : millisToTimestamp(ms);
}
