import { Subject } from 'rxjs';
import { pullMessages, rechunk } from './media-streams';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function* from(...pieces: string[]): AsyncIterable<Buffer> {
  for (const p of pieces) yield Buffer.from(p);
}

describe('media streams', () => {
  it('re-slices bytes into pieces of one size, the last one shorter', async () => {
    const out = await collect(rechunk(from('ab', 'cdefg', '', 'h', 'ijklmnopq'), 4));
    expect(out.map(String)).toEqual(['abcd', 'efgh', 'ijkl', 'mnop', 'q']);
    expect(await collect(rechunk(from(), 4))).toEqual([]);
  });

  it('pauses the source when messages pile up and resumes once they are consumed', async () => {
    const subject = new Subject<number>();
    const flow = { pause: jest.fn(), resume: jest.fn() };
    const iterator = pullMessages(subject, flow, undefined, 4)[Symbol.asyncIterator]();
    for (let i = 0; i < 6; i++) subject.next(i);
    expect(flow.pause).toHaveBeenCalledTimes(1);
    expect((await iterator.next()).value).toBe(0);
    expect((await iterator.next()).value).toBe(1);
    expect(flow.resume).not.toHaveBeenCalled();
    expect((await iterator.next()).value).toBe(2);
    expect(flow.resume).not.toHaveBeenCalled();
    expect((await iterator.next()).value).toBe(3);
    expect(flow.resume).toHaveBeenCalledTimes(1);
    subject.complete();
    expect((await iterator.next()).value).toBe(4);
    expect((await iterator.next()).value).toBe(5);
    expect((await iterator.next()).done).toBe(true);
  });

  it('fails the iteration when the signal aborts, even with messages waiting', async () => {
    const subject = new Subject<number>();
    const abort = new AbortController();
    const iterator = pullMessages(subject, undefined, abort.signal)[Symbol.asyncIterator]();
    subject.next(1);
    const pending = iterator.next();
    await expect(pending).resolves.toEqual({ value: 1, done: false });
    subject.next(2);
    abort.abort(new Error('cancelled'));
    await expect(iterator.next()).rejects.toThrow('cancelled');
  });
});
