import { ErasureList, LOCAL_SUBJECT_KEY, subjectHash } from '@pulse/platform';
import type { Peers, PeopleYouMayKnow } from '../candidates/peers';
import type { RecommenderConfig } from '../config/recommender.config';
import { PeopleService } from './people.service';

const list: PeopleYouMayKnow = {
  candidates: ['bob', 'cid', 'dan', 'eve'],
  scores: [4, 3, 2, 1],
  commonConnections: [4, 3, 2, 1],
  computedAt: { seconds: 1_700_000_000, nanos: 0 },
};

function service(peers: Partial<Pick<Peers, 'peopleYouMayKnow' | 'following' | 'blocked'>>, erased: string[] = []) {
  const erasures = new ErasureList({
    kafka: undefined as never,
    subjectKey: LOCAL_SUBJECT_KEY,
    logger: undefined as never,
    service: 'test',
  });
  for (const id of erased) erasures.add(subjectHash(LOCAL_SUBJECT_KEY, id));
  return new PeopleService({ blocked: async () => new Set<string>(), ...peers } as Peers, erasures, {
    RECS_SOURCE_BUDGET: 100,
  } as RecommenderConfig);
}

describe('PeopleService', () => {
  it('leaves out erased users and the accounts the user follows now', async () => {
    const people = service({ peopleYouMayKnow: async () => list, following: async () => ['cid'] }, ['dan']);
    const response = await people.recommendUsers({ userId: 'ada', numResults: 0 });
    expect(response.users.map((u) => u.userId)).toEqual(['bob', 'eve']);
    expect(response.computedAt).toEqual({ seconds: 1_700_000_000, nanos: 0 });
  });

  it('leaves out users blocked either way now', async () => {
    const people = service({ peopleYouMayKnow: async () => list, following: async () => [], blocked: async () => new Set(['bob', 'eve']) });
    const response = await people.recommendUsers({ userId: 'ada', numResults: 0 });
    expect(response.users.map((u) => u.userId)).toEqual(['cid', 'dan']);
  });

  it('answers none, with the reason, when storage cannot say whom the user blocked: a block holds whatever the latency', async () => {
    const people = service({
      peopleYouMayKnow: async () => list,
      following: async () => [],
      blocked: async () => {
        throw new Error('storage: deadline exceeded after 100 ms');
      },
    });
    const response = await people.recommendUsers({ userId: 'ada', numResults: 0 });
    expect(response).toMatchObject({ users: [], fallbackReason: 'storage did not say whom the user blocked or is blocked by' });
    expect(response.degraded).toEqual([{ dependency: 'storage', reason: 'blocks: storage: deadline exceeded after 100 ms' }]);
  });

  it('serves the list without the follow filter when storage does not answer ListFollowing, and says so', async () => {
    const people = service({
      peopleYouMayKnow: async () => list,
      following: async () => {
        throw new Error('storage: deadline exceeded after 100 ms');
      },
    });
    const response = await people.recommendUsers({ userId: 'ada', numResults: 2 });
    expect(response.users.map((u) => u.userId)).toEqual(['bob', 'cid']);
    expect(response.degraded).toEqual([{ dependency: 'storage', reason: 'storage: deadline exceeded after 100 ms' }]);
  });

  it('answers none, with the reason, when the feature store does not answer', async () => {
    const people = service({
      peopleYouMayKnow: async () => {
        throw new Error('feature-store: circuit open');
      },
      following: async () => [],
    });
    const response = await people.recommendUsers({ userId: 'ada', numResults: 0 });
    expect(response).toMatchObject({ users: [], fallbackReason: 'the feature store did not answer' });
    expect(response.degraded).toEqual([{ dependency: 'feature-store', reason: 'feature-store: circuit open' }]);
  });
});
