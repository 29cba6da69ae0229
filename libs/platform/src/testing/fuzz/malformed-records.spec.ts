import { aggregateTopic, cdcTopic, Topics, type TopicDefinition } from '@pulse/contracts';
import { createHash } from 'node:crypto';
import { malformedValues } from './malformed-records';

const decodes = (topic: TopicDefinition<unknown, unknown>, bytes: Buffer) => {
  try {
    topic.value.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

describe('malformed record values', () => {
  it.each([
    ['a protobuf topic', aggregateTopic('user_actions_1h') as TopicDefinition<unknown, unknown>],
    ['the tracked-activity topic', Topics.activityTracked as TopicDefinition<unknown, unknown>],
    ['a JSON (Debezium) topic', cdcTopic('users') as TopicDefinition<unknown, unknown>],
  ])('of %s: as many as asked, every one refused by its codec, the same for a seed', (_, topic) => {
    const values = malformedValues(topic, 300, 7);
    expect(values).toHaveLength(300);
    expect(values.filter((v) => decodes(topic, v))).toEqual([]);
    const digests = values.map((v) => createHash('sha256').update(v).digest('hex'));
    expect(new Set(digests).size).toBeGreaterThan(100);
    // compared by digest: Jest's deep equality walks a Buffer byte by byte
    expect(malformedValues(topic, 300, 7).map((v) => createHash('sha256').update(v).digest('hex'))).toEqual(digests);
  });

  it('has none for a topic whose codec takes any bytes (text, raw bytes)', () => {
    const text = { ...Topics.logs, value: { contentType: 'text/plain; charset=utf-8', encode: Buffer.from, decode: String } };
    expect(malformedValues(text as TopicDefinition<unknown, unknown>, 10, 1)).toEqual([]);
  });
});
