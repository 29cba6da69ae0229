import { ingestV1, millisToTimestamp, Topics } from '@pulse/contracts';
import { DeltaTable } from '@pulse/lake';
import { createLogger, type IncomingRecord, type KafkaClient } from '@pulse/platform';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ACTIVITY_AGGREGATES, aggregateTable } from './aggregate-definitions';
import { AggregateStream } from './aggregate-stream';
import { type LocalLake, withLocalLake } from '../testing/local-lake';
import { type ErasedUsers } from '../streams/erasure-follower';
import { WindowAggregator } from './window-aggregator';

const T0 = Date.UTC(2024, 5, 1, 10);
const MIN = 60_000;
const sessions = ACTIVITY_AGGREGATES.find((d) => d.name === 'user_sessions')!;

let offset = 0n;
function view(userId: string, atMs: number): IncomingRecord<string, ingestV1.ActivityTracked> {
  const event = {
    eventId: `e${offset}`,
    userId,
    type: ingestV1.ActivityType.ACTIVITY_TYPE_VIEW,
    target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: 'p1' },
    occurredAt: millisToTimestamp(atMs),
  };
  return {
    topic: Topics.activityTracked.name,
    partition: 0,
    offset: offset++,
    timestampMs: atMs,
    key: userId,
    value: { event } as unknown as ingestV1.ActivityTracked,
    headers: {},
  };
}

/** The user_sessions stream over a new table of the lake. */
async function sessionsStream({ storage, engine }: LocalLake, erased: ErasedUsers = { has: () => false }) {
  const table = await DeltaTable.create(storage, 'agg/user_sessions', aggregateTable(sessions, 1 << 20, 10), { engine });
  const stream = new AggregateStream(
    sessions,
    table,
    new WindowAggregator(sessions, 0, 0),
    Topics.activityTracked,
    Topics.activityLate,
    { producer: { sendMany: async () => undefined } } as unknown as KafkaClient,
    createLogger('etl-test', 'silent'),
    { clusterId: async () => 'cluster-a' },
    erased,
  );
  await stream.restore();
  return { table, stream };
}

describe('AggregateStream', () => {
  it('leaves no window state naming an erased user, also when the user’s windows closed before the erasure', () =>
    withLocalLake(async (lake) => {
      const erased = new Set<string>();
      const { stream } = await sessionsStream(lake, { has: (userId) => !!userId && erased.has(userId) });
      const stateDir = join(lake.root, 'agg/user_sessions/_pulse_state', stream.name);
      const statesNaming = async (userId: string) => {
        const names = await readdir(stateDir);
        const texts = await Promise.all(names.map((n) => readFile(join(stateDir, n), 'utf8')));
        return { states: names.length, naming: texts.filter((t) => t.includes(`"${userId}"`)).length };
      };

      // A session of "leaving" is open in the first batch's state; the second batch (an hour on) closes it: its
      // final row is in the table, and the state of the commit before still holds the window.
      await stream.process([view('leaving', T0), view('staying', T0 + MIN)]);
      await stream.process([view('staying', T0 + 60 * MIN)]);
      expect(await statesNaming('leaving')).toEqual({ states: 2, naming: 1 });

      // The user is erased (the lake's own erasure deletes the final row); the idle stream's check drops the rest.
      erased.add('leaving');
      expect(await stream.forgetErased()).toBe(0); // no open window of the user left in memory
      expect(await statesNaming('leaving')).toEqual({ states: 1, naming: 0 });
      // What is left restores the stream: the open session of "staying" is there.
      const restored = new WindowAggregator(sessions, 0, 0);
      restored.restore(JSON.parse(await readFile(join(stateDir, (await readdir(stateDir))[0]), 'utf8')));
      expect(restored.openWindows()).toBe(1);
    }));

  it('counts a record the consumer handed twice in one batch once', () =>
    withLocalLake(async (lake) => {
      const { table, stream } = await sessionsStream(lake);
      const first = view('u1', T0);
      const second = view('u1', T0 + MIN);
      expect(await stream.process([first, second, second])).toMatchObject({ skipped: 1 });
      await stream.process([view('u2', T0 + 120 * MIN)]); // the session of u1 closes
      const [row] = await lake.engine.query<{ events: number }>(
        `SELECT events::INT AS events FROM ${await table.scanSql(await table.refresh())}`,
      );
      expect(row).toEqual({ events: 2 });
    }));
});
