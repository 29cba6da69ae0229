import type { DuckDBConnection } from '@duckdb/node-api';
import { Inject, Injectable } from '@nestjs/common';
import { featuresV1, timestampToMillis } from '@pulse/contracts';
import { sqlIdent } from '@pulse/lake';
import { grpcErrors, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import { decodeJoinKeys } from '../online/entity-key';
import { OnlineStoreRepository, type OnlineWrite, WriteOutcome } from '../online/online-store.redis.repository';
import { onlineWrite } from '../online/online-writes';
import { coercePlain, type PlainValue } from '../online/value-codec';
import type { LoadedRegistry, ServedView } from '../registry/loaded-registry';
import { RegistryCache } from '../registry/registry.cache';
import { OfflineEngine } from './duckdb.provider';
import { jobState, timestamp } from './job-proto';
import { JobsRepository, type JobRecord } from './jobs.pg.repository';
import { OfflineStore } from './offline-store';
import { countRowsSql, entityKeysSql, latestPerEntitySql, materializationFilter, sqlTimestamp, sqlValue } from './offline-sql';
import { WatermarksRepository } from './watermarks.pg.repository';

const MAX_ENTITY_ROWS = 10_000;

interface MaterializationRequest {
  views: string[];
  startMs?: number;
  endMs: number;
  /** Entity filter: join key values per row (plain JSON values). */
  entityRows: Record<string, string | number | boolean>[];
  registryVersion: number;
}

export interface ViewProgress {
  featureView: string;
  startMs: number;
  endMs: number;
  state: 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  written: number;
  scanned: number;
  unchanged: number;
  superseded: number;
}

/**
 * Materialize: copies, per online view with an offline source, the latest row of each entity in
 * [start, end) from the lake to Redis. Incremental by default: each view starts at its watermark (the
 * end of its last full materialisation) or, never materialised, at now minus its ttl; a Delta source also
 * re-reads the entities of the files added since the table version of its last run (see materializeOne). DuckDB streams
 * the result in chunks and Redis gets FEATURE_STORE_MATERIALIZE_BATCH entities per round trip, so memory
 * stays bounded by DuckDB's limit and one batch. The write script compares with what is online: an
 * entity whose values and event time are already there, or that holds a newer event time, is not
 * written (both counted). A run restricted to some entities does not move the watermark.
 */
@Injectable()
export class MaterializationService {
  private readonly entities: Counter<'outcome'>;

  constructor(
    @Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly registry: RegistryCache,
    private readonly jobs: JobsRepository,
    private readonly engine: OfflineEngine,
    private readonly offline: OfflineStore,
    private readonly store: OnlineStoreRepository,
    private readonly watermarks: WatermarksRepository,
    metrics: ServiceMetrics,
  ) {
    this.entities = new Counter({
      name: 'feature_store_materialized_entities_total',
      help: 'Entities handled by materialisation, by outcome (written, unchanged, superseded)',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
  }

  async start(request: featuresV1.MaterializeRequest): Promise<featuresV1.MaterializeResponse> {
    const registry = this.registry.current;
    const now = Date.now();
    let views: ServedView[];
    if ((request.featureViews ?? []).length > 0) {
      views = request.featureViews.map((name, i) => {
        const view = registry.views.get(name);
        if (!view) throw grpcErrors.notFound(`feature view "${name}"`);
        if (!view.def.online)
          throw grpcErrors.invalidArgument(`feature_views[${i}]`, `feature view ${name} is not served online (online: false)`);
        if (!view.def.source.batch)
          throw grpcErrors.invalidArgument(`feature_views[${i}]`, `feature view ${name} has no offline source to materialise from`);
        return view;
      });
      if (new Set(views).size !== views.length) throw grpcErrors.invalidArgument('feature_views', 'a view is listed twice');
    } else {
      views = [...registry.views.values()].filter((v) => v.def.online && v.def.source.batch);
      if (views.length === 0) throw grpcErrors.failedPrecondition('no online feature view has an offline source to materialise from');
    }
    const startMs = request.startTime ? timestampToMillis(request.startTime) : undefined;
    const endMs = request.endTime ? timestampToMillis(request.endTime) : now;
    if (endMs > now + this.config.FEATURE_STORE_MAX_FUTURE_SKEW) throw grpcErrors.invalidArgument('end_time', 'is in the future');
    if (startMs !== undefined && startMs >= endMs) throw grpcErrors.invalidArgument('start_time', 'must be before end_time');
    const rows = request.entityRows ?? [];
    if (rows.length > MAX_ENTITY_ROWS)
      throw grpcErrors.invalidArgument('entity_rows', `${rows.length} rows exceed the limit of ${MAX_ENTITY_ROWS}`);
    const entityRows = rows.map((row, i) => {
      const keys = decodeJoinKeys(row?.joinKeys, views, `entity_rows[${i}].join_keys`);
      return Object.fromEntries([...keys].map(([k, v]) => [k, v as string | number | boolean]));
    });
    const progress: ViewProgress[] = views.map((v) => ({
      featureView: v.def.name,
      startMs: 0,
      endMs,
      state: 'PENDING',
      written: 0,
      scanned: 0,
      unchanged: 0,
      superseded: 0,
    }));
    const job = await this.jobs.create<MaterializationRequest, ViewProgress[]>(
      'materialization',
      { views: views.map((v) => v.def.name), startMs, endMs, entityRows, registryVersion: registry.version },
      progress,
    );
    void this.run(job, registry);
    return { job: this.toProto(job) };
  }

  async get(request: featuresV1.GetMaterializationStatusRequest): Promise<featuresV1.GetMaterializationStatusResponse> {
    if (!request.jobId) throw grpcErrors.invalidArgument('job_id', 'is required');
    const job = await this.jobs.get<MaterializationRequest, ViewProgress[]>(request.jobId, 'materialization');
    if (!job) throw grpcErrors.notFound(`materialization job "${request.jobId}"`);
    return { job: this.toProto(job) };
  }

  private async run(job: JobRecord<MaterializationRequest, ViewProgress[]>, registry: LoadedRegistry): Promise<void> {
    const progress = job.progress;
    let connection: DuckDBConnection | undefined;
    try {
      await this.jobs.update(job.id, { state: 'RUNNING' });
      const open = (connection = await this.engine.connect());
      const failure = await this.jobs.whileAlive(job.id, () => this.runViews(job, registry, open));
      await this.jobs.update(job.id, failure ? { state: 'FAILED', error: failure } : { state: 'SUCCEEDED' });
    } catch (error) {
      await this.jobs
        .update(job.id, { state: 'FAILED', error: error instanceof Error ? error.message : String(error), progress })
        .catch(() => undefined);
    } finally {
      connection?.closeSync();
    }
  }

  /** Materialises each view of a job in turn; the first failure's message, or undefined. */
  private async runViews(
    job: JobRecord<MaterializationRequest, ViewProgress[]>,
    registry: LoadedRegistry,
    connection: DuckDBConnection,
  ): Promise<string | undefined> {
    const progress = job.progress;
    let failure: string | undefined;
    for (const p of progress) {
      const view = registry.views.get(p.featureView);
      if (!view) throw new Error(`feature view ${p.featureView} is not in registry version ${registry.version}`);
      try {
        p.state = 'RUNNING';
        await this.materializeOne(connection, view, p, job.request, () => this.jobs.update(job.id, { progress }));
        p.state = 'SUCCEEDED';
      } catch (error) {
        p.state = 'FAILED';
        failure ??= `${view.def.name}: ${error instanceof Error ? error.message : String(error)}`;
        this.logger.warn({ job: job.id, view: view.def.name, err: error }, 'materialisation of a view failed');
      }
      await this.jobs.update(job.id, { progress });
    }
    return failure;
  }

  /**
   * One view of a job. Incremental runs over a Delta table whose last run's table version is known read
   * the entities that have rows in data files added since that version (late rows included, whatever
   * their event time) or rows with event time after the time watermark, and write the latest row of each
   * of those entities within the ttl. Other runs read the time interval [start, end). Runs restricted to
   * some entities leave the watermark alone; explicit intervals do not record a table version.
   */
  private async materializeOne(
    connection: DuckDBConnection,
    view: ServedView,
    p: ViewProgress,
    request: MaterializationRequest,
    onBatch: () => Promise<void>,
  ): Promise<void> {
    const incremental = request.startMs === undefined;
    const filtered = request.entityRows.length > 0;
    const state = await this.watermarks.get(view.def.name);
    const ttlStart = view.def.ttlMs > 0 ? p.endMs - view.def.ttlMs : 0;
    const delta = await this.offline.deltaChanges(view, incremental && !filtered ? state?.deltaVersion : undefined);
    const relation = delta?.relation ?? (await this.offline.relation(view));
    let keysTable: string | undefined;
    if (filtered) {
      keysTable = '__keys';
      const tuples = request.entityRows.map((r) => `(${view.joinKeys.map((k) => sqlValue(r[k])).join(', ')})`);
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE __keys AS SELECT * FROM (VALUES ${tuples.join(', ')}) t(${view.joinKeys.map(sqlIdent).join(', ')})`,
      );
    }
    if (delta?.added !== undefined && state) {
      // Entities touched since the last run: rows in added files, or rows after the time watermark.
      p.startMs = ttlStart;
      keysTable = '__keys';
      await connection.run(
        `CREATE OR REPLACE TEMP TABLE __keys AS
           ${entityKeysSql(view, delta.added, `__ts < ${sqlTimestamp(p.endMs)}`)}
           UNION
           ${entityKeysSql(view, relation, `__ts >= ${sqlTimestamp(state.untilMs)} AND __ts < ${sqlTimestamp(p.endMs)}`)}`,
      );
    } else {
      p.startMs = request.startMs ?? state?.untilMs ?? ttlStart;
    }
    if (p.startMs < p.endMs) await this.materializeView(connection, view, p, relation, keysTable, onBatch);
    if (keysTable) await connection.run('DROP TABLE IF EXISTS __keys');
    if (!filtered) await this.watermarks.advance(view.def.name, p.endMs, incremental ? delta?.version : undefined);
  }

  /** Streams the latest row per entity of [p.startMs, p.endMs) (of the entities in `keysTable`, if given) to Redis in batches; counts into `p`. */
  async materializeView(
    connection: DuckDBConnection,
    view: ServedView,
    p: ViewProgress,
    relation: string,
    keysTable: string | undefined,
    onBatch: () => Promise<void>,
  ): Promise<void> {
    const filter = materializationFilter(view, p.startMs, p.endMs, keysTable);
    // Large intervals are aggregated in passes over hash partitions of the entities, so DuckDB's state stays
    // within its memory limit whatever the size of the source.
    const counted = await connection.runAndReadAll(countRowsSql(view, relation, filter));
    const rowsInInterval = Number((counted.getRows()[0] ?? [0])[0]);
    const passes = Math.max(1, Math.ceil(rowsInInterval / this.config.FEATURE_STORE_OFFLINE_PARTITION_ROWS));
    const batchSize = this.config.FEATURE_STORE_MATERIALIZE_BATCH;
    let writes: OnlineWrite[] = [];
    const flush = async () => {
      const outcomes = await this.store.writeMany(writes);
      writes = [];
      let written = 0;
      let unchanged = 0;
      let superseded = 0;
      for (const o of outcomes) {
        if (o === WriteOutcome.Written) written++;
        else if (o === WriteOutcome.Unchanged) unchanged++;
        else superseded++;
      }
      p.written += written;
      p.unchanged += unchanged;
      p.superseded += superseded;
      this.entities.inc({ outcome: 'written' }, written);
      this.entities.inc({ outcome: 'unchanged' }, unchanged);
      this.entities.inc({ outcome: 'superseded' }, superseded);
      await onBatch();
    };
    for (let pass = 0; pass < passes; pass++) {
      const result = await connection.stream(latestPerEntitySql(view, relation, filter, { index: pass, count: passes }));
      for await (const rows of result.yieldRowObjectJs()) {
        for (const row of rows) {
          p.scanned++;
          const keys = new Map<string, PlainValue>();
          for (const k of view.joinKeys) {
            const v = row[k];
            keys.set(k, typeof v === 'bigint' ? Number(v) : (v as PlainValue));
          }
          const values = new Map<string, PlainValue>();
          for (const f of view.def.features) {
            const value = coercePlain(row[f.name], f.valueType);
            if (value !== null && typeof value === 'object' && 'error' in value) {
              throw new Error(
                `column ${f.name} of ${view.def.source.batch?.location ?? view.def.name}: ${value.error} (declared ${f.valueType})`,
              );
            }
            values.set(f.name, value as PlainValue);
          }
          writes.push(onlineWrite(view, keys, Number(row['__ts_ms']), values, this.config.FEATURE_STORE_EXPIRED_RETENTION));
          if (writes.length >= batchSize) await flush();
        }
      }
    }
    if (writes.length > 0) await flush();
  }

  private toProto(job: JobRecord<MaterializationRequest, ViewProgress[]>): featuresV1.MaterializationJob {
    return {
      id: job.id,
      state: jobState(job.state),
      views: job.progress.map((p) => ({
        featureView: p.featureView,
        startTime: p.startMs || p.state !== 'PENDING' ? timestamp(p.startMs) : undefined,
        endTime: timestamp(p.endMs),
        state: jobState(p.state),
        rowsWritten: p.written,
        entitiesScanned: p.scanned,
        entitiesUnchanged: p.unchanged,
        entitiesSuperseded: p.superseded,
      })),
      createdAt: timestamp(job.createdAt),
      startedAt: timestamp(job.startedAt),
      finishedAt: timestamp(job.finishedAt),
      error: job.error,
    };
  }
}
