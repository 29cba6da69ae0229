import { Pool } from 'pg';
import { defineMigrations, type MigrationResult, runMigrations } from '../postgres/migration-runner';
import { qualifiedName } from '../postgres/sql';
import { generateApiKey } from './api-key';
import type { Scope } from './scopes';

/** The schema every service reads API keys from unless PULSE_AUTH_PG_SCHEMA says otherwise. */
export const DEFAULT_AUTH_SCHEMA = 'pulse_auth';

/** The key store's tables, kept in code so that every app bundle and the admin command carry them. */
export const AUTH_MIGRATIONS = defineMigrations(
  [
    {
      file: '001_api_keys.sql',
      sql: `CREATE TABLE api_keys (
  key_id     text PRIMARY KEY,
  name       text NOT NULL,
  key_hash   text NOT NULL UNIQUE,
  scopes     text[] NOT NULL CHECK (cardinality(scopes) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_by_name ON api_keys (name);
`,
    },
  ],
  'the API key store',
);

/** An API key as stored: never the key itself. */
export interface StoredApiKey {
  keyId: string;
  /** The client it was issued to; the principal id of its calls. */
  name: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** Finds the active key with a given hash; what the services need. */
export interface ApiKeyLookup {
  findActiveByHash(hash: string): Promise<StoredApiKey | undefined>;
}

interface Row {
  key_id: string;
  name: string;
  scopes: string[];
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'key_id, name, scopes, created_at, expires_at, revoked_at';

function fromRow(row: Row): StoredApiKey {
  return {
    keyId: row.key_id,
    name: row.name,
    scopes: row.scopes,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

/**
 * API keys in PostgreSQL (`<schema>.api_keys`, by default `pulse_auth`): SHA-256 hashes with their name and
 * scopes. Services only look keys up; the admin command (`tools/auth/api-keys.sh`) migrates, issues, lists
 * and revokes.
 */
export class PgApiKeyStore implements ApiKeyLookup {
  private readonly pool: Pool;
  private readonly table: string;

  constructor(private readonly options: { pgUrl: string; schema?: string; applicationName?: string; maxConnections?: number }) {
    this.pool = new Pool({
      connectionString: options.pgUrl,
      max: options.maxConnections ?? 2,
      application_name: options.applicationName ?? 'pulse-auth',
      connectionTimeoutMillis: 3_000,
    });
    // A broken idle connection is replaced on the next query; lookups report their own errors.
    this.pool.on('error', () => undefined);
    this.table = qualifiedName(this.schema, 'api_keys');
  }

  get schema(): string {
    return this.options.schema ?? DEFAULT_AUTH_SCHEMA;
  }

  /** Creates or updates the store's tables (under the migration runner's advisory lock). */
  migrate(): Promise<MigrationResult> {
    return runMigrations({
      pgUrl: this.options.pgUrl,
      schema: this.schema,
      migrations: AUTH_MIGRATIONS,
      applicationName: 'pulse-auth-migrate',
    });
  }

  async findActiveByHash(hash: string): Promise<StoredApiKey | undefined> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.table}
        WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [hash],
    );
    return rows[0] && fromRow(rows[0]);
  }

  /** Issues a key to `name` with `scopes`; the returned `key` is the only copy of it anywhere. */
  async issue(request: { name: string; scopes: readonly Scope[]; expiresAt?: Date }): Promise<{ key: string; record: StoredApiKey }> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/.test(request.name))
      throw new Error(`key name "${request.name}" must be 1-64 letters, digits or . _ : @ -, starting with a letter or digit`);
    const { key, keyId, hash } = generateApiKey();
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO ${this.table} (key_id, name, key_hash, scopes, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
      [keyId, request.name, hash, [...request.scopes], request.expiresAt ?? null],
    );
    return { key, record: fromRow(rows[0]) };
  }

  /** Revokes one key by its id, or every active key of a name; returns the keys revoked. */
  async revoke(which: { keyId: string } | { name: string }): Promise<StoredApiKey[]> {
    const [column, value] = 'keyId' in which ? ['key_id', which.keyId] : ['name', which.name];
    const { rows } = await this.pool.query<Row>(
      `UPDATE ${this.table} SET revoked_at = now() WHERE ${column} = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [value],
    );
    return rows.map(fromRow);
  }

  /** Keys, newest first; revoked and expired ones only when asked. */
  async list(options: { all?: boolean } = {}): Promise<StoredApiKey[]> {
    const where = options.all ? '' : 'WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())';
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM ${this.table} ${where} ORDER BY created_at DESC, key_id`);
    return rows.map(fromRow);
  }

  /** Removes a key for good (tests clean up after themselves with it; operators revoke). */
  async delete(keyId: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.table} WHERE key_id = $1`, [keyId]);
  }

  /** Whether the store answers and has its table (readiness). */
  async ping(): Promise<void> {
    await this.pool.query(`SELECT 1 FROM ${this.table} LIMIT 1`);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
