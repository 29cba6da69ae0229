import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, quoteIdent } from '@pulse/platform';
import type { Pool, PoolClient } from 'pg';
import { EXPERIMENTS_CONFIG, type ExperimentsConfig } from '../config/experiments.config';
import type { Analysis, ExperimentRecord, NewExperiment, Status, StoredVariant } from './experiment';
import { ExperimentExistsError, ExperimentsRepository, type PlaceBuckets } from './experiments.repository';

interface Row {
  id: string;
  name: string;
  description: string;
  layer: string;
  traffic_percent: number;
  salt: string;
  variants: StoredVariant[];
  primary_metric: string;
  guardrail_metrics: string[];
  analysis: Analysis;
  status: Status;
  placement_start: number | null;
  bucket_start: number | null;
  bucket_end: number | null;
  created_at: Date;
  started_at: Date | null;
  stopped_at: Date | null;
  stop_reason: string;
}

function record(r: Row): ExperimentRecord {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    layer: r.layer,
    trafficPercent: Number(r.traffic_percent),
    salt: r.salt,
    variants: r.variants,
    primaryMetric: r.primary_metric,
    guardrailMetrics: r.guardrail_metrics,
    analysis: r.analysis,
    status: r.status,
    placementStart: r.placement_start,
    buckets: r.bucket_start === null || r.bucket_end === null ? null : { start: r.bucket_start, end: r.bucket_end },
    createdAt: r.created_at.getTime(),
    startedAt: r.started_at?.getTime() ?? null,
    stoppedAt: r.stopped_at?.getTime() ?? null,
    stopReason: r.stop_reason,
  };
}

/** Experiments in PostgreSQL (`<schema>.experiments`, migrations/001_experiments.sql). */
@Injectable()
export class PgExperimentsRepository extends ExperimentsRepository {
  private readonly table: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EXPERIMENTS_CONFIG) config: ExperimentsConfig,
  ) {
    super();
    this.table = `${quoteIdent(config.EXPERIMENTS_PG_SCHEMA)}.experiments`;
  }

  async insert(e: NewExperiment): Promise<ExperimentRecord> {
    try {
      const { rows } = await this.pool.query<Row>(
        `INSERT INTO ${this.table} (id, name, description, layer, traffic_percent, salt, variants, primary_metric, guardrail_metrics,
                                    analysis, status, placement_start)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'DRAFT', $11) RETURNING *`,
        [
          e.id,
          e.name,
          e.description,
          e.layer,
          e.trafficPercent,
          e.salt,
          JSON.stringify(e.variants),
          e.primaryMetric,
          e.guardrailMetrics,
          JSON.stringify(e.analysis),
          e.placementStart,
        ],
      );
      return record(rows[0]);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ExperimentExistsError(e.id);
      throw error;
    }
  }

  async get(id: string): Promise<ExperimentRecord | undefined> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${this.table} WHERE id = $1`, [id]);
    return rows[0] && record(rows[0]);
  }

  async list(filter: { status?: Status; layer?: string }): Promise<ExperimentRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.table} WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR layer = $2)
       ORDER BY created_at DESC, id`,
      [filter.status ?? null, filter.layer ?? null],
    );
    return rows.map(record);
  }

  async start(id: string, at: number, place: PlaceBuckets) {
    return this.transaction(async (client) => {
      const current = await this.lockedLayerRow(client, id);
      if (!current) return undefined;
      if (current.status !== 'DRAFT') return { record: current, started: false };
      const { rows: running } = await client.query<Row>(`SELECT * FROM ${this.table} WHERE layer = $1 AND status = 'RUNNING'`, [
        current.layer,
      ]);
      const range = place(current, running.map(record));
      const { rows } = await client.query<Row>(
        `UPDATE ${this.table} SET status = 'RUNNING', bucket_start = $2, bucket_end = $3, started_at = $4 WHERE id = $1 RETURNING *`,
        [id, range.start, range.end, new Date(at)],
      );
      return { record: record(rows[0]), started: true };
    });
  }

  async stop(id: string, at: number, reason: string) {
    return this.transaction(async (client) => {
      const current = await this.lockedLayerRow(client, id);
      if (!current) return undefined;
      if (current.status === 'STOPPED') return { record: current, stopped: false };
      const { rows } = await client.query<Row>(
        `UPDATE ${this.table} SET status = 'STOPPED', stopped_at = $2, stop_reason = $3 WHERE id = $1 RETURNING *`,
        [id, new Date(at), reason],
      );
      return { record: record(rows[0]), stopped: true };
    });
  }

  /** The experiment's row, with its layer locked for the transaction (starts and stops of a layer are serialised). */
  private async lockedLayerRow(client: PoolClient, id: string): Promise<ExperimentRecord | undefined> {
    const { rows: found } = await client.query<{ layer: string }>(`SELECT layer FROM ${this.table} WHERE id = $1`, [id]);
    if (!found[0]) return undefined;
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.table}:layer:${found[0].layer}`]);
    const { rows } = await client.query<Row>(`SELECT * FROM ${this.table} WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] && record(rows[0]);
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
