import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { Observable, throwError } from 'rxjs';
import { GrpcStatusError } from '../grpc/grpc-status.error';

/**
 * Maps whatever a gRPC handler throws to a definite status: a GrpcStatusError keeps its code, message
 * and field violations; anything unexpected becomes INTERNAL (logged with its stack), never UNKNOWN.
 */
@Catch()
export class GrpcExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('grpc');

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    if (exception instanceof GrpcStatusError) return throwError(() => exception.toServiceError());
    if (exception instanceof RpcException) {
      const error = exception.getError();
      if (typeof error === 'object' && error !== null && 'code' in error) return throwError(() => error);
    }
    this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    return throwError(() => ({ code: status.INTERNAL, details: 'internal error' }));
  }
}
