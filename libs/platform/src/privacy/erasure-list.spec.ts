import type { IncomingRecord, KafkaClient } from '../kafka/kafka.types';
import { createLogger } from '../logging/logger';
import { ErasureList } from './erasure-list';
import { subjectHash } from './subject-hash';

const KEY = 'test-key';

/** A Kafka client whose one topic holds `keys` already and hands `later` over once the list is loaded. */
function fakeKafka(keys: string[], later: string[] = []) {
  const record = (key: string, offset: number): IncomingRecord<string, unknown> => ({
    topic: 'pulse.privacy.erasures.v1',
    partition: 0,
    offset: BigInt(offset),
    timestampMs: 0,
    key,
    value: null,
    headers: {},
  });
  let deliverLater: () => Promise<void> = async () => undefined;
  const kafka = {
    admin: { ensureTopics: async () => undefined, endOffsets: async () => [BigInt(keys.length)] },
    consumer: () => {
      let close!: () => void;
      const closed = new Promise<void>((resolve) => (close = resolve));
      return {
        run: async (handler: (batch: IncomingRecord<string, unknown>[]) => Promise<void>) => {
          if (keys.length > 0) await handler(keys.map(record));
          deliverLater = () => handler(later.map((k, i) => record(k, keys.length + i)));
          await closed;
        },
        close: async () => close(),
      };
    },
  } as unknown as KafkaClient;
  return { kafka, deliverLater: () => deliverLater() };
}

describe('ErasureList', () => {
  const logger = createLogger('test', 'silent');

  it('is loaded with every listed subject before start resolves, and answers by user id', async () => {
    const { kafka } = fakeKafka([subjectHash(KEY, '42'), subjectHash(KEY, 'u-7')]);
    const list = new ErasureList({ kafka, subjectKey: KEY, logger, service: 'test' });
    await list.start();
    expect(list.size).toBe(2);
    expect(list.has('42')).toBe(true);
    expect(list.has('u-7')).toBe(true);
    expect(list.has('43')).toBe(false);
    expect(list.has('')).toBe(false);
    await list.stop();
  });

  it('starts on an empty topic and learns subjects listed later, also after answering "not listed" for them', async () => {
    const { kafka, deliverLater } = fakeKafka([], [subjectHash(KEY, '9')]);
    const list = new ErasureList({ kafka, subjectKey: KEY, logger, service: 'test' });
    await list.start();
    expect(list.has('9')).toBe(false);
    await deliverLater();
    expect(list.has('9')).toBe(true);
    await list.stop();
  });

  it('hashes with the key: the same id under another key is not listed', async () => {
    const { kafka } = fakeKafka([subjectHash('another-key', '42')]);
    const list = new ErasureList({ kafka, subjectKey: KEY, logger, service: 'test' });
    await list.start();
    expect(list.has('42')).toBe(false);
    await list.stop();
    expect(subjectHash(KEY, '42')).toMatch(/^[0-9a-f]{64}$/);
  });
});
