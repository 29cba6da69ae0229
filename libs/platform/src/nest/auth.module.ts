import { DynamicModule, Global, Inject, Module, OnApplicationShutdown, Optional } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyCache } from '../auth/api-key.cache';
import { PgApiKeyStore } from '../auth/api-key.pg.store';
import { Authenticator } from '../auth/authenticator';
import { JwtVerifier } from '../auth/jwt.verifier';
import type { AuthConfig } from '../config/auth.config';
import { HealthRegistry } from '../health/health.registry';
import { AUTHENTICATOR, AuthGuard } from './auth.guard';

const KEY_STORE = Symbol('KEY_STORE');

class KeyStoreLifecycle implements OnApplicationShutdown {
  constructor(@Optional() @Inject(KEY_STORE) private readonly store: PgApiKeyStore | null) {}

  async onApplicationShutdown() {
    await this.store?.close();
  }
}

/**
 * Authentication and per-RPC authorisation of the app's gRPC server: the global `AuthGuard` over an
 * `Authenticator` built from the config (API keys from PostgreSQL behind a cache, JWTs against a JWKS).
 * `defineService` adds it to every service.
 */
@Global()
@Module({})
export class AuthModule {
  static forRoot(config: AuthConfig, service: string): DynamicModule {
    const on = config.PULSE_AUTH === 'on';
    return {
      module: AuthModule,
      providers: [
        {
          provide: KEY_STORE,
          inject: [HealthRegistry],
          useFactory: (health: HealthRegistry) => {
            if (!on || !config.PULSE_AUTH_PG_URL) return null;
            const store = new PgApiKeyStore({
              pgUrl: config.PULSE_AUTH_PG_URL,
              schema: config.PULSE_AUTH_PG_SCHEMA,
              applicationName: `${service}-auth`,
            });
            // Cached keys keep working while the store is away: reported, but readiness does not depend on it.
            health.register('api-key-store', () => store.ping(), { critical: false });
            return store;
          },
        },
        {
          provide: AUTHENTICATOR,
          inject: [KEY_STORE],
          useFactory: (store: PgApiKeyStore | null) => {
            if (!on) return null;
            return new Authenticator({
              apiKeys: store
                ? new ApiKeyCache(store, { ttlMs: config.PULSE_AUTH_KEY_CACHE_TTL, staleIfErrorMs: config.PULSE_AUTH_KEY_STALE_IF_ERROR })
                : undefined,
              jwt: config.PULSE_AUTH_JWKS_URL
                ? new JwtVerifier({
                    jwksUrl: config.PULSE_AUTH_JWKS_URL,
                    issuer: config.PULSE_AUTH_JWT_ISSUER,
                    audience: config.PULSE_AUTH_JWT_AUDIENCE,
                  })
                : undefined,
            });
          },
        },
        { provide: APP_GUARD, useClass: AuthGuard },
        KeyStoreLifecycle,
      ],
      exports: [AUTHENTICATOR],
    };
  }
}
