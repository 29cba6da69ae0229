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

  it('keeps a status short when its message quotes a huge value of the request', async () => {
    const refused = await answer(grpcErrors.invalidArgument('min_level', `one of debug, info, got "${'x'.repeat(70_000)}"`));
    expect(refused?.code).toBe(status.INVALID_ARGUMENT);
    expect(refused!.details.length).toBeLessThan(500);
    expect(refused!.details).toMatch(/… \(\d+ more characters\)$/);
  });
});
