import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { Metadata, status } from '@grpc/grpc-js';
import type { ExecutionContext } from '@nestjs/common';
import { ApiKeyCache } from '../auth/api-key.cache';
import { hashApiKey } from '../auth/api-key';
import { Authenticator } from '../auth/authenticator';
import { principalOf } from '../auth/call-principal';
import { ANONYMOUS } from '../auth/principal';
import { GrpcStatusError } from '../grpc/grpc-status.error';
import { createLogger } from '../logging/logger';
import { ServiceMetrics } from '../metrics/metrics';
import { declaredRpcs, Public, RequiresScope } from './auth.decorators';
import { AuthGuard } from './auth.guard';

@Controller()
class DemoController {
  @GrpcMethod('DemoService', 'Read')
  @RequiresScope('storage:read')
  read() {
    return {};
  }

  @GrpcMethod('DemoService', 'Wipe')
  @RequiresScope('admin')
  wipe() {
    return {};
  }

  @GrpcMethod('DemoService', 'Ping')
  @Public()
  ping() {
    return {};
  }

  @GrpcMethod('DemoService', 'Forgotten')
  forgotten() {
    return {};
  }

  helper() {
    return 1;
  }
}

const KEY = 'pk_0123456789ab_' + 'r'.repeat(43);
const authenticator = new Authenticator({
  apiKeys: new ApiKeyCache(
    {
      findActiveByHash: async (hash) =>
        hash === hashApiKey(KEY)
          ? { keyId: '0123456789ab', name: 'reader', scopes: ['storage:read'], createdAt: new Date(), expiresAt: null, revokedAt: null }
          : undefined,
    },
    { ttlMs: 1_000 },
  ),
});
const logger = createLogger('test', 'silent');

/** The ExecutionContext Nest hands a guard for a gRPC call of `handler`, with `(request, metadata, call)` as arguments. */
function rpcContext(handler: keyof DemoController, metadata: Metadata, call: object): ExecutionContext {
  return {
    getType: () => 'rpc',
    getClass: () => DemoController,
    getHandler: () => DemoController.prototype[handler],
    getArgs: () => [{}, metadata, call],
  } as unknown as ExecutionContext;
}

function withKey(): Metadata {
  const m = new Metadata();
  m.set('authorization', `Bearer ${KEY}`);
  return m;
}

async function outcome(guard: AuthGuard, handler: keyof DemoController, metadata: Metadata, call: object = {}) {
  try {
    return await guard.canActivate(rpcContext(handler, metadata, call));
  } catch (error) {
    return (error as GrpcStatusError).code;
  }
}

describe('AuthGuard', () => {
  const guard = new AuthGuard(authenticator, logger, new ServiceMetrics('test'));

  it('lets a principal with the declared scope through and hands its principal to the handler', async () => {
    const call = { getPath: () => '/DemoService/Read' };
    expect(await outcome(guard, 'read', withKey(), call)).toBe(true);
    expect(principalOf(call)).toMatchObject({ id: 'reader', kind: 'api-key', keyId: '0123456789ab' });
  });

  it('refuses a call without credentials as UNAUTHENTICATED and one without the scope as PERMISSION_DENIED', async () => {
    expect(await outcome(guard, 'read', new Metadata())).toBe(status.UNAUTHENTICATED);
    expect(await outcome(guard, 'wipe', withKey())).toBe(status.PERMISSION_DENIED);
  });

  it('refuses every call of an RPC that declares no scope, and opens a @Public one to anyone', async () => {
    expect(await outcome(guard, 'forgotten', withKey())).toBe(status.PERMISSION_DENIED);
    expect(await outcome(guard, 'ping', new Metadata())).toBe(true);
  });

  it('lets everything through as ANONYMOUS when authentication is off', async () => {
    const off = new AuthGuard(null, logger, new ServiceMetrics('test'));
    const call = {};
    expect(await outcome(off, 'wipe', new Metadata(), call)).toBe(true);
    expect(principalOf(call)).toBe(ANONYMOUS);
  });

  it('counts refusals by method and code on /metrics', async () => {
    const metrics = new ServiceMetrics('test');
    const counting = new AuthGuard(authenticator, logger, metrics);
    await outcome(counting, 'wipe', withKey(), { getPath: () => '/DemoService/Wipe' });
    expect(await metrics.registry.metrics()).toContain(
      'grpc_auth_refused_total{method="DemoService/Wipe",code="PERMISSION_DENIED",service="test"} 1',
    );
  });
});

describe('declaredRpcs', () => {
  it('lists the gRPC handlers of a controller with what each declared, leaving other methods out', () => {
    expect(declaredRpcs(DemoController)).toEqual([
      { service: 'DemoService', rpc: 'Read', handler: 'read', requirement: { scope: 'storage:read' } },
      { service: 'DemoService', rpc: 'Wipe', handler: 'wipe', requirement: { scope: 'admin' } },
      { service: 'DemoService', rpc: 'Ping', handler: 'ping', requirement: { public: true } },
      { service: 'DemoService', rpc: 'Forgotten', handler: 'forgotten', requirement: undefined },
    ]);
  });
});
