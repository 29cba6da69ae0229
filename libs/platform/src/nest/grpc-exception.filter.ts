import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { Observable, throwError } from 'rxjs';
import { principalOf } from '../auth/call-principal';
import { describePrincipal } from '../auth/principal';
import { GrpcStatusError } from '../grpc/grpc-status.error';

/**
 * Maps whatever a gRPC handler throws to a definite status: a GrpcStatusError keeps its code, message
 * and field violations; anything unexpected becomes INTERNAL (logged with its stack and the caller), never UNKNOWN.
 */
@Catch()
export class GrpcExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('grpc');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (exception instanceof GrpcStatusError) return throwError(() => exception.toServiceError());
    if (exception instanceof RpcException) {
      const error = exception.getError();
      if (typeof error === 'object' && error !== null && 'code' in error) return throwError(() => error);
    }
    const principal = principalOf(host.getArgByIndex(2));
    const caller = principal ? ` (caller: ${describePrincipal(principal).kind} ${principal.id})` : '';
    this.logger.error(`${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}${caller}`);
    return throwError(() => ({ code: status.INTERNAL, details: 'internal error' }));
  }
}
