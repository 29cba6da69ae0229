import { status } from '@grpc/grpc-js';
import type { UnaryClient } from '@pulse/platform';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, parseLine, runGraphImport } from './graph-import-command';

const T = new Date('2026-01-02T03:04:05.678Z');

describe('graph-import lines', () => {
  it('reads comma- or tab-separated edges with an ISO or epoch-millisecond time, or the default time', () => {
    expect(parseLine('a,b,2026-01-02T03:04:05.678Z', 5, undefined)).toEqual({
      followerId: 'a',
      followeeId: 'b',
      createdAt: { seconds: 1767323045, nanos: 678_000_000 },
    });
    expect(parseLine('a\tb\t1767323045678', 5, undefined)?.createdAt).toEqual({ seconds: 1767323045, nanos: 678_000_000 });
    expect(parseLine(' a , b ', 5, T)?.createdAt).toEqual({ seconds: 1767323045, nanos: 678_000_000 });
  });

  it('skips a header on the first line, blank lines and comments', () => {
    expect(parseLine('follower_id,followee_id,created_at', 1, T)).toBeUndefined();
    expect(parseLine('   ', 7, T)).toBeUndefined();
    expect(parseLine('# exported 2026-01-01', 2, T)).toBeUndefined();
  });

  it('names the line of a malformed edge', () => {
    const cases: [string, string][] = [
      ['a', 'line 9: expected follower_id,followee_id[,created_at], got 1 field(s)'],
      ['a,b,c,d', 'got 4 field(s)'],
      ['a b,c,2026-01-01', 'line 9: follower_id "a b" is not 1..64 characters'],
      ['a,a,2026-01-01', 'line 9: a user cannot follow itself (a)'],
      ['a,b,yesterday', 'line 9: created_at "yesterday" is not an ISO 8601 time'],
      ['a,b', 'line 9: no created_at, and no --created-at'],
      // a header anywhere but on the first line is read as an edge
      ['follower_id,followee_id', 'line 9: no created_at'],
    ];
    for (const [line, message] of cases) {
      expect(() => parseLine(line, 9, undefined)).toThrow(InputError);
      expect(() => parseLine(line, 9, undefined)).toThrow(message);
    }
  });

  it('refuses bad flags and a missing file with exit code 2 and says why', async () => {
    const client = {} as never;
    expect(await runGraphImport([], client)).toMatchObject({ exitCode: 2 });
    expect(await runGraphImport(['/nonexistent/edges.csv'], client)).toEqual({
      output: expect.stringContaining('no such file'),
      exitCode: 2,
    });
    expect((await runGraphImport([__filename, '--message-edges', '20000'], client)).output).toContain(
      '--message-edges must be an integer from 1 to 10000',
    );
    expect((await runGraphImport([__filename, '--created-at', 'soon'], client)).output).toContain('--created-at "soon"');
  });
});

describe('graph-import retries', () => {
  /** A storage client whose first BulkImportFollows stream fails UNAVAILABLE after its first message. */
  function flakyClient() {
    const received: string[] = [];
    let streams = 0;
    const raw = {
      BulkImportFollows: (_metadata: unknown, _options: unknown, done: (error: unknown, response?: unknown) => void) => {
        const attempt = ++streams;
        let edges = 0;
        return {
          write: (message: { follows: { followerId: string }[] }) => {
            if (attempt === 1 && edges > 0)
              setImmediate(() => done(Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: status.UNAVAILABLE })));
            edges += message.follows.length;
            received.push(...message.follows.map((f) => f.followerId));
            return true;
          },
          once: () => undefined,
          end: () => setImmediate(() => done(null, { edgesWritten: edges, batchesWritten: edges })),
          cancel: () => undefined,
        };
      },
    };
    const client = {
      raw,
      metadata: () => ({}),
      call: async () => ({ usersRecounted: 2, countersMoved: 0 }),
      close: () => undefined,
    } as unknown as UnaryClient;
    return { client, received, streams: () => streams };
  }

  it('tries a stream the service dropped again from the checkpoint, and says how many attempts it took', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graph-import-unit-'));
    try {
      const file = join(dir, 'edges.csv');
      writeFileSync(file, ['a,b,2026-01-01T00:00:00Z', 'c,d,2026-01-01T00:00:00Z', 'e,f,2026-01-01T00:00:00Z'].join('\n'));
      const flaky = flakyClient();
      const result = await runGraphImport([file, '--message-edges', '1', '--stream-edges', '3'], flaky.client);
      expect(result.exitCode).toBe(0);
      expect(JSON.parse(result.output)).toMatchObject({ edges: 3, attempts: 2 });
      expect(flaky.streams()).toBe(2);
      expect(flaky.received.slice(-3)).toEqual(['a', 'c', 'e']); // the whole stream again: nothing was checkpointed
      expect(existsSync(`${file}.import-checkpoint.json`)).toBe(false);

      const once = flakyClient();
      const stopped = await runGraphImport([file, '--message-edges', '1', '--retries', '0'], once.client);
      expect(stopped.exitCode).toBe(1);
      expect(stopped.output).toContain('run the same command again to resume from the checkpoint');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
