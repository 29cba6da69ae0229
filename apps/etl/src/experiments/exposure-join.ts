/** A served list, as the join reads it (pulse.recs.served.v1). */
export interface ServedFacts {
  recommendationId: string;
  experimentId: string;
  variant: string;
  userId: string;
  servedAt: number;
  modelVersion: string;
  strategy: string;
  /** The items as JSON (bronze/recs_served's format). */
  items: string;
  itemCount: number;
}

/** An activity carrying a recommendation_id, as the join reads it (pulse.activity.tracked.v1). */
export interface OutcomeFacts {
  recommendationId: string;
  /** VIEW, IMPRESSION, CLICK, LIKE, COMMENT, SHARE, BOOKMARK or HIDE. */
  type: string;
  occurredAt: number;
  /** properties.dwell_ms of a VIEW; 0 otherwise. */
  dwellMs: number;
}

/** The activity types that are outcomes of a served list; others carrying a recommendation_id are not counted. */
export const OUTCOME_TYPES = ['IMPRESSION', 'VIEW', 'CLICK', 'LIKE', 'COMMENT', 'SHARE', 'BOOKMARK', 'HIDE'] as const;

/** What happened to an outcome: attributed, or why not (each is counted; none is dropped unseen). */
export type OutcomeDisposition =
  | 'matched'
  /** Its list is an experiment's, but it happened after the attribution window. */
  | 'outside_window'
  /** Its list is not in any experiment. */
  | 'not_in_experiment'
  /** It arrived after the watermark passed it by more than the allowed lateness (its list may be written already). */
  | 'late'
  /** No list with its recommendation_id was seen within the allowed lateness. */
  | 'no_exposure';

export const DISPOSITIONS: readonly OutcomeDisposition[] = ['matched', 'outside_window', 'not_in_experiment', 'late', 'no_exposure'];

/** One exposure with its outcomes: a row of experiments/exposures. */
export interface ExposureResult extends ServedFacts {
  windowEnd: number;
  counts: Record<(typeof OUTCOME_TYPES)[number], number>;
  dwellMs: number;
  firstOutcomeAt: number | null;
  lastOutcomeAt: number | null;
  /** The exposure itself arrived after its window had closed (written at once with what was pending for it). */
  lateExposure: boolean;
}

export interface JoinEmission {
  exposures: ExposureResult[];
  outcomes: Record<OutcomeDisposition, number>;
  watermark: number | null;
}

/** The serialised state of the join, stored with the offsets it covers. */
export interface ExposureJoinState {
  version: 1;
  maxEventTime: number | null;
  watermark: number | null;
  open: ExposureResult[];
  others: [recommendationId: string, windowEnd: number][];
  pending: OutcomeFacts[];
}

const emptyCounts = (): ExposureResult['counts'] => ({
  IMPRESSION: 0,
  VIEW: 0,
  CLICK: 0,
  LIKE: 0,
  COMMENT: 0,
  SHARE: 0,
  BOOKMARK: 0,
  HIDE: 0,
});

/**
 * Joins served lists of experiments with the outcomes that carry their recommendation_id, in event time: an
 * outcome counts for its list when it happened before served_at + the attribution window. The watermark (max
 * event time seen − delay, advanced after each batch, as the window aggregates do) closes a list once it passes
 * the end of its window plus the allowed lateness; the list is then emitted once with its counts. Outcomes that
 * come before their list wait (until the watermark passes them by the lateness); outcomes of lists outside
 * experiments, after the window, behind the watermark or without any list are counted by disposition. A list
 * that comes after its own window closed is emitted at once (an exposure is never dropped). Deterministic: the
 * same batches from the same state give the same results.
 */
export class ExposureJoin {
  private readonly open = new Map<string, ExposureResult>();
  private readonly others = new Map<string, number>();
  private readonly pending = new Map<string, OutcomeFacts[]>();
  private maxEventTime: number | null = null;
  private watermark: number | null = null;

  constructor(
    private readonly windowMs: number,
    private readonly delayMs: number,
    private readonly allowedLatenessMs: number,
  ) {}

  watermarkMs(): number | null {
    return this.watermark;
  }

  openExposures(): number {
    return this.open.size;
  }

  process(events: readonly ({ served: ServedFacts } | { outcome: OutcomeFacts })[]): JoinEmission {
    const outcomes = Object.fromEntries(DISPOSITIONS.map((d) => [d, 0])) as Record<OutcomeDisposition, number>;
    const exposures: ExposureResult[] = [];
    for (const event of events) {
      const t = 'served' in event ? event.served.servedAt : event.outcome.occurredAt;
      this.maxEventTime = this.maxEventTime === null ? t : Math.max(this.maxEventTime, t);
      if ('served' in event) this.addServed(event.served, outcomes, exposures);
      else {
        const disposition = this.addOutcome(event.outcome);
        if (disposition) outcomes[disposition]++;
      }
    }
    if (this.maxEventTime !== null) {
      const candidate = this.maxEventTime - this.delayMs;
      this.watermark = this.watermark === null ? candidate : Math.max(this.watermark, candidate);
    }
    for (const [id, e] of [...this.open]) {
      if (this.closed(e.windowEnd)) {
        exposures.push(e);
        this.open.delete(id);
      }
    }
    for (const [id, end] of [...this.others]) if (this.closed(end)) this.others.delete(id);
    for (const [id, list] of [...this.pending]) {
      const keep = list.filter((o) => !this.closed(o.occurredAt));
      outcomes.no_exposure += list.length - keep.length;
      if (keep.length === 0) this.pending.delete(id);
      else this.pending.set(id, keep);
    }
    exposures.sort((a, b) => a.servedAt - b.servedAt || (a.recommendationId < b.recommendationId ? -1 : 1));
    return { exposures, outcomes, watermark: this.watermark };
  }

  snapshot(): ExposureJoinState {
    return {
      version: 1,
      maxEventTime: this.maxEventTime,
      watermark: this.watermark,
      open: [...this.open.values()],
      others: [...this.others],
      pending: [...this.pending.values()].flat(),
    };
  }

  restore(state: ExposureJoinState): void {
    if (state.version !== 1) throw new Error(`unknown exposure join state version ${String(state.version)}`);
    this.open.clear();
    this.others.clear();
    this.pending.clear();
    this.maxEventTime = state.maxEventTime;
    this.watermark = state.watermark;
    for (const e of state.open) this.open.set(e.recommendationId, e);
    for (const [id, end] of state.others) this.others.set(id, end);
    for (const o of state.pending) this.pending.set(o.recommendationId, [...(this.pending.get(o.recommendationId) ?? []), o]);
  }

  /** Whether the watermark has passed a time by the allowed lateness. */
  private closed(t: number): boolean {
    return this.watermark !== null && t + this.allowedLatenessMs <= this.watermark;
  }

  private addServed(served: ServedFacts, outcomes: Record<OutcomeDisposition, number>, exposures: ExposureResult[]): void {
    const id = served.recommendationId;
    if (this.open.has(id) || this.others.has(id)) return; // a list is published once; a repeat adds nothing
    const windowEnd = served.servedAt + this.windowMs;
    const waiting = this.pending.get(id) ?? [];
    this.pending.delete(id);
    if (!served.experimentId || !served.variant) {
      this.others.set(id, windowEnd);
      outcomes.not_in_experiment += waiting.length;
      return;
    }
    const exposure: ExposureResult = {
      ...served,
      windowEnd,
      counts: emptyCounts(),
      dwellMs: 0,
      firstOutcomeAt: null,
      lastOutcomeAt: null,
      lateExposure: false,
    };
    for (const o of waiting) outcomes[attribute(exposure, o)]++;
    if (this.closed(windowEnd)) {
      exposure.lateExposure = true;
      exposures.push(exposure);
    } else this.open.set(id, exposure);
  }

  /** The outcome's disposition, or null while it waits for its list (it is counted when decided). */
  private addOutcome(o: OutcomeFacts): OutcomeDisposition | null {
    const exposure = this.open.get(o.recommendationId);
    if (exposure) return attribute(exposure, o);
    if (this.others.has(o.recommendationId)) return 'not_in_experiment';
    if (this.closed(o.occurredAt)) return 'late';
    const list = this.pending.get(o.recommendationId);
    if (list) list.push(o);
    else this.pending.set(o.recommendationId, [o]);
    return null;
  }
}

function attribute(exposure: ExposureResult, o: OutcomeFacts): OutcomeDisposition {
  if (o.occurredAt >= exposure.windowEnd) return 'outside_window';
  exposure.counts[o.type as keyof ExposureResult['counts']]++;
  exposure.dwellMs += o.dwellMs;
  exposure.firstOutcomeAt = exposure.firstOutcomeAt === null ? o.occurredAt : Math.min(exposure.firstOutcomeAt, o.occurredAt);
  exposure.lastOutcomeAt = exposure.lastOutcomeAt === null ? o.occurredAt : Math.max(exposure.lastOutcomeAt, o.occurredAt);
  return 'matched';
}
