import type { MetricKind } from './statistics';

/**
 * The fixed set of metrics, each computed from every exposed user's values in experiments/exposures (the user is
 * the unit of randomisation and of analysis). The per-user columns are those of `USER_VALUES_SQL` in
 * exposures.lake.reader.ts: exposures, items (served), clicks, engagements (likes + comments + shares +
 * bookmarks), converted (0/1), hides, dwell_seconds.
 */
export interface MetricDefinition {
  /** As in the Metric enum without METRIC_. */
  name: string;
  kind: MetricKind;
  /** Per-user value (the numerator of a ratio). */
  value: string;
  /** Per-user denominator of a ratio. */
  denominator?: string;
  higherIsBetter: boolean;
  description: string;
}

export const METRICS: readonly MetricDefinition[] = [
  { name: 'CTR', kind: 'ratio', value: 'clicks', denominator: 'items', higherIsBetter: true, description: 'clicks ÷ items served' },
  {
    name: 'ENGAGEMENTS_PER_USER',
    kind: 'mean',
    value: 'engagements',
    higherIsBetter: true,
    description: 'likes, comments, shares and bookmarks per exposed user',
  },
  {
    name: 'CONVERSION',
    kind: 'proportion',
    value: 'converted',
    higherIsBetter: true,
    description: 'share of exposed users with any like, comment, share or bookmark',
  },
  { name: 'HIDE_RATE', kind: 'ratio', value: 'hides', denominator: 'items', higherIsBetter: false, description: 'hides ÷ items served' },
  { name: 'DWELL_PER_USER', kind: 'mean', value: 'dwell_seconds', higherIsBetter: true, description: 'seconds of dwell per exposed user' },
  { name: 'CLICKS_PER_USER', kind: 'mean', value: 'clicks', higherIsBetter: true, description: 'clicks per exposed user' },
];

export function metricDefinition(name: string): MetricDefinition {
  const found = METRICS.find((m) => m.name === name);
  if (!found) throw new Error(`unknown metric ${name}`);
  return found;
}
