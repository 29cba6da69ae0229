import { millisToTimestamp, recsV1, Topics } from '@pulse/contracts';
import { rm } from 'node:fs/promises';
import { type EtlRun, newRun, queryTable, startEtl, testKafka, waitFor } from './etl-test-kit';

const { CandidateSource, Strategy } = recsV1;
const kafka = testKafka('served-bronze');
const run: EtlRun = newRun();
const topic = { ...Topics.recsServed, name: run.env.ETL_SERVED_TOPIC };

afterAll(async () => {
  await kafka.close();
  await rm(run.lakeRoot, { recursive: true, force: true });
});

function served(id: string, at: number): recsV1.RecommendationServed {
  return {
    recommendationId: id,
    userId: 'u-7',
    seedItemId: '',
    items: [
      { itemId: 'p-1', score: 1.5, rank: 1, sources: [CandidateSource.CANDIDATE_SOURCE_FOLLOWING, CandidateSource.CANDIDATE_SOURCE_MODEL] },
      { itemId: 'p-2', score: 0.9, rank: 2, sources: [CandidateSource.CANDIDATE_SOURCE_TRENDING] },
    ],
    modelVersion: 'v-1',
    strategy: Strategy.STRATEGY_PERSONALIZED,
    context: { surface: 'home_feed' },
    servedAt: millisToTimestamp(at),
    experimentId: 'exp-1',
    variant: 'treatment',
    degraded: [],
  };
}

describe('bronze table of served recommendation lists', () => {
  it('lands each list once with its items, positions and sources, partitioned by the day it was served', async () => {
    await kafka.admin.ensureTopics([topic]);
    const app = await startEtl(run, { ETL_AGGREGATE_STREAMS: 'false' });
    try {
      const at = Date.UTC(2024, 6, 1, 10, 0, 0);
      await kafka.producer.send(topic, [
        { key: 'r-1', value: served('r-1', at) },
        { key: 'r-2', value: served('r-2', at + 1000) },
      ]);
      const rows = await waitFor(
        () =>
          queryTable<{
            recommendation_id: string;
            items: string;
            item_count: number;
            variant: string;
            strategy: string;
            served_date: string;
          }>(
            run,
            'bronze/recs_served',
            'SELECT recommendation_id, items, item_count, variant, strategy, served_date::VARCHAR AS served_date FROM {t} ORDER BY recommendation_id',
          ).catch(() => []),
        (r) => r.length >= 2,
      );
      expect(rows.map((r) => [r.recommendation_id, r.item_count, r.variant, r.strategy, r.served_date])).toEqual([
        ['r-1', 2, 'treatment', 'PERSONALIZED', '2024-07-01'],
        ['r-2', 2, 'treatment', 'PERSONALIZED', '2024-07-01'],
      ]);
      expect(JSON.parse(rows[0].items)).toEqual([
        { item_id: 'p-1', rank: 1, score: 1.5, sources: ['FOLLOWING', 'MODEL'] },
        { item_id: 'p-2', rank: 2, score: 0.9, sources: ['TRENDING'] },
      ]);
    } finally {
      await app.close();
      await kafka.admin.deleteTopics([topic.name]).catch(() => undefined);
    }
  });
});
