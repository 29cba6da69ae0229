import { quoteIdent } from '@pulse/platform';
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { Definitions } from './definitions';
import { canonicalJson, type Plan, planChanges } from './registry-plan';

/** One stored version of a project's registry. */
export interface StoredRegistry {
  project: string;
  version: number;
  digest: string;
  definitions: Definitions;
  /** created_at / updated_at (ms) of each object by `<kind>/<name>`. */
  objectTimes: Record<string, { createdAt: number; updatedAt: number }>;
  appliedAt: number;
}

export interface ApplyResult {
  plan: Plan;
  /** The registry version after apply (unchanged when the plan was empty). */
  version: number;
  applied: boolean;
}

/** `apply` found breaking changes and was not forced. */
export class BreakingChangeError extends Error {
  constructor(readonly plan: Plan) {
    super(
      `refusing to apply ${plan.breaking.length} breaking change(s) without --force:\n` +
        plan.breaking.flatMap((c) => c.breaking.map((b) => `  ! ${b}`)).join('\n'),
    );
    this.name = 'BreakingChangeError';
  }
}

/** Canonical digest of definitions: equal repos give equal digests. */
export function definitionsDigest(d: Definitions): string {
  return createHash('sha256').update(canonicalJson(d)).digest('hex');
}

/**
 * The registry in PostgreSQL: one row per version and project, the definitions as JSON. `apply` runs in
 * one transaction under a per-project advisory lock, so two concurrent applies get consecutive versions
 * and each plans against what the other stored.
 */
export class RegistryRepository {
  private readonly table: string;

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.table = `${quoteIdent(schema)}.registry_versions`;
  }

  /** The latest version number of a project, 0 when nothing was applied yet. */
  async latestVersion(project: string): Promise<number> {
    const { rows } = await this.pool.query<{ version: string }>(`SELECT max(version) AS version FROM ${this.table} WHERE project = $1`, [
      project,
    ]);
    return Number(rows[0]?.version ?? 0);
  }

  /** The latest stored registry of a project, or undefined when nothing was applied yet (read on `db`, the pool by default). */
  async latest(project: string, db: Pool | PoolClient = this.pool): Promise<StoredRegistry | undefined> {
    const { rows } = await db.query(
      `SELECT project, version, digest, definitions, object_times, applied_at FROM ${this.table} WHERE project = $1 ORDER BY version DESC LIMIT 1`,
      [project],
    );
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  async plan(next: Definitions): Promise<{ plan: Plan; version: number }> {
    const current = await this.latest(next.project);
    return { plan: planChanges(current?.definitions, next), version: current?.version ?? 0 };
  }

  /** Stores `next` as a new version when it differs from the latest; breaking changes need `force`. */
  async apply(next: Definitions, options: { force: boolean; appliedBy?: string; now?: number }): Promise<ApplyResult> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pulse.feature-store.registry.${next.project}`]);
      const current = await this.latest(next.project, client);
      const plan = planChanges(current?.definitions, next);
      if (plan.unchanged) {
        await client.query('ROLLBACK');
        return { plan, version: current?.version ?? 0, applied: false };
      }
      if (plan.breaking.length > 0 && !options.force) throw new BreakingChangeError(plan);
      const now = options.now ?? Date.now();
      const objectTimes: StoredRegistry['objectTimes'] = {};
      const before = current?.objectTimes ?? {};
      const changed = new Set(plan.changes.map((c) => `${c.kind}/${c.name}`));
      const keys = [
        ...next.entities.map((e) => `entity/${e.name}`),
        ...next.featureViews.map((v) => `feature_view/${v.name}`),
        ...next.featureServices.map((s) => `feature_service/${s.name}`),
      ];
      for (const key of keys) {
        const prev = before[key];
        objectTimes[key] = prev && !changed.has(key) ? prev : { createdAt: prev?.createdAt ?? now, updatedAt: now };
      }
      const version = (current?.version ?? 0) + 1;
      await client.query(
        `INSERT INTO ${this.table} (project, version, digest, definitions, object_times, changes, forced, applied_by, applied_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9 / 1000.0))`,
        [
          next.project,
          version,
          definitionsDigest(next),
          JSON.stringify(next),
          JSON.stringify(objectTimes),
          JSON.stringify(plan.changes),
          plan.breaking.length > 0,
          options.appliedBy ?? '',
          now,
        ],
      );
      await client.query('COMMIT');
      return { plan, version, applied: true };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

function toStored(row: Record<string, unknown>): StoredRegistry {
  return {
    project: String(row['project']),
    version: Number(row['version']),
    digest: String(row['digest']),
    definitions: row['definitions'] as Definitions,
    objectTimes: row['object_times'] as StoredRegistry['objectTimes'],
    appliedAt: (row['applied_at'] as Date).getTime(),
  };
}
