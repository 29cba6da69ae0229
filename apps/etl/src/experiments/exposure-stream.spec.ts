import { millisToTimestamp, type recsV1, Topics } from '@pulse/contracts';
import { DeltaTable } from '@pulse/lake';
import { createLogger, type IncomingRecord } from '@pulse/platform';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLocalLake } from '../testing/local-lake';
import { ExposureJoin } from './exposure-join';
import { ExposureStream } from './exposure-stream';
import { EXPOSURES_TABLE, exposuresTable } from './exposures-table';

const T0 = Date.UTC(2024, 5, 1, 10);
const HOUR = 3_600_000;

let offset = 0n;
function served(userId: string, atMs: number): IncomingRecord<string, recsV1.RecommendationServed> {
  const value = {
    recommendationId: `r${offset}`,
    experimentId: 'exp-1',
    variant: 'treatment',
    userId,
    servedAt: millisToTimestamp(atMs),
    modelVersion: 'v1',
    items: [],
  } as unknown as recsV1.RecommendationServed;
  return {
    topic: Topics.recsServed.name,
    partition: 0,
    offset: offset++,
    timestampMs: atMs,
    key: value.recommendationId,
    value,
    headers: {},
  };
}

describe('ExposureStream and the erasure list', () => {
  it('drops the open exposures of a user erased while no batch comes, from memory and from every state file', () =>
    withLocalLake(async ({ root, storage, engine }) => {
      const table = await DeltaTable.create(storage, EXPOSURES_TABLE.path, exposuresTable(1 << 20, 10), { engine });
      const erased = new Set<string>();
      const stream = new ExposureStream(
        table,
        new ExposureJoin(HOUR, 0, 0),
        Topics.recsServed,
        Topics.activityTracked,
        { onBatch: () => undefined },
        createLogger('etl-test', 'silent'),
        { clusterId: async () => 'cluster-a' },
        { has: (userId) => !!userId && erased.has(userId) },
      );
      await stream.restore();
      const stateDir = join(root, EXPOSURES_TABLE.path, '_pulse_state', stream.name);
      const statesNaming = async (userId: string) => {
        const names = await readdir(stateDir);
        const texts = await Promise.all(names.map((n) => readFile(join(stateDir, n), 'utf8')));
        return { states: names.length, naming: texts.filter((t) => t.includes(`"${userId}"`)).length };
      };
      // Lists served to both users, in the experiment: their exposures stay open for the attribution window.
      await stream.process([served('leaving', T0), served('staying', T0)]);
      await stream.process([served('staying', T0 + 60_000)]);
      expect(await statesNaming('leaving')).toEqual({ states: 2, naming: 2 });

      erased.add('leaving');
      expect(await stream.forgetErased()).toBe(1);
      expect(await statesNaming('leaving')).toEqual({ states: 1, naming: 0 });
      expect(await statesNaming('staying')).toEqual({ states: 1, naming: 1 });
      // The next batch starts from the rewritten state: the exposure of "leaving" is never written.
      await stream.process([served('staying', T0 + 3 * HOUR)]);
      const [rows] = await engine.query<{ leaving: number; staying: number }>(
        `SELECT count(*) FILTER (WHERE user_id = 'leaving')::INT AS leaving, count(*) FILTER (WHERE user_id = 'staying')::INT AS staying FROM ${await table.scanSql(await table.refresh())}`,
      );
      expect(rows).toEqual({ leaving: 0, staying: 2 });
    }));
});
