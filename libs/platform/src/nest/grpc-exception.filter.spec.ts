import { status } from '@grpc/grpc-js';
import type { ArgumentsHost } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { grpcErrors } from '../grpc/grpc-status.error';
import { GrpcExceptionFilter } from './grpc-exception.filter';

const host = { getArgByIndex: () => undefined } as unknown as ArgumentsHost;
const answer = (exception: unknown) =>
  firstValueFrom(new GrpcExceptionFilter().catch(exception, host)).then(
    () => undefined,
    (error: { code: number; details: string }) => error,
  );
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('GrpcExceptionFilter', () => {
  it("answers PostgreSQL's data exceptions (a request's values) INVALID_ARGUMENT with PostgreSQL's reason", async () => {
    const refused = await answer(pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00'));
    expect(refused).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(refused?.details).toContain('invalid byte sequence for encoding "UTF8": 0x00');
    expect((await answer(pgError('22P02', 'invalid input syntax for type uuid: "x"')))?.code).toBe(status.INVALID_ARGUMENT);
  });

  it('answers other database errors and anything unexpected INTERNAL, without their text', async () => {
    expect(await answer(pgError('42P01', 'relation "x" does not exist'))).toEqual({ code: status.INTERNAL, details: 'internal error' });
    expect(await answer(new TypeError('boom'))).toEqual({ code: status.INTERNAL, details: 'internal error' });
  });

  it('answers a store that cannot answer now UNAVAILABLE with the reason (ABORTED for a lost transaction race): a retry can fix it', async () => {
    for (const error of [
      new Error('timeout exceeded when trying to connect'), // pg-pool, every connection busy
      new Error('Connection terminated unexpectedly'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('53300', 'sorry, too many clients already'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('All host(s) tried for query failed'), { name: 'NoHostAvailableError' }),
      new Error('Connection is closed.'),
    ]) {
      const answered = await answer(error);
      expect(answered?.code).toBe(status.UNAVAILABLE);
      expect(answered?.details).toContain(error.message);
    }
    expect((await answer(pgError('40001', 'could not serialize access due to concurrent update')))?.code).toBe(status.ABORTED);
  });

  it('sends well-formed text when a message quotes half of a surrogate pair (encodeURI in grpc-js would throw and stop the process)', async () => {
    const lone = await answer(grpcErrors.invalidArgument('name', `got "a\ud83d"`));
    expect(lone?.details).toBe('name: got "a\ufffd"');
    expect(() => encodeURI(lone!.details)).not.toThrow();
    // a cut through a pair: the 400th character is the first half of an emoji
    const cut = await answer(grpcErrors.invalidArgument('x', `${'a'.repeat(396)}${'\ud83d\ude00'.repeat(10)}`));
    expect(() => encodeURI(cut!.details)).not.toThrow();
  });

  it('keeps a status short when its message quotes a huge value of the request', async () => {
    const refused = await answer(grpcErrors.invalidArgument('min_level', `one of debug, info, got "${'x'.repeat(70_000)}"`));
    expect(refused?.code).toBe(status.INVALID_ARGUMENT);
    expect(refused!.details.length).toBeLessThan(500);
    expect(refused!.details).toMatch(/… \(\d+ more characters\)$/);
  });
});
