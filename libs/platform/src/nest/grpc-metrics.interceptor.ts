import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { Observable, tap } from 'rxjs';
import { ServiceMetrics } from '../metrics/metrics';

/** Counts gRPC calls by method and status code and times them. */
@Injectable()
export class GrpcMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: ServiceMetrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const method = `${context.getClass().name}.${context.getHandler().name}`;
    const stop = this.metrics.grpcSeconds.startTimer({ method });
    return next.handle().pipe(
      tap({
        complete: () => {
          stop();
          this.metrics.grpcHandled.inc({ method, code: status[status.OK] });
        },
        error: (error: { code?: number }) => {
          stop();
          const code = typeof error?.code === 'number' ? status[error.code] : status[status.INTERNAL];
          this.metrics.grpcHandled.inc({ method, code });
        },
      }),
    );
  }
}
