import type { ShippedLog } from '@pulse/contracts';
import { createLogger } from '../logging/logger';
import { LogShipper, type LogSink } from './log-shipper';
import { hashId } from './personal-data';

class FakeSink implements LogSink {
  batches: ShippedLog[][] = [];
  keys: string[] = [];
  failing = false;
  hold?: Promise<void>;
  async send(key: string, records: ShippedLog[]) {
    await this.hold;
    if (this.failing) throw new Error('broker away');
    this.keys.push(key);
    this.batches.push(records);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  get records() {
    return this.batches.flat();
  }
}

function shipper(sink: LogSink, stdout: string[], maxBuffered = 100) {
  return new LogShipper({
    service: 'ingest',
    sink,
    passthrough: { write: (line: string) => stdout.push(line) },
    maxBuffered,
    hashKey: 'k',
    flushIntervalMs: 60_000,
    retryMs: 1,
  });
}

describe('LogShipper', () => {
  it('writes every line to stdout and ships a copy with the service, level, time and process', async () => {
    const sink = new FakeSink();
    const stdout: string[] = [];
    const ship = shipper(sink, stdout);
    const logger = createLogger('ingest', 'info', { destination: ship });
    logger.info({ topic: 'pulse.activity.tracked.v1' }, 'sent');
    logger.warn('slow');
    await ship.flush();
    expect(stdout).toHaveLength(2);
    expect(sink.records.map((r) => [r.service, r.level, r.msg])).toEqual([
      ['ingest', 'info', 'sent'],
      ['ingest', 'warn', 'slow'],
    ]);
    expect(sink.records[0].topic).toBe('pulse.activity.tracked.v1');
    expect(Date.parse(sink.records[0].time)).not.toBeNaN();
    expect(sink.records[0].instance).toMatch(/:\d+$/);
    expect(sink.keys[0]).toBe(`ingest@${sink.records[0].instance}`);
    await ship.stop();
  });

  it('replaces user ids with keyed hashes in what it ships, not in stdout', async () => {
    const sink = new FakeSink();
    const stdout: string[] = [];
    const ship = shipper(sink, stdout);
    ship.write(
      JSON.stringify({
        level: 'info',
        time: '2026-01-01T00:00:00Z',
        msg: 'followed',
        user_id: 'u-42',
        event: { actorId: 'u-7', kind: 'like' },
      }) + '\n',
    );
    await ship.flush();
    const [record] = sink.records;
    expect(record.user_id).toBe(hashId('u-42', 'k'));
    expect(record.user_id).not.toContain('u-42');
    expect(record.event).toEqual({ actorId: hashId('u-7', 'k'), kind: 'like' });
    expect(stdout[0]).toContain('u-42');
    await ship.stop();
  });

  it('never blocks the writer: a full buffer drops new lines, counts them and says so once shipping resumes', async () => {
    const sink = new FakeSink();
    sink.failing = true;
    const ship = shipper(sink, [], 100);
    for (let i = 0; i < 150; i++) ship.write(`{"level":"info","msg":"line ${i}"}\n`);
    expect(ship.stats).toMatchObject({ buffered: 100, dropped: 50 });
    await ship.flush(); // fails: the lines are kept for the next try
    expect(ship.stats).toMatchObject({ failedSends: 1, buffered: 100 });
    sink.failing = false;
    await new Promise((r) => setTimeout(r, 5));
    await ship.flush();
    expect(sink.records.slice(0, 100).map((r) => r.msg)).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i}`));
    expect(sink.records[100]).toMatchObject({ level: 'warn', msg: expect.stringContaining('dropped') });
    expect(ship.stats).toMatchObject({ shipped: 101, dropped: 50, buffered: 0 });
    await ship.stop();
  });

  it('ships what is left on stop, then only writes to stdout', async () => {
    const sink = new FakeSink();
    const stdout: string[] = [];
    const ship = shipper(sink, stdout);
    ship.write('{"level":"info","msg":"last words"}\n');
    await ship.stop();
    ship.write('{"level":"info","msg":"after"}\n');
    expect(sink.records.map((r) => r.msg)).toEqual(['last words']);
    expect(stdout).toHaveLength(2);
  });

  it('gives up on a sink that does not answer within the stop timeout', async () => {
    const sink = new FakeSink();
    sink.hold = new Promise(() => undefined);
    const ship = shipper(sink, []);
    ship.write('{"level":"info","msg":"stuck"}\n');
    const started = Date.now();
    await ship.stop(100);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
