import { recsV1 } from '@pulse/contracts';
import { type Candidate, DEFAULT_RANK_WEIGHTS, parseRankWeights, rank } from './ranker';

const { CandidateSource } = recsV1;
const NOW = 1_700_000_000_000;
const candidate = (id: string, extra: Partial<Candidate> = {}): Candidate => ({ id, sources: new Set(), ...extra });

describe('ranker', () => {
  it('follows the model when nothing else differs', () => {
    const ranked = rank([candidate('b', { modelRank: 5 }), candidate('a', { modelRank: 0 })], DEFAULT_RANK_WEIGHTS, 10, NOW);
    expect(ranked.map((r) => r.candidate.id)).toEqual(['a', 'b']);
  });

  it('lifts a fresh post of a followed account above a middling model pick', () => {
    const followed = candidate('new', { createdAtMs: NOW - 60_000, sources: new Set([CandidateSource.CANDIDATE_SOURCE_FOLLOWING]) });
    const middling = candidate('old', { modelRank: 60, createdAtMs: NOW - 30 * 86_400_000 });
    expect(rank([middling, followed], DEFAULT_RANK_WEIGHTS, 100, NOW)[0].candidate.id).toBe('new');
  });

  it('prefers engagement when the model and age tie, on a log scale', () => {
    const ranked = rank([candidate('quiet', { engagements: 1 }), candidate('busy', { engagements: 100 })], DEFAULT_RANK_WEIGHTS, 10, NOW);
    expect(ranked[0].candidate.id).toBe('busy');
    expect(ranked[0].score).toBeCloseTo(DEFAULT_RANK_WEIGHTS.engagement, 10);
  });

  it("weighs a tag-matched post by the share of the user's recent posts with its tag", () => {
    const content = new Set([CandidateSource.CANDIDATE_SOURCE_CONTENT]);
    const ranked = rank(
      [candidate('some', { sources: content, contentAffinity: 0.2 }), candidate('all', { sources: content, contentAffinity: 1 })],
      DEFAULT_RANK_WEIGHTS,
      10,
      NOW,
    );
    expect(ranked.map((r) => r.candidate.id)).toEqual(['all', 'some']);
    expect(ranked[0].score).toBeCloseTo(DEFAULT_RANK_WEIGHTS.content, 10);
    expect(ranked[1].score).toBeCloseTo(DEFAULT_RANK_WEIGHTS.content * 0.2, 10);
  });

  it('reads weights from configuration and names a bad one', () => {
    expect(parseRankWeights('model=2,trending=0')).toMatchObject({ model: 2, trending: 0, content: DEFAULT_RANK_WEIGHTS.content });
    expect(() => parseRankWeights('popularity=1')).toThrow(/popularity=1/);
  });
});
