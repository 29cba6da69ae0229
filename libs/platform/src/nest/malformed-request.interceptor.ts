import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';
import { malformedRequestError } from '../grpc/malformed-request';

/** Answers INVALID_ARGUMENT, before the handler, for a request whose bytes did not decode (acceptMalformedRequests). */
@Injectable()
export class MalformedRequestInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const error = malformedRequestError(context.switchToRpc().getData());
    return error ? throwError(() => error) : next.handle();
  }
}
