import { z } from 'zod';
import { authConfigProblems, authEnv } from './auth.config';
import { loadConfig } from './load-config';

const schema = z.object({ ...authEnv });
const load = (env: Record<string, string>) => loadConfig('svc', schema, env);

describe('authEnv', () => {
  it('is on by default, with API keys from the local stack and reflection served', () => {
    const config = load({});
    expect(config).toMatchObject({
      PULSE_AUTH: 'on',
      PULSE_AUTH_PG_SCHEMA: 'pulse_auth',
      PULSE_AUTH_KEY_CACHE_TTL: 30_000,
      GRPC_REFLECTION: true,
    });
    expect(authConfigProblems(config)).toEqual([]);
  });

  it('refuses PULSE_AUTH=off in production, and allows it elsewhere', () => {
    expect(authConfigProblems(load({ PULSE_AUTH: 'off', NODE_ENV: 'production' }))).toEqual([
      { variable: 'PULSE_AUTH', message: expect.stringMatching(/off is refused when NODE_ENV=production/) },
    ]);
    expect(authConfigProblems(load({ PULSE_AUTH: 'off', NODE_ENV: 'development' }))).toEqual([]);
  });

  it('needs a way to authenticate, and an issuer and audience with a JWKS', () => {
    expect(authConfigProblems(load({ PULSE_AUTH_PG_URL: '' })).map((p) => p.variable)).toEqual(['PULSE_AUTH_PG_URL']);
    expect(authConfigProblems(load({ PULSE_AUTH_JWKS_URL: 'https://idp.example.com/jwks.json' })).map((p) => p.variable)).toEqual([
      'PULSE_AUTH_JWT_ISSUER',
      'PULSE_AUTH_JWT_AUDIENCE',
    ]);
  });

  it('refuses a value outside on|off by name', () => {
    expect(() => load({ PULSE_AUTH: 'maybe' })).toThrow(/PULSE_AUTH/);
  });
});
