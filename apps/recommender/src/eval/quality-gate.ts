import type { IdMap } from '../data/id-map';
import { ItemPopModel } from '../models/item-pop.model';
import type { Recommender } from '../models/model';
import type { GateRecord, LoadedModel } from '../registry/model-registry';
import type { PreparedData } from './experiment';
import { evaluateFullRank, evaluateSampled, type FullRankMetrics, type SampledMetrics } from './metrics';

/** The metrics the gate compares: the 1 + 99 protocol's HR@10 or NDCG@10 on the temporal hold-out. */
export const GATE_METRICS = ['hr@10', 'ndcg@10'] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

export interface GateSettings {
  metric: GateMetric;
  /** How much the candidate must improve on the promoted version's metric (absolute). */
  margin: number;
}

/** One model on the gate's hold-out: the sampled protocol and full-rank metrics. */
export interface GateScores {
  sampled: SampledMetrics;
  fullRank: FullRankMetrics;
}

export interface GateEvaluation {
  candidate: GateScores;
  /** ItemPop trained on the same training part. */
  baseline: GateScores;
  /** The version promoted when the gate ran, scored on the same hold-out; undefined when none was. */
  promoted?: GateScores & { version: string };
}

type Scorer = Pick<Recommender, 'scorePairs' | 'scoreUser'>;

function scores(model: Scorer, data: PreparedData): GateScores {
  return {
    sampled: evaluateSampled(model, data.split),
    fullRank: evaluateFullRank(model, data.heldOut, data.train.byUser, data.train.numItems),
  };
}

/**
 * A loaded version scoring in another model's id spaces (`users`, `items`: the candidate's), the way serving
 * would answer: a user it knows gets its model's scores, one it does not its popularity (the fallback); an
 * item it does not know it cannot recommend (-Infinity, below every item it knows).
 */
export function scorerInIdSpace(loaded: LoadedModel, users: IdMap, items: IdMap): Scorer {
  const userIndex = Int32Array.from(users.ids, (id) => loaded.users.get(id) ?? -1);
  const itemIndex = Int32Array.from(items.ids, (id) => loaded.items.get(id) ?? -1);
  const inItemSpace = (source: Float32Array) => Float32Array.from(itemIndex, (i) => (i < 0 ? -Infinity : source[i]));
  return {
    scoreUser: (user) => {
      const u = userIndex[user];
      return inItemSpace(u < 0 ? loaded.popularity : loaded.model.scoreUser(u));
    },
    scorePairs: (pairUsers, pairItems) => {
      const out = new Float32Array(pairUsers.length).fill(-Infinity);
      const rows: number[] = [];
      const u: number[] = [];
      const i: number[] = [];
      for (let k = 0; k < pairUsers.length; k++) {
        const item = itemIndex[pairItems[k]];
        if (item < 0) continue;
        const user = userIndex[pairUsers[k]];
        if (user < 0) out[k] = loaded.popularity[item];
        else {
          rows.push(k);
          u.push(user);
          i.push(item);
        }
      }
      if (rows.length > 0) {
        const scored = loaded.model.scorePairs(Int32Array.from(u), Int32Array.from(i));
        rows.forEach((k, n) => (out[k] = scored[n]));
      }
      return out;
    },
  };
}

/**
 * Scores the candidate, ItemPop trained on the same training part, and the promoted version (in the
 * candidate's id spaces) on the candidate's temporal hold-out: each user's latest interaction among 99
 * sampled negatives, and full-rank against every item the user did not interact with in training.
 */
export async function evaluateForGate(candidate: Recommender, data: PreparedData, promoted?: LoadedModel): Promise<GateEvaluation> {
  const pop = new ItemPopModel();
  await pop.fit(data.train);
  const ids = data.trainInteractions;
  return {
    candidate: scores(candidate, data),
    baseline: scores(pop, data),
    promoted: promoted && { version: promoted.record.version, ...scores(scorerInIdSpace(promoted, ids.userIds, ids.itemIds), data) },
  };
}

const value = (s: GateScores, metric: GateMetric) => (metric === 'hr@10' ? s.sampled.hr : s.sampled.ndcg);
const f = (x: number) => x.toFixed(4);

/**
 * The gate's decision: promote when the candidate beats ItemPop and, if a version is promoted, beats it by
 * at least the margin (and at all when the margin is 0); the reason says which comparison decided.
 */
export function gateDecision(evaluation: GateEvaluation, settings: GateSettings, now = new Date()): GateRecord {
  const { metric, margin } = settings;
  const candidate = value(evaluation.candidate, metric);
  const baseline = value(evaluation.baseline, metric);
  const promoted = evaluation.promoted && value(evaluation.promoted, metric);
  const record = (outcome: GateRecord['outcome'], reason: string): GateRecord => ({
    outcome,
    reason,
    metric,
    candidateValue: candidate,
    promotedValue: promoted ?? 0,
    promotedVersion: evaluation.promoted?.version ?? '',
    baselineValue: baseline,
    margin,
    decidedAt: now.toISOString(),
  });
  if (evaluation.candidate.sampled.users === 0) return record('refused', 'no user has a held-out interaction: nothing to evaluate on');
  if (!(candidate > baseline)) return record('refused', `${metric} ${f(candidate)} does not beat ItemPop's ${f(baseline)}`);
  if (promoted === undefined)
    return record('promoted', `${metric} ${f(candidate)} beats ItemPop's ${f(baseline)}; no version was promoted`);
  const gain = candidate - promoted;
  const by = `${gain >= 0 ? '+' : ''}${f(gain)}`;
  const against = `promoted ${evaluation.promoted?.version}'s ${f(promoted)}`;
  if (!(gain > 0 && gain >= margin))
    return record('refused', `${metric} ${f(candidate)} does not beat ${against} by the margin ${margin} (${by})`);
  return record('promoted', `${metric} ${f(candidate)} beats ${against} by ${f(gain)} (margin ${margin}) and ItemPop's ${f(baseline)}`);
}

/** Parses --gate-metric. */
export function parseGateMetric(text: string): GateMetric {
  const metric = text.toLowerCase();
  if (!(GATE_METRICS as readonly string[]).includes(metric))
    throw new Error(`--gate-metric: expected ${GATE_METRICS.join(' or ')}, got "${text}"`);
  return metric as GateMetric;
}
