import { ingestV1 } from './index';
import { ALL_STATIC_TOPICS, cdcTopic, deadLetterReplayTopic, deadLetterTopic, Topics } from './topics';
import { TOPIC_NAME_PATTERN, defineTopic } from './topic-definition';

describe('topic registry', () => {
  it('names every topic pulse.<entity>.<event>.v<N>, each once', () => {
    const names = ALL_STATIC_TOPICS.map((t) => t.name);
    for (const name of names) expect(name).toMatch(TOPIC_NAME_PATTERN);
    expect(new Set(names).size).toBe(names.length);
    expect(cdcTopic('users').name).toBe('pulse.cdc.users.v1');
  });

  it('names the dead-letter topic of a consumer group after the group, keeping the bytes as they are', () => {
    const topic = deadLetterTopic('storage-activity');
    expect(topic.name).toBe('pulse.deadletter.storage_activity.v1');
    expect(deadLetterTopic('etl.bronze').name).toBe('pulse.deadletter.etl_bronze.v1');
    const garbage = Buffer.from([0xff, 0x00, 0x13]);
    expect(topic.value.decode(topic.value.encode(garbage))).toEqual(garbage);
    expect(deadLetterReplayTopic('storage-activity').name).toBe('pulse.deadletter.storage_activity.replayed.v1');
  });

  it('refuses a topic name outside the convention', () => {
    expect(() => defineTopic({ ...Topics.activityTracked, name: 'activity-tracked' })).toThrow(/pulse.<entity>/);
  });

  it('round-trips an accepted event through the tracked topic codec', () => {
    const value: ingestV1.ActivityTracked = {
      event: {
        eventId: 'e-1',
        userId: 'u-1',
        type: ingestV1.ActivityType.ACTIVITY_TYPE_LIKE,
        target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: 'p-9' },
        occurredAt: { seconds: 1_700_000_000, nanos: 5 },
        sessionId: '',
        properties: { surface: 'home_feed' },
        context: undefined,
        recommendationId: '',
      },
      receivedAt: { seconds: 1_700_000_001, nanos: 0 },
      ingest: { schemaVersion: 1, sourceIp: '127.0.0.1', clientId: 'web', requestId: 'r-1' },
    };
    const bytes = Topics.activityTracked.value.encode(value);
    expect(Topics.activityTracked.value.decode(bytes)).toEqual(value);
    expect(Topics.activityTracked.key.decode(Topics.activityTracked.key.encode('u-1'))).toBe('u-1');
  });

  it('keeps CDC values in Debezium JSON', () => {
    const topic = cdcTopic('users');
    const bytes = topic.value.encode({
      before: null,
      after: { id: 1 },
      op: 'c',
      ts_ms: 1,
      source: { db: 'pulse', schema: 'public', table: 'users', lsn: 10, txId: 5, ts_ms: 1, snapshot: 'false' },
    });
    expect(JSON.parse(bytes.toString())).toMatchObject({ op: 'c', after: { id: 1 } });
  });
});
