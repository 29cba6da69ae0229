import { ingestV1 } from './index';
import { aggregateTopic, ALL_STATIC_TOPICS, cdcTopic, deadLetterReplayTopic, deadLetterTopic, topicByName, Topics } from './topics';
import { DAY_MS, TOPIC_NAME_PATTERN, defineTopic } from './topic-definition';

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

  it('bounds how long a record of a user outlives its erasure on every topic that holds user data', () => {
    // Append-only topics: retention + one segment (docs/privacy.md); the rejected and late topics shorter than before.
    const bound = (t: { config: Readonly<Record<string, string>> }) => Number(t.config['retention.ms']) + Number(t.config['segment.ms']);
    expect(bound(Topics.activityTracked)).toBe(8 * DAY_MS);
    expect(bound(Topics.recsServed)).toBe(8 * DAY_MS);
    expect(bound(Topics.activityLate)).toBe(8 * DAY_MS);
    expect(bound(Topics.activityRejected)).toBe(4 * DAY_MS);
    // Compacted topics keyed by user rows: older records of a tombstoned key compacted within a day's lag.
    for (const topic of [cdcTopic('users'), cdcTopic('follows'), aggregateTopic('user_actions_1h')]) {
      expect(topic.config).toMatchObject({ 'max.compaction.lag.ms': String(DAY_MS), 'delete.retention.ms': String(DAY_MS) });
    }
    // The erasure list itself is kept: compacted, no time retention.
    expect(Topics.privacyErasures.config).toEqual({ 'cleanup.policy': 'compact' });
  });

  it('finds a topic of the registry or of the CDC and aggregate families by its name', () => {
    expect(topicByName('pulse.activity.tracked.v1')).toBe(Topics.activityTracked);
    expect(topicByName('pulse.cdc.schema_changes.v1')).toBe(Topics.cdcSchemaChanges);
    expect(topicByName('pulse.cdc.users.v1')?.value.contentType).toBe('application/json');
    expect(topicByName('pulse.cdc.app_1.follows.v1')?.name).toBe(cdcTopic('follows', 'app_1').name);
    expect(topicByName('pulse.aggregates.user_actions_1h.v1')?.value.contentType).toBe(aggregateTopic('user_actions_1h').value.contentType);
    expect(topicByName('pulse.deadletter.storage_activity.v1')).toBeUndefined();
    expect(topicByName('other.topic')).toBeUndefined();
  });
});
