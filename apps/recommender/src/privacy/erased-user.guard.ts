import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ERASURE_LIST, type ErasureList, grpcErrors } from '@pulse/platform';

/**
 * Serving blocks erased users: a request of RecsService naming a user on the erasure list (pulse.privacy.erasures.v1)
 * is answered NOT_FOUND before anything of theirs is read (the model's row, the live state) or published on
 * pulse.recs.served.v1. Takes effect as soon as the list reaches the replica, before the served model versions
 * are scrubbed or retrained; the erasure of the model files is the privacy service's.
 */
@Injectable()
export class ErasedUserGuard implements CanActivate {
  constructor(@Inject(ERASURE_LIST) private readonly erased: ErasureList) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'rpc') return true;
    const request = context.switchToRpc().getData() as { userId?: unknown } | undefined;
    const userId = typeof request?.userId === 'string' ? request.userId : undefined;
    if (userId && this.erased.has(userId)) throw grpcErrors.notFound(`user "${userId}" (erased)`);
    return true;
  }
}
