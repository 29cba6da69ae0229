import { type CreateTableOptions, utcDate } from '@pulse/lake';
import type { ExposureResult } from './exposure-join';

export const EXPOSURES_TABLE = { name: 'experiments_exposures', path: 'experiments/exposures' };

/**
 * experiments/exposures: one row per list served in an experiment, with the outcomes attributed to it within the
 * attribution window; partitioned by experiment and the UTC date it was served. The experiments service reads it.
 */
export function exposuresTable(targetFileSize: number, checkpointInterval: number): CreateTableOptions {
  return {
    name: EXPOSURES_TABLE.name,
    description: 'Lists served in experiments (pulse.recs.served.v1) with their outcomes (pulse.activity.tracked.v1), one row per exposure',
    columns: [
      { name: 'recommendation_id', type: 'string', nullable: false },
      { name: 'variant', type: 'string', nullable: false },
      { name: 'user_id', type: 'string', nullable: false },
      { name: 'served_at', type: 'timestamp', nullable: false },
      { name: 'model_version', type: 'string' },
      { name: 'strategy', type: 'string' },
      { name: 'items', type: 'string', nullable: false },
      { name: 'item_count', type: 'integer', nullable: false },
      { name: 'impressions', type: 'long', nullable: false },
      { name: 'views', type: 'long', nullable: false },
      { name: 'clicks', type: 'long', nullable: false },
      { name: 'likes', type: 'long', nullable: false },
      { name: 'comments', type: 'long', nullable: false },
      { name: 'shares', type: 'long', nullable: false },
      { name: 'bookmarks', type: 'long', nullable: false },
      { name: 'hides', type: 'long', nullable: false },
      { name: 'dwell_ms', type: 'long', nullable: false },
      { name: 'first_outcome_at', type: 'timestamp' },
      { name: 'last_outcome_at', type: 'timestamp' },
      { name: 'window_end', type: 'timestamp', nullable: false },
      { name: 'late_exposure', type: 'boolean', nullable: false },
      { name: 'emitted_at', type: 'timestamp', nullable: false },
      { name: 'experiment_id', type: 'string', nullable: false },
      { name: 'served_date', type: 'date', nullable: false },
    ],
    partitionColumns: ['experiment_id', 'served_date'],
    configuration: {
      'delta.checkpointInterval': String(checkpointInterval),
      'delta.deletedFileRetentionDuration': 'interval 7 days',
      'pulse.targetFileSize': String(targetFileSize),
    },
  };
}

/** The row of an exposure, in the table's column order. */
export function exposureRow(e: ExposureResult, now: number) {
  const c = e.counts;
  return [
    e.recommendationId,
    e.variant,
    e.userId,
    e.servedAt,
    e.modelVersion || null,
    e.strategy || null,
    e.items,
    e.itemCount,
    c.IMPRESSION,
    c.VIEW,
    c.CLICK,
    c.LIKE,
    c.COMMENT,
    c.SHARE,
    c.BOOKMARK,
    c.HIDE,
    e.dwellMs,
    e.firstOutcomeAt,
    e.lastOutcomeAt,
    e.windowEnd,
    e.lateExposure,
    now,
    e.experimentId,
    utcDate(e.servedAt),
  ];
}
