import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { Authenticator } from '../auth/authenticator';
import { authorize, credentialsOf } from '../auth/authenticator';
import { attachPrincipal } from '../auth/call-principal';
import { ANONYMOUS, describePrincipal, type Principal } from '../auth/principal';
import { GrpcStatus, GrpcStatusError } from '../grpc/grpc-status.error';
import type { Logger } from '../logging/logger';
import { ServiceMetrics } from '../metrics/metrics';
import { requirementOf } from './auth.decorators';
import { LOGGER } from './platform.module';

export const AUTHENTICATOR = Symbol('AUTHENTICATOR');

/** `/pulse.recs.v1.RecsService/PromoteModel` from the call, else `Controller.handler`. */
function rpcName(context: ExecutionContext, call: unknown): string {
  const path = (call as { getPath?: () => string } | undefined)?.getPath?.();
  return path ? path.replace(/^\//, '') : `${context.getClass().name}.${context.getHandler().name}`;
}

/**
 * The global guard of the gRPC transport: authenticates the call's credentials, checks the scope its handler
 * declares (`@RequiresScope`, `@Public`) and attaches the principal for the handler (`principalOf(call)`).
 * No credentials or bad ones → UNAUTHENTICATED; a principal without the scope, or an RPC that declares none →
 * PERMISSION_DENIED; each with the reason. With authentication off every call runs as `ANONYMOUS`.
 * grpc.health.v1 and reflection are served beside Nest and never reach it; HTTP routes are not its concern.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly refused: Counter<'method' | 'code'>;

  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator | null,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.refused =
      (metrics.registry.getSingleMetric('grpc_auth_refused_total') as Counter<'method' | 'code'> | undefined) ??
      new Counter({
        name: 'grpc_auth_refused_total',
        help: 'gRPC calls refused by authentication or authorisation, by method and status code',
        labelNames: ['method', 'code'],
        registers: [metrics.registry],
      });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'rpc') return true;
    const [, metadata, call] = context.getArgs();
    if (!this.authenticator) {
      attachPrincipal(ANONYMOUS, call, metadata);
      return true;
    }
    const requirement = requirementOf(context.getClass(), context.getHandler());
    if (requirement && 'public' in requirement) return true;
    const rpc = rpcName(context, call);
    let principal: Principal | undefined;
    try {
      if (!requirement) throw new GrpcStatusError(GrpcStatus.PERMISSION_DENIED, `${rpc} declares no scope, so nobody may call it`);
      principal = await this.authenticator.authenticate(credentialsOf(metadata));
      authorize(principal, requirement.scope, rpc);
    } catch (error) {
      const code = error instanceof GrpcStatusError ? error.code : GrpcStatus.INTERNAL;
      this.refused.inc({ method: rpc, code: GrpcStatus[code] });
      this.logger.warn(
        { rpc, code: GrpcStatus[code], reason: (error as Error).message, principal: principal && describePrincipal(principal) },
        'call refused',
      );
      throw error;
    }
    attachPrincipal(principal, call, metadata);
    this.logger.debug({ rpc, principal: describePrincipal(principal) }, 'call authorised');
    return true;
  }
}
