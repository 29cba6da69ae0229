import { createLogger } from '../logging/logger';
import { DecodeError, PermanentError } from './consumer-errors';
import type { DeadLetter } from './dead-letters';
import type { IncomingRecord, RecordPosition, UndecodableRecord } from './kafka.types';
import { ConsumerStoppedError, type HandlerContext, handleResiliently, type ResilientBatchOptions } from './resilient-batch-handler';

const TOPIC = 'pulse.things.v1';

function record(offset: number, value = `v${offset}`, partition = 0): IncomingRecord<string, string> {
  return {
    topic: TOPIC,
    partition,
    offset: BigInt(offset),
    timestampMs: 1_000 + offset,
    key: `k${offset}`,
    value,
    headers: {},
    raw: { key: Buffer.from(`k${offset}`), value: Buffer.from(value) },
  };
}

function poison(offset: number, partition = 0): UndecodableRecord {
  return {
    topic: TOPIC,
    partition,
    offset: BigInt(offset),
    timestampMs: 1_000 + offset,
    headers: {},
    raw: { key: null, value: Buffer.from([0xff, 0xff]) },
    error: new DecodeError('cannot decode the value'),
  };
}

const offsets = (ps: readonly RecordPosition[]) => ps.map((p) => Number(p.offset));

function setup(handler: (records: IncomingRecord<string, string>[], context: HandlerContext) => Promise<void>) {
  const calls: { offsets: number[]; deadLettered: number[] }[] = [];
  const letters: DeadLetter[] = [];
  const delays: number[] = [];
  const events = { retries: 0, recovered: 0 };
  const abort = new AbortController();
  const options: ResilientBatchOptions<string, string> = {
    group: 'things-writer',
    handler: async (records, context) => {
      calls.push({ offsets: offsets(records), deadLettered: offsets(context.deadLettered) });
      await handler(records, context);
    },
    deadLetters: async (batch) => void letters.push(...batch),
    backoff: { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2 },
    logger: createLogger('test', 'silent'),
    signal: abort.signal,
    events: { retry: () => void events.retries++, recovered: () => void events.recovered++ },
    sleep: async (ms) => void delays.push(ms),
    random: () => 1,
  };
  return { options, calls, letters, delays, events, abort };
}

describe('handleResiliently', () => {
  it('dead-letters a record that cannot be decoded before handling the others, and lets the sink advance past it', async () => {
    const { options, calls, letters } = setup(async () => undefined);
    await handleResiliently(options, [record(0), record(2)], [poison(1)]);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ offset: 1n, stage: 'decode', attempts: 1, group: 'things-writer' });
    expect(letters[0].raw.value).toEqual(Buffer.from([0xff, 0xff]));
    expect(calls).toEqual([{ offsets: [0, 2], deadLettered: [1] }]);
  });

  it('retries a transient failure with growing delays, dead-letters nothing and reports the recovery', async () => {
    let failures = 3;
    const { options, calls, letters, delays, events } = setup(async () => {
      if (failures-- > 0) throw new Error('connect ECONNREFUSED 127.0.0.1:9042');
    });
    await handleResiliently(options, [record(0), record(1)], []);
    expect(delays).toEqual([100, 200, 400]);
    expect(calls).toHaveLength(4);
    expect(calls.every((c) => c.offsets.join() === '0,1')).toBe(true);
    expect(letters).toEqual([]);
    expect(events).toEqual({ retries: 3, recovered: 1 });
  });

  it('dead-letters the record a permanent error names and handles the rest again', async () => {
    const { options, calls, letters } = setup(async (records) => {
      const bad = records.find((r) => r.value === 'bad');
      if (bad) throw new PermanentError('value "bad" is not a thing', { record: bad });
    });
    await handleResiliently(options, [record(0), record(1, 'bad'), record(2)], []);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ offset: 1n, stage: 'handle', attempts: 1 });
    expect((letters[0].error as Error).message).toBe('value "bad" is not a thing');
    expect(calls).toEqual([
      { offsets: [0, 1, 2], deadLettered: [] },
      { offsets: [0, 2], deadLettered: [1] },
    ]);
  });

  it('finds the culprit record by record when a permanent error does not name it, using the service hook', async () => {
    class ValidationError extends Error {}
    const { options, calls, letters } = setup(async (records) => {
      if (records.some((r) => r.value === 'bad')) throw new ValidationError('bad row');
    });
    options.isPermanent = (e) => e instanceof ValidationError;
    await handleResiliently(options, [record(0), record(1, 'bad'), record(2)], []);
    expect(offsets(letters)).toEqual([1]);
    expect(calls).toEqual([
      { offsets: [0, 1, 2], deadLettered: [] },
      { offsets: [0], deadLettered: [] },
      { offsets: [1], deadLettered: [] },
      { offsets: [], deadLettered: [1] },
      { offsets: [2], deadLettered: [1] },
    ]);
  });

  it('never tells the sink to pass a dead letter while an earlier record of its partition is unhandled', async () => {
    const { options, calls } = setup(async (records) => {
      if (records.length > 1) throw new PermanentError('batch refused');
    });
    await handleResiliently(options, [record(0), record(1)], [poison(2), poison(0, 1)]);
    // p0: 2 is passed only once 0 and 1 are handled; p1: its only record is the dead letter, passable at once.
    expect(calls.map((c) => c.offsets)).toEqual([[0, 1], [0], [1]]);
    expect(calls[1].deadLettered).toEqual([0]);
    expect(calls[2].deadLettered).toEqual([2, 0]);
  });

  it('calls the handler once more, without records, when the last record of a batch was dead-lettered', async () => {
    const { options, calls } = setup(async (records) => {
      const bad = records.find((r) => r.value === 'bad');
      if (bad) throw new PermanentError('bad', { record: bad });
    });
    await handleResiliently(options, [record(0), record(1, 'bad')], []);
    expect(calls).toEqual([
      { offsets: [0, 1], deadLettered: [] },
      { offsets: [0], deadLettered: [1] },
    ]);
  });

  it('hands over a batch of only poison records with no records, so a sink can still move past them', async () => {
    const { options, calls, letters } = setup(async () => undefined);
    await handleResiliently(options, [], [poison(0), poison(1)]);
    expect(offsets(letters)).toEqual([0, 1]);
    expect(calls).toEqual([{ offsets: [], deadLettered: [0, 1] }]);
  });

  it('does not dead-letter again a poison record the sink has already moved past', async () => {
    const { options, letters } = setup(async () => undefined);
    options.sinkOffsets = async () => new Map([[TOPIC, new Map([[0, 2n]])]]);
    await handleResiliently(options, [record(2)], [poison(1), poison(3)]);
    expect(offsets(letters)).toEqual([3]);
  });

  it('retries writing dead letters while Kafka refuses them', async () => {
    const { options, letters, delays } = setup(async () => undefined);
    let refusals = 2;
    options.deadLetters = async (batch) => {
      if (refusals-- > 0) throw new Error('NOT_ENOUGH_REPLICAS');
      letters.push(...batch);
    };
    await handleResiliently(options, [], [poison(0)]);
    expect(offsets(letters)).toEqual([0]);
    expect(delays).toHaveLength(2);
  });

  it('gives the batch up uncommitted when the consumer stops during retries', async () => {
    const { options, abort } = setup(async () => {
      throw new Error('store down');
    });
    options.sleep = async () => abort.abort();
    await expect(handleResiliently(options, [record(0)], [])).rejects.toBeInstanceOf(ConsumerStoppedError);
  });
});
