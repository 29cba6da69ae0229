import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..', '..', '..');

/**
 * A consumer whose stream fails while a batch is handled (the broker gone): the batch read ahead meanwhile fails.
 * Run in a process of its own, as a service runs: an unhandled rejection there ends the process, which a test runner
 * would not show.
 */
const SCRIPT = `
const { Readable } = require('node:stream');
const { defineTopic, utf8Codec } = require('@pulse/contracts');
const { PlatformaticKafkaClient } = require(${JSON.stringify(join(__dirname, 'platformatic-kafka.client'))});
const topic = defineTopic({ name: 'pulse.test.v1', description: 'a test topic', partitions: 1, key: utf8Codec, value: utf8Codec });
const client = new PlatformaticKafkaClient({ brokers: ['127.0.0.1:9'], clientId: 'spec' });
const consumer = client.consumer([topic], { groupId: 'spec', from: 'earliest' });
const stream = new Readable({ objectMode: true, read: () => undefined });
consumer.consumer = { consume: async () => stream, close: async () => undefined };
stream.push({ topic: topic.name, partition: 0, offset: 0n, timestamp: 0n, key: Buffer.from('k'), value: Buffer.from('v0'),
  headers: new Map(), commit: async () => undefined });
const handled = [];
consumer
  .run(async (records) => {
    handled.push(...records.map((r) => r.value));
    stream.destroy(new Error('broker gone'));
    await new Promise((resolve) => setTimeout(resolve, 200));
  })
  .then(
    () => console.log(JSON.stringify({ ended: 'without an error', handled })),
    (error) => console.log(JSON.stringify({ ended: error.message, handled })),
  )
  .finally(() => client.close());
`;

describe('PlatformaticKafkaClient consumer', () => {
  it('fails run() with the error of a read that failed while a batch was handled, and the process lives on', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', '-e', SCRIPT],
      { cwd: ROOT, env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') }, timeout: 60_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ ended: 'broker gone', handled: ['v0'] });
  }, 60_000);
});
