/** The table properties (metaData.configuration) that Pulse honours, with Delta's defaults. */

import type { MetadataAction } from './actions';
import type { DeltaSnapshot } from './table-state';

const DEFAULT_CHECKPOINT_INTERVAL = 10;
export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
const DEFAULT_LOG_RETENTION_MS = 30 * 24 * 3600 * 1000;
const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;

/** `delta.checkpointInterval`: a checkpoint every this many commits. */
export function checkpointInterval(metadata: MetadataAction | undefined): number {
  return Number(metadata?.configuration['delta.checkpointInterval'] ?? DEFAULT_CHECKPOINT_INTERVAL);
}

/** `pulse.targetFileSize`: the size, bytes, of the data files written and compacted to. */
export function targetFileSize(snapshot: DeltaSnapshot): number {
  return Number(snapshot.metadata.configuration['pulse.targetFileSize'] ?? DEFAULT_TARGET_FILE_SIZE);
}

/** `delta.deletedFileRetentionDuration`: how long removed files stay for readers of older versions. */
export function retentionMs(snapshot: DeltaSnapshot): number {
  return intervalMs(snapshot.metadata.configuration['delta.deletedFileRetentionDuration']) ?? DEFAULT_RETENTION_MS;
}

/** `delta.logRetentionDuration`: how long log files before a checkpoint stay. */
export function logRetentionMs(snapshot: DeltaSnapshot): number {
  return intervalMs(snapshot.metadata.configuration['delta.logRetentionDuration']) ?? DEFAULT_LOG_RETENTION_MS;
}

/** A Delta table property duration (`interval 7 days`) in ms; undefined when absent or not understood. */
function intervalMs(value: string | undefined): number | undefined {
  const match = value?.match(/^interval\s+(\d+)\s+(second|minute|hour|day|week)s?$/i);
  if (!match) return undefined;
  const unit = { second: 1e3, minute: 6e4, hour: 36e5, day: 864e5, week: 6048e5 }[match[2].toLowerCase() as 'second'];
  return Number(match[1]) * unit;
}
