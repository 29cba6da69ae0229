// The admin command for API keys: `tools/auth/api-keys.sh <command>` (TypeScript run by ts-node from a checkout).
//   migrate                                             create or update the key table (every command does it first)
//   issue --name <client> --scopes <a,b> [--expires 90d] [--json]   print a new key once; only its hash is kept
//   revoke --id <key id> | --name <client>              revoke one key, or every active key of a client
//   list [--all] [--json]                               active keys (with --all, revoked and expired ones too)
// PULSE_AUTH_PG_URL and PULSE_AUTH_PG_SCHEMA say where the keys are (defaults: the local stack, pulse_auth).
import { z } from 'zod';
import { env, loadConfig, parseDuration } from '../config/load-config';
import { PgApiKeyStore, type StoredApiKey } from './api-key.pg.store';
import { ALL_SCOPES, parseScopes, SCOPES } from './scopes';

const USAGE = `usage: api-keys <command> [options]
  migrate                                           create or update the key table
  issue --name <client> --scopes <scope,...> [--expires <duration, e.g. 90d>] [--json]
                                                    issue a key and print it once (stdout); only its SHA-256 is stored
  revoke --id <key id> | --name <client>            revoke one key, or every active key of a client
  list [--all] [--json]                             list active keys (--all: revoked and expired too)
scopes:
${ALL_SCOPES.map((s) => `  ${s.padEnd(16)} ${SCOPES[s]}`).join('\n')}
environment: PULSE_AUTH_PG_URL (default postgres://pulse:pulse@127.0.0.1:25432/pulse), PULSE_AUTH_PG_SCHEMA (default pulse_auth)`;

const configSchema = z.object({
  PULSE_AUTH_PG_URL: env.url('postgres://pulse:pulse@127.0.0.1:25432/pulse'),
  PULSE_AUTH_PG_SCHEMA: env.identifier('pulse_auth'),
});

/** `--name x --all` → { name: 'x', all: true }; refuses options the command does not know. */
export function parseOptions(
  args: readonly string[],
  known: readonly string[],
  flags: readonly string[] = [],
): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.replace(/^--/, '');
    if (!arg.startsWith('--') || (!known.includes(name) && !flags.includes(name))) throw new UsageError(`unexpected argument "${arg}"`);
    if (flags.includes(name)) out[name] = true;
    else if (i + 1 >= args.length) throw new UsageError(`${arg} needs a value`);
    else out[name] = args[++i];
  }
  return out;
}

class UsageError extends Error {}

function row(key: StoredApiKey): string {
  const state = key.revokedAt
    ? `revoked ${key.revokedAt.toISOString()}`
    : key.expiresAt
      ? `expires ${key.expiresAt.toISOString()}`
      : 'active';
  return `${key.keyId}  ${key.name.padEnd(24)} ${key.scopes.join(',').padEnd(40)} created ${key.createdAt.toISOString()}  ${state}`;
}

export async function main(argv: readonly string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    out.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const config = loadConfig('api-keys', configSchema);
  const store = new PgApiKeyStore({
    pgUrl: config.PULSE_AUTH_PG_URL,
    schema: config.PULSE_AUTH_PG_SCHEMA,
    applicationName: 'pulse-api-keys',
  });
  try {
    // Every command first brings the table up to date (under the runner's lock; a no-op once done).
    const migrated = await store.migrate();
    switch (command) {
      case 'migrate': {
        parseOptions(rest, []);
        err.write(`${store.schema}: ${migrated.applied.length} applied, ${migrated.alreadyApplied} already applied\n`);
        return 0;
      }
      case 'issue': {
        const o = parseOptions(rest, ['name', 'scopes', 'expires'], ['json']);
        if (typeof o.name !== 'string' || typeof o.scopes !== 'string') throw new UsageError('issue needs --name and --scopes');
        const scopes = parseScopes(o.scopes);
        let expiresAt: Date | undefined;
        if (typeof o.expires === 'string') {
          const ms = parseDuration(o.expires);
          if (ms === undefined) throw new UsageError(`--expires: expected a duration like 30d or 12h, got "${o.expires}"`);
          expiresAt = new Date(Date.now() + ms);
        }
        const { key, record } = await store.issue({ name: o.name, scopes, expiresAt });
        if (o.json)
          out.write(
            `${JSON.stringify({ key, keyId: record.keyId, name: record.name, scopes: record.scopes, expiresAt: record.expiresAt })}\n`,
          );
        else {
          out.write(`${key}\n`);
          err.write(`issued ${record.keyId} to ${record.name} with ${record.scopes.join(', ')}; the key above is shown only this once\n`);
        }
        return 0;
      }
      case 'revoke': {
        const o = parseOptions(rest, ['id', 'name']);
        if ((typeof o.id === 'string') === (typeof o.name === 'string')) throw new UsageError('revoke needs --id or --name (one of them)');
        const revoked = await store.revoke(typeof o.id === 'string' ? { keyId: o.id } : { name: o.name as string });
        for (const key of revoked) err.write(`revoked ${key.keyId} (${key.name})\n`);
        if (revoked.length === 0) {
          err.write('no active key matched\n');
          return 1;
        }
        return 0;
      }
      case 'list': {
        const o = parseOptions(rest, [], ['all', 'json']);
        const keys = await store.list({ all: o.all === true });
        if (o.json) out.write(`${JSON.stringify(keys)}\n`);
        else for (const key of keys) out.write(`${row(key)}\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    err.write(`api-keys: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof UsageError) err.write(`${USAGE}\n`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
