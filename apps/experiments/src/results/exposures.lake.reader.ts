import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { type DeltaSnapshot, DeltaTable, LakeEngine, LocalLakeStorage, sqlString } from '@pulse/lake';
import { grpcErrors } from '@pulse/platform';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EXPERIMENTS_CONFIG, type ExperimentsConfig } from '../config/experiments.config';
import type { MetricDefinition } from './metrics';
import type { VariantSums } from './statistics';

/**
 * Every exposed user's values, from the experiment's exposures (`e`) and the user's pre-period engagement
 * (`pre`): one row per (variant, user). The metrics (metrics.ts) are expressions over these columns.
 */
const USER_VALUES_SQL = `
  SELECT variant, user_id,
         count(*)::DOUBLE AS exposures,
         sum(item_count)::DOUBLE AS items,
         sum(clicks)::DOUBLE AS clicks,
         sum(likes + comments + shares + bookmarks)::DOUBLE AS engagements,
         max(CASE WHEN likes + comments + shares + bookmarks > 0 THEN 1 ELSE 0 END)::DOUBLE AS converted,
         sum(hides)::DOUBLE AS hides,
         sum(dwell_ms)::DOUBLE / 1000 AS dwell_seconds
  FROM e GROUP BY variant, user_id`;

/** Engagements that count as a user's pre-period engagement (CUPED's covariate). */
const ENGAGEMENT_TYPES = ['LIKE', 'COMMENT', 'SHARE', 'BOOKMARK'];

export interface ExposureData {
  /** Version of the exposures table read; -1 when the table does not exist yet. */
  tableVersion: number;
  /** Latest served_at read, ms; null without exposures. */
  dataThrough: number | null;
  /** Per variant name: users, exposures and the sums of each metric. */
  variants: Map<string, { users: number; exposures: number; sums: Map<string, VariantSums> }>;
}

/**
 * Reads an experiment's exposures from the lake with DuckDB: the Delta table at its latest or a given version
 * (only the experiment's partitions), each user's values, and each user's engagement in bronze/activity before
 * the start (the CUPED covariate), summed per variant into the sufficient statistics the analysis needs.
 */
@Injectable()
export class ExposuresLakeReader implements OnApplicationShutdown {
  private engine?: Promise<LakeEngine>;
  private readonly storage: LocalLakeStorage;

  constructor(@Inject(EXPERIMENTS_CONFIG) private readonly config: ExperimentsConfig) {
    this.storage = new LocalLakeStorage(resolve(config.LAKE_ROOT));
  }

  private lake(): Promise<LakeEngine> {
    this.engine ??= LakeEngine.create({
      memoryLimit: this.config.EXPERIMENTS_DUCKDB_MEMORY,
      threads: this.config.EXPERIMENTS_DUCKDB_THREADS,
      tempDirectory: join(tmpdir(), `pulse-experiments-duckdb-${process.pid}`),
    });
    return this.engine;
  }

  async read(
    experiment: { id: string; startedAt: number; cupedLookbackDays: number; cuped: boolean },
    metrics: readonly MetricDefinition[],
    tableVersion: number,
  ): Promise<ExposureData> {
    const engine = await this.lake();
    const path = this.config.EXPERIMENTS_EXPOSURES_TABLE;
    if (!(await DeltaTable.exists(this.storage, path))) {
      if (tableVersion > 0) throw grpcErrors.notFound(`version ${tableVersion} of ${path}`);
      return { tableVersion: -1, dataThrough: null, variants: new Map() };
    }
    const table = await DeltaTable.open(this.storage, path, { engine });
    if (tableVersion > table.version) throw grpcErrors.notFound(`version ${tableVersion} of ${path} (latest is ${table.version})`);
    const snapshot = tableVersion > 0 ? await table.snapshotAt(tableVersion) : table.snapshot();
    const exposures = await table.scanSql(partitions(snapshot, (v) => v['experiment_id'] === experiment.id));
    const preStart = experiment.startedAt - experiment.cupedLookbackDays * 86_400_000;
    const pre = experiment.cuped ? await this.preEngagementSql(preStart, experiment.startedAt) : null;

    const sums = metrics.flatMap((m) => {
      const v = m.value;
      const d = m.denominator ?? '1';
      return [
        `sum(${v}) AS "${m.name}_sum"`,
        `sum(${v} * ${v}) AS "${m.name}_ss"`,
        `sum(${d}) AS "${m.name}_dsum"`,
        `sum(${d} * ${d}) AS "${m.name}_dss"`,
        `sum(${v} * ${d}) AS "${m.name}_vd"`,
        `sum(${v} * pre) AS "${m.name}_vpre"`,
      ];
    });
    const sql = `
      WITH e AS (SELECT * FROM ${exposures} WHERE experiment_id = ${sqlString(experiment.id)}),
      u AS (${USER_VALUES_SQL}),
      p AS (${pre ?? 'SELECT NULL::VARCHAR AS user_id, 0::DOUBLE AS engagement WHERE false'}),
      v AS (SELECT u.*, coalesce(p.engagement, 0)::DOUBLE AS pre FROM u LEFT JOIN p USING (user_id))
      SELECT variant, count(*)::DOUBLE AS users, sum(exposures) AS exposures,
             sum(pre) AS pre_sum, sum(pre * pre) AS pre_ss, ${sums.join(', ')}
      FROM v GROUP BY variant ORDER BY variant`;
    const rows = await engine.query<Record<string, number | string>>(sql);
    const [latest] = await engine.query<{ t: number | null }>(
      `SELECT epoch_ms(max(served_at))::DOUBLE AS t FROM ${exposures} WHERE experiment_id = ${sqlString(experiment.id)}`,
    );
    const variants: ExposureData['variants'] = new Map();
    for (const row of rows) {
      const n = Number(row['users']);
      const covariate = { sum: Number(row['pre_sum']), sumSquares: Number(row['pre_ss']) };
      const byMetric = new Map<string, VariantSums>();
      for (const m of metrics) {
        const num = (k: string) => Number(row[`${m.name}_${k}`]);
        byMetric.set(m.name, {
          users: n,
          main: { sum: num('sum'), sumSquares: num('ss') },
          denominator: m.kind === 'ratio' ? { sum: num('dsum'), sumSquares: num('dss') } : undefined,
          mainDenominatorProducts: m.kind === 'ratio' ? num('vd') : undefined,
          covariate: experiment.cuped ? covariate : undefined,
          mainCovariateProducts: experiment.cuped ? num('vpre') : undefined,
        });
      }
      variants.set(String(row['variant']), { users: n, exposures: Number(row['exposures']), sums: byMetric });
    }
    return { tableVersion: snapshot.version, dataThrough: latest?.t ?? null, variants };
  }

  /** Each user's engagements in [from, to) from the activity table (only its partitions of those days). */
  private async preEngagementSql(from: number, to: number): Promise<string | null> {
    const path = this.config.EXPERIMENTS_ACTIVITY_TABLE;
    if (!(await DeltaTable.exists(this.storage, path))) return null;
    const table = await DeltaTable.open(this.storage, path, { engine: await this.lake() });
    const first = new Date(from).toISOString().slice(0, 10);
    const last = new Date(to).toISOString().slice(0, 10);
    const scan = await table.scanSql(
      partitions(table.snapshot(), (v) => v['event_date'] === undefined || (v['event_date']! >= first && v['event_date']! <= last)),
    );
    return `SELECT user_id, count(*)::DOUBLE AS engagement FROM ${scan}
            WHERE occurred_at >= to_timestamp(${from / 1000}) AND occurred_at < to_timestamp(${to / 1000})
              AND type IN (${ENGAGEMENT_TYPES.map(sqlString).join(', ')})
            GROUP BY user_id`;
  }

  async onApplicationShutdown() {
    if (this.engine) (await this.engine).close();
  }
}

/** The snapshot with only the files of the partitions `keep` accepts (partition pruning). */
function partitions(snapshot: DeltaSnapshot, keep: (values: Record<string, string | null | undefined>) => boolean): DeltaSnapshot {
  return { ...snapshot, files: snapshot.files.filter((f) => keep(f.partitionValues)) };
}
