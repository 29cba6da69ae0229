import type { DuckDBConnection } from '@duckdb/node-api';
import { Inject, Injectable } from '@nestjs/common';
import { featuresV1 } from '@pulse/contracts';
import { sqlIdent, sqlString } from '@pulse/lake';
import { grpcErrors, LOGGER, type Logger } from '@pulse/platform';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import { resolveSelection } from '../online/feature-selection';
import type { LoadedRegistry } from '../registry/loaded-registry';
import { RegistryCache } from '../registry/registry.cache';
import { OfflineEngine } from './duckdb.provider';
import { checkEntityQuery, EntityQueryError, publicErrorText, runEntityQuery } from './entity-query.sandbox';
import { JobsRepository, type JobRecord } from './jobs.pg.repository';
import { fileRelation, lakePath } from './lake-paths';
import { OfflineStore } from './offline-store';
import { type RetrievalColumn, trainingSetSql, viewAsOfSql } from './offline-sql';
import { jobState, timestamp } from './job-proto';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_QUERY = 65_536;

interface RetrievalRequest {
  entityPath?: string;
  entityQuery?: string;
  refs: string[];
  outputPath: string;
  timestampColumn: string;
  fullFeatureNames: boolean;
  registryVersion: number;
}

/** A feature's column in the training set: `<view>__<feature>` with full feature names, else the feature's name. */
function outputColumn(view: string, feature: string, fullFeatureNames: boolean): string {
  return fullFeatureNames ? `${view}__${feature}` : feature;
}

interface RetrievalProgress {
  rowCount: number;
}

/**
 * GetHistoricalFeatures: a point-in-time-correct training set. The entity frame (Parquet/CSV under the
 * lake root, or a SQL query in which each feature view's offline rows are a table of the view's name)
 * is joined with every selected view by DuckDB's ASOF join (see viewAsOfSql) and written as one
 * Parquet file. Runs as a job; its state lives in PostgreSQL.
 */
@Injectable()
export class RetrievalService {
  constructor(
    @Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly registry: RegistryCache,
    private readonly jobs: JobsRepository,
    private readonly engine: OfflineEngine,
    private readonly offline: OfflineStore,
  ) {}

  async start(request: featuresV1.GetHistoricalFeaturesRequest): Promise<featuresV1.GetHistoricalFeaturesResponse> {
    const registry = this.registry.current;
    const selection = resolveSelection(registry, request, false);
    for (const g of selection.byView) {
      if (!g.view.def.source.batch) throw grpcErrors.failedPrecondition(`feature view ${g.view.def.name} has no offline (batch) source`);
    }
    const root = this.config.LAKE_ROOT;
    let entityPath: string | undefined;
    let entityQuery: string | undefined;
    if (request.entityPath) {
      entityPath = lakePath(root, request.entityPath, 'entity_path');
      if (!existsSync(entityPath)) throw grpcErrors.notFound(`entity_path "${request.entityPath}"`);
    } else if (request.entityQuery) {
      if (request.entityQuery.length > MAX_QUERY) throw grpcErrors.invalidArgument('entity_query', `exceeds ${MAX_QUERY} characters`);
      entityQuery = request.entityQuery;
      await this.checkQuery(entityQuery);
    } else {
      throw grpcErrors.invalidArgument('entity_source', 'set entity_path or entity_query');
    }
    const outputPath = lakePath(root, request.outputPath, 'output_path');
    if (!/\.parquet$/i.test(outputPath)) throw grpcErrors.invalidArgument('output_path', 'must end in .parquet');
    if (existsSync(outputPath)) throw grpcErrors.alreadyExists(`output_path "${request.outputPath}"`);
    const timestampColumn = request.eventTimestampColumn || 'event_timestamp';
    if (!IDENT.test(timestampColumn)) throw grpcErrors.invalidArgument('event_timestamp_column', 'is not a column name');
    const outputs = selection.byView.flatMap((g) => g.features.map((f) => outputColumn(g.view.def.name, f.name, request.fullFeatureNames)));
    const dupe = outputs.find((o, i) => outputs.indexOf(o) !== i);
    if (dupe) throw grpcErrors.invalidArgument('full_feature_names', `two selected features are named "${dupe}"; set full_feature_names`);

    const job = await this.jobs.create<RetrievalRequest, RetrievalProgress>(
      'retrieval',
      {
        entityPath,
        entityQuery,
        refs: selection.refs,
        outputPath,
        timestampColumn,
        fullFeatureNames: request.fullFeatureNames,
        registryVersion: registry.version,
      },
      { rowCount: 0 },
    );
    void this.run(job, registry);
    return { job: this.toProto(job) };
  }

  async get(request: featuresV1.GetRetrievalJobRequest): Promise<featuresV1.GetRetrievalJobResponse> {
    if (!request.jobId) throw grpcErrors.invalidArgument('job_id', 'is required');
    const job = await this.jobs.get<RetrievalRequest, RetrievalProgress>(request.jobId, 'retrieval');
    if (!job) throw grpcErrors.notFound(`retrieval job "${request.jobId}"`);
    return { job: this.toProto(job) };
  }

  private async run(job: JobRecord<RetrievalRequest, RetrievalProgress>, registry: LoadedRegistry): Promise<void> {
    let connection: DuckDBConnection | undefined;
    try {
      await this.jobs.update(job.id, { state: 'RUNNING' });
      const open = (connection = await this.engine.connect());
      const rowCount = await this.jobs.whileAlive(job.id, () => this.build(open, job.request, registry));
      await this.jobs.update(job.id, { state: 'SUCCEEDED', progress: { rowCount } });
      this.logger.info({ job: job.id, rows: rowCount }, 'training set written');
    } catch (error) {
      // The reason goes back to the caller: no file paths of this host, first line only.
      const message = error instanceof EntityQueryError ? error.message : publicErrorText(error, this.config.LAKE_ROOT);
      this.logger.warn({ job: job.id, err: error }, 'retrieval job failed');
      await this.jobs.update(job.id, { state: 'FAILED', error: message }).catch(() => undefined);
    } finally {
      connection?.closeSync();
    }
  }

  private async checkQuery(query: string): Promise<void> {
    const connection = await this.engine.connect();
    try {
      await checkEntityQuery(connection, query);
    } finally {
      connection.closeSync();
    }
  }

  /** Builds the training set; returns its row count. */
  async build(connection: DuckDBConnection, request: RetrievalRequest, registry: LoadedRegistry): Promise<number> {
    const selection = resolveSelection(registry, { features: { refs: request.refs } }, false);
    const columns: RetrievalColumn[] = [];
    for (const g of selection.byView) {
      const relation = await this.offline.relation(g.view);
      columns.push({
        view: g.view,
        features: g.features,
        outputs: g.features.map((f) => outputColumn(g.view.def.name, f.name, request.fullFeatureNames)),
        relation,
      });
    }
    // A view with more source rows than a pass holds is joined partition by partition of its entities into
    // Parquet files of this job, then all views are assembled by entity row.
    const work = mkdtempSync(join(tmpdir(), 'pulse-feature-store-retrieval-'));
    try {
      let entityRelation: string;
      if (request.entityPath) {
        entityRelation = fileRelation(request.entityPath);
      } else {
        entityRelation = fileRelation(await this.entityQueryRows(request.entityQuery ?? '', columns, registry, join(work, 'entity')));
      }
      const ts = sqlIdent(request.timestampColumn);
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE __entity AS SELECT *, CAST(${ts} AS TIMESTAMP) AS __ets, row_number() OVER () AS __row FROM ${entityRelation}`,
      );
      const described = await connection.runAndReadAll('DESCRIBE __entity');
      const entityColumns = (described.getRowObjectsJS() as { column_name: string }[])
        .map((r) => r.column_name)
        .filter((c) => c !== '__ets' && c !== '__row');
      if (!entityColumns.includes(request.timestampColumn)) throw new Error(`the entity frame has no column "${request.timestampColumn}"`);
      for (const c of columns) {
        for (const key of c.view.joinKeys) {
          if (!entityColumns.includes(key))
            throw new Error(`the entity frame has no column "${key}" (join key of feature view ${c.view.def.name})`);
        }
        for (const o of c.outputs) {
          if (entityColumns.includes(o))
            throw new Error(`output column "${o}" is also a column of the entity frame; set full_feature_names`);
        }
      }
      mkdirSync(dirname(request.outputPath), { recursive: true });
      const perView: string[] = [];
      for (const [i, c] of columns.entries()) {
        const counted = await connection.runAndReadAll(`SELECT count(*) FROM ${c.relation}`);
        const passes = Math.max(1, Math.ceil(Number((counted.getRows()[0] ?? [0])[0]) / this.config.FEATURE_STORE_OFFLINE_PARTITION_ROWS));
        if (passes === 1) {
          perView.push(`(${viewAsOfSql(c)})`);
          continue;
        }
        for (let index = 0; index < passes; index++) {
          await connection.run(
            `COPY (${viewAsOfSql(c, { index, count: passes })}) TO ${sqlString(join(work, `v${i}-p${index}.parquet`))} (FORMAT parquet)`,
          );
        }
        perView.push(`read_parquet(${sqlString(join(work, `v${i}-p*.parquet`))})`);
      }
      const copied = await connection.runAndReadAll(
        `COPY (${trainingSetSql(columns, entityColumns, perView)}) TO ${sqlString(request.outputPath)} (FORMAT parquet)`,
      );
      return Number((copied.getRows()[0] ?? [0])[0]);
    } finally {
      await connection.run('DROP TABLE IF EXISTS __entity');
      rmSync(work, { recursive: true, force: true });
    }
  }

  /**
   * Runs the entity query in its sandbox (see runEntityQuery) and returns the Parquet file of its rows. Each
   * feature view's offline rows are a table named after the view; a view whose source has no data yet is left
   * out, and a query naming it fails with "table does not exist".
   */
  private async entityQueryRows(query: string, columns: RetrievalColumn[], registry: LoadedRegistry, workDir: string): Promise<string> {
    const selected = new Map(columns.map((c) => [c.view, c.relation]));
    const views = new Map<string, string>();
    for (const view of registry.views.values()) {
      if (!view.def.source.batch) continue;
      try {
        views.set(view.def.name, selected.get(view) ?? (await this.offline.relation(view)));
      } catch (error) {
        this.logger.debug({ view: view.def.name, err: error }, 'offline source not readable; left out of the entity query');
      }
    }
    const target = join(workDir, 'entity.parquet');
    await runEntityQuery({
      query,
      views,
      lakeRoot: this.config.LAKE_ROOT,
      workDir,
      target,
      limits: {
        memory: this.config.FEATURE_STORE_ENTITY_QUERY_MEMORY,
        threads: this.config.FEATURE_STORE_DUCKDB_THREADS,
        timeoutMs: this.config.FEATURE_STORE_ENTITY_QUERY_TIMEOUT,
      },
    });
    return target;
  }

  private toProto(job: JobRecord<RetrievalRequest, RetrievalProgress>): featuresV1.RetrievalJob {
    return {
      id: job.id,
      state: jobState(job.state),
      outputPath: relative(resolve(this.config.LAKE_ROOT), job.request.outputPath),
      rowCount: job.state === 'SUCCEEDED' ? job.progress.rowCount : 0,
      createdAt: timestamp(job.createdAt),
      finishedAt: timestamp(job.finishedAt),
      error: job.error,
    };
  }
}
