import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { Observable, throwError } from 'rxjs';
import { principalOf } from '../auth/call-principal';
import { describePrincipal } from '../auth/principal';
import { GrpcStatusError, statusText } from '../grpc/grpc-status.error';

/**
 * PostgreSQL's data exceptions (SQLSTATE class 22: a NUL character in text, a value too long for its column, a
 * number out of range, text that is not a uuid or a date) come from the values of a request, not from the
 * server: INVALID_ARGUMENT with PostgreSQL's reason, as PostgREST answers them 400. Anything else is not one.
 */
function pgDataException(exception: unknown): GrpcStatusError | undefined {
  if (!(exception instanceof Error) || !('code' in exception) || !('severity' in exception)) return undefined;
  const code = (exception as { code: unknown }).code;
  if (typeof code !== 'string' || !/^22[0-9A-Z]{3}$/.test(code)) return undefined;
  return new GrpcStatusError(status.INVALID_ARGUMENT, `a value of the request cannot be stored or compared: ${exception.message}`);
}

/**
 * Maps whatever a gRPC handler throws to a definite status: a GrpcStatusError keeps its code, message
 * and field violations; PostgreSQL's data exceptions become INVALID_ARGUMENT; anything unexpected becomes INTERNAL (logged with its stack and the caller), never UNKNOWN.
 */
@Catch()
export class GrpcExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('grpc');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (exception instanceof GrpcStatusError) return throwError(() => exception.toServiceError());
    if (exception instanceof RpcException) {
      const error = exception.getError();
      if (typeof error === 'object' && error !== null && 'code' in error) {
        const details = (error as { details?: unknown }).details;
        return throwError(() => (typeof details === 'string' ? { ...error, details: statusText(details) } : error));
      }
    }
    const refused = pgDataException(exception);
    if (refused) return throwError(() => refused.toServiceError());
    const principal = principalOf(host.getArgByIndex(2));
    const caller = principal ? ` (caller: ${describePrincipal(principal).kind} ${principal.id})` : '';
    this.logger.error(`${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}${caller}`);
    return throwError(() => ({ code: status.INTERNAL, details: 'internal error' }));
  }
}
