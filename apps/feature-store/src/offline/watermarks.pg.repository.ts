import { quoteIdent, PG_POOL } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';

/** Each view's materialisation watermark: the end of the latest interval copied offline -> online. */
@Injectable()
export class WatermarksRepository {
  private readonly table: string;
  private readonly project: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(FEATURE_STORE_CONFIG) config: FeatureStoreConfig,
  ) {
    this.table = `${quoteIdent(config.FEATURE_STORE_PG_SCHEMA)}.materialization_state`;
    this.project = config.FEATURE_STORE_PROJECT;
  }

  /** Watermarks (ms) by view name. */
  async all(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ feature_view: string; until: Date }>(
      `SELECT feature_view, materialized_until AS until FROM ${this.table} WHERE project = $1`,
      [this.project],
    );
    return new Map(rows.map((r) => [r.feature_view, r.until.getTime()]));
  }

  /** A view's watermark and, for a Delta source, the table version its last incremental run read. */
  async get(view: string): Promise<{ untilMs: number; deltaVersion?: number } | undefined> {
    const { rows } = await this.pool.query<{ until: Date; delta_version: string | null }>(
      `SELECT materialized_until AS until, delta_version FROM ${this.table} WHERE project = $1 AND feature_view = $2`,
      [this.project, view],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { untilMs: row.until.getTime(), ...(row.delta_version === null ? {} : { deltaVersion: Number(row.delta_version) }) };
  }

  /** Moves a view's watermark (and Delta version, when given) forward, never back. */
  async advance(view: string, untilMs: number, deltaVersion?: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (project, feature_view, materialized_until, delta_version) VALUES ($1, $2, to_timestamp($3 / 1000.0), $4)
       ON CONFLICT (project, feature_view) DO UPDATE SET
         materialized_until = GREATEST(${this.table}.materialized_until, EXCLUDED.materialized_until),
         delta_version = GREATEST(${this.table}.delta_version, EXCLUDED.delta_version),
         updated_at = now()`,
      [this.project, view, untilMs, deltaVersion ?? null],
    );
  }
}
