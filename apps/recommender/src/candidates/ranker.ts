import { recsV1 } from '@pulse/contracts';

const { CandidateSource } = recsV1;

/** A candidate as the sources found it, then enriched for ranking. */
export interface Candidate {
  id: string;
  sources: Set<recsV1.CandidateSource>;
  /** 0-based rank among the model's candidates (lower is better); absent when the model did not propose it. */
  modelRank?: number;
  modelScore?: number;
  /** 0-based rank by popularity, for the popular items that fill the list of a user without history. */
  popularRank?: number;
  createdAtMs?: number;
  /** For a tag-matched post: the share of the user's recently engaged posts that carry its tag, in [0, 1]. */
  contentAffinity?: number;
  /** Engagement of the post over the last closed hour (feature store post_engagement_1h), when known. */
  engagements?: number;
  ctr?: number;
}

/**
 * The ranking function, a weighted sum (all weights configurable, RECS_RANK_WEIGHTS):
 *
 *   score = model · (1 − modelRank / N)              the model's opinion, as a rank (scores of models differ in scale)
 *         + popular · (1 − popularRank / P)          for a user without history, the model's popularity order
 *         + engagement · log(1 + engagements_1h) / log(1 + E)   E = the most engaged candidate of the call
 *         + ctr · ctr_1h                             clicks per impression over the last hour
 *         + freshness · 0.5^(age / 24 h)             new posts first, all else equal
 *         + following · [a followed account's post]
 *         + content · affinity                       share of the user's recently engaged posts with its tag
 *         + trending · [trending now]
 *
 * The terms are in [0, 1] before weighting, so the weights read as relative importance.
 */
export const DEFAULT_RANK_WEIGHTS = {
  model: 1,
  popular: 0.5,
  engagement: 0.3,
  ctr: 0.3,
  freshness: 0.2,
  following: 1,
  content: 1,
  trending: 0.15,
};

export type RankWeights = typeof DEFAULT_RANK_WEIGHTS;

export function parseRankWeights(text: string): RankWeights {
  const weights: RankWeights = { ...DEFAULT_RANK_WEIGHTS };
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([a-z]+)=(\d+(?:\.\d+)?)$/.exec(entry);
    if (!match || !(match[1] in weights))
      throw new Error(`"${entry}" is not name=weight with name one of ${Object.keys(weights).join(', ')}`);
    weights[match[1] as keyof RankWeights] = Number(match[2]);
  }
  return weights;
}

const DAY_MS = 86_400_000;

/** Scores every candidate with the ranking function and returns them best first (ties: newer first, then id). */
export function rank(
  candidates: readonly Candidate[],
  weights: RankWeights,
  modelCandidates: number,
  nowMs: number,
): { candidate: Candidate; score: number }[] {
  const maxEngagement = Math.max(0, ...candidates.map((c) => c.engagements ?? 0));
  const popular = Math.max(1, ...candidates.map((c) => (c.popularRank ?? 0) + 1));
  const scored = candidates.map((c) => {
    let score = 0;
    if (c.modelRank !== undefined) score += weights.model * (1 - c.modelRank / Math.max(1, modelCandidates));
    if (c.popularRank !== undefined) score += weights.popular * (1 - c.popularRank / popular);
    if (c.engagements !== undefined && maxEngagement > 0)
      score += (weights.engagement * Math.log1p(c.engagements)) / Math.log1p(maxEngagement);
    if (c.ctr !== undefined && Number.isFinite(c.ctr)) score += weights.ctr * Math.min(1, Math.max(0, c.ctr));
    if (c.createdAtMs !== undefined) score += weights.freshness * Math.pow(0.5, Math.max(0, nowMs - c.createdAtMs) / DAY_MS);
    if (c.sources.has(CandidateSource.CANDIDATE_SOURCE_FOLLOWING)) score += weights.following;
    if (c.sources.has(CandidateSource.CANDIDATE_SOURCE_CONTENT)) score += weights.content * (c.contentAffinity ?? 1);
    if (c.sources.has(CandidateSource.CANDIDATE_SOURCE_TRENDING)) score += weights.trending;
    return { candidate: c, score };
  });
  return scored.sort(
    (a, b) =>
      b.score - a.score || (b.candidate.createdAtMs ?? 0) - (a.candidate.createdAtMs ?? 0) || a.candidate.id.localeCompare(b.candidate.id),
  );
}

/** The sources of a candidate, most important first (the order of the enum is not a priority). */
const SOURCE_PRIORITY = [
  CandidateSource.CANDIDATE_SOURCE_FOLLOWING,
  CandidateSource.CANDIDATE_SOURCE_MODEL,
  CandidateSource.CANDIDATE_SOURCE_CONTENT,
  CandidateSource.CANDIDATE_SOURCE_TRENDING,
  CandidateSource.CANDIDATE_SOURCE_POPULAR,
];

export function orderedSources(sources: ReadonlySet<recsV1.CandidateSource>): recsV1.CandidateSource[] {
  return SOURCE_PRIORITY.filter((s) => sources.has(s));
}
