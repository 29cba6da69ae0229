import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { aggregateTopic, etlV1, millisToTimestamp, windowAggregateKey } from '@pulse/contracts';
import { type AddAction, type DeltaTable, sqlIdent, utcDate } from '@pulse/lake';
import { grpcErrors, KAFKA_CLIENT, type KafkaClient, LOGGER, type Logger } from '@pulse/platform';
import { aggregateDefinitions, AggregateStreamsService } from '../aggregates/aggregate-streams.service';
import { activityBronzeTable } from '../bronze/bronze-tables';
import { ETL_CONFIG, type EtlConfig } from '../config/etl.config';
import { Lake } from '../lake/lake';
import { aggregateWindowsSql } from './aggregate-sql';

const MAX_RANGE_MS = 90 * 86_400_000;

interface Job {
  job: etlV1.BackfillJob;
  cancelled: boolean;
}

/** What StartBackfill asks for: event-time bounds in ms since the epoch, undefined when not given. */
export interface BackfillRequest {
  aggregate: string;
  fromMs?: number;
  toMs?: number;
  republish: boolean;
}

function checkRequest(request: BackfillRequest): Required<BackfillRequest> {
  if (!request.aggregate) throw grpcErrors.invalidArgument('aggregate', 'required');
  if (request.fromMs === undefined) throw grpcErrors.invalidArgument('from_time', 'required');
  if (request.toMs === undefined) throw grpcErrors.invalidArgument('to_time', 'required');
  return { ...request, fromMs: request.fromMs, toMs: request.toMs };
}

/**
 * Backfills: recompute one aggregate over a past event-time range from the bronze activity table and
 * replace those windows in the aggregate's table, in one Delta commit (an overwrite of the affected
 * window-date partitions: rows outside the range are rewritten unchanged). Jobs run one at a time per
 * replica and are kept in memory (GetBackfill answers for this replica's jobs).
 */
@Injectable()
export class BackfillService {
  private readonly jobs = new Map<string, Job>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    @Inject(ETL_CONFIG) private readonly config: EtlConfig,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly lake: Lake,
    private readonly aggregates: AggregateStreamsService,
  ) {}

  start(requested: BackfillRequest): etlV1.BackfillJob {
    const request = checkRequest(requested);
    const definition = aggregateDefinitions(this.config).find((d) => d.name === request.aggregate);
    if (!definition) throw grpcErrors.notFound(`aggregate ${request.aggregate}`);
    if (!this.aggregates.stream(definition.name)) {
      throw grpcErrors.failedPrecondition(
        `this replica does not run the aggregates (ETL_AGGREGATE_STREAMS=false); call the etl-aggregates release`,
      );
    }
    if (definition.window.kind === 'session') {
      throw grpcErrors.failedPrecondition(
        `${request.aggregate} uses session windows, which depend on events outside any range; backfill is for tumbling and sliding windows`,
      );
    }
    const slide = definition.window.kind === 'sliding' ? definition.window.slideMs : definition.window.sizeMs;
    const fromMs = Math.floor(request.fromMs / slide) * slide;
    if (request.toMs <= request.fromMs) throw grpcErrors.invalidArgument('to_time', 'must be after from_time');
    if (request.toMs - fromMs > MAX_RANGE_MS) throw grpcErrors.invalidArgument('to_time', 'at most 90 days after from_time');
    const watermark = this.aggregates.stream(definition.name)?.watermarkMs() ?? null;
    const closedUntil = watermark === null ? null : watermark - this.config.ETL_ALLOWED_LATENESS - definition.window.sizeMs;
    if (closedUntil === null || request.toMs > closedUntil) {
      throw grpcErrors.failedPrecondition(
        `windows up to to_time are not final yet (stream watermark ${watermark === null ? 'unset' : new Date(watermark).toISOString()}); backfill only ranges the stream has closed`,
      );
    }
    for (const { job } of this.jobs.values()) {
      const active = job.state === etlV1.BackfillState.BACKFILL_STATE_PENDING || job.state === etlV1.BackfillState.BACKFILL_STATE_RUNNING;
      const from = job.fromTime!.seconds * 1000;
      const to = job.toTime!.seconds * 1000;
      if (active && job.aggregate === definition.name && from < request.toMs && fromMs < to) {
        throw grpcErrors.failedPrecondition(
          `backfill ${job.id} of ${job.aggregate} overlaps this range and is ${etlV1.BackfillState[job.state]}`,
        );
      }
    }
    const job: Job = {
      cancelled: false,
      job: {
        id: randomUUID(),
        aggregate: definition.name,
        fromTime: millisToTimestamp(fromMs),
        toTime: millisToTimestamp(request.toMs),
        state: etlV1.BackfillState.BACKFILL_STATE_PENDING,
        republish: request.republish,
        windowsTotal: 0,
        windowsDone: 0,
        rowsWritten: 0,
        createdAt: millisToTimestamp(Date.now()),
        startedAt: undefined,
        finishedAt: undefined,
        error: '',
      },
    };
    this.jobs.set(job.job.id, job);
    this.queue = this.queue.then(() => this.run(job, fromMs, request.toMs));
    return { ...job.job };
  }

  get(id: string): etlV1.BackfillJob {
    return { ...this.find(id).job };
  }

  cancel(id: string): etlV1.BackfillJob {
    const job = this.find(id);
    if (job.job.state === etlV1.BackfillState.BACKFILL_STATE_PENDING || job.job.state === etlV1.BackfillState.BACKFILL_STATE_RUNNING) {
      job.cancelled = true;
      if (job.job.state === etlV1.BackfillState.BACKFILL_STATE_PENDING) this.finish(job, etlV1.BackfillState.BACKFILL_STATE_CANCELLED);
    }
    return { ...job.job };
  }

  private find(id: string): Job {
    if (!id) throw grpcErrors.invalidArgument('job_id', 'required');
    const job = this.jobs.get(id);
    if (!job) throw grpcErrors.notFound(`backfill ${id}`);
    return job;
  }

  /** Resolves when every queued job has finished (tests, shutdown). */
  async idle(): Promise<void> {
    await this.queue;
  }

  private finish(job: Job, state: etlV1.BackfillState, error = ''): void {
    job.job.state = state;
    job.job.error = error;
    job.job.finishedAt = millisToTimestamp(Date.now());
  }

  private async run(job: Job, fromMs: number, toMs: number): Promise<void> {
    if (job.cancelled) return;
    job.job.state = etlV1.BackfillState.BACKFILL_STATE_RUNNING;
    job.job.startedAt = millisToTimestamp(Date.now());
    try {
      const definition = aggregateDefinitions(this.config).find((d) => d.name === job.job.aggregate)!;
      // The bronze table may be written by other replicas (ETL_BRONZE_STREAMS=false here): open it.
      const source = activityBronzeTable(this.config.LAKE_TARGET_FILE_SIZE, this.config.LAKE_CHECKPOINT_INTERVAL);
      const bronze = await this.lake.table(source.name, source.path, source.create);
      const target = await this.lake.find(`agg_${definition.name}`);
      if (!target) throw new Error(`the table of ${definition.name} is not open on this replica`);
      const bronzeScan = await bronze.table.scanSql(await bronze.table.refresh());
      const recomputed = aggregateWindowsSql(definition, bronzeScan, fromMs, toMs);
      const engine = this.lake.engine;
      const staged = `pulse_backfill_${job.job.id.replace(/-/g, '')}`;
      await engine.run(`CREATE TABLE ${sqlIdent(staged)} AS ${recomputed}`);
      try {
        const [{ n }] = await engine.query<{ n: number }>(`SELECT count(*)::INT AS n FROM ${sqlIdent(staged)}`);
        job.job.windowsTotal = n;
        if (job.cancelled) return this.finish(job, etlV1.BackfillState.BACKFILL_STATE_CANCELLED);

        const snapshot = await target.table.refresh();
        const firstDay = utcDate(fromMs);
        const lastDay = utcDate(toMs - 1);
        const affected = snapshot.files.filter((f) => {
          const day = f.partitionValues['window_date'] ?? '';
          return day >= firstDay && day <= lastDay;
        });
        const existing = await target.table.scanSql({ ...snapshot, files: affected });
        const column = sqlIdent(definition.group.column);
        const inRange = `window_start >= make_timestamptz(${fromMs * 1000}) AND window_start < make_timestamptz(${toMs * 1000})`;
        const metrics = [...definition.counters.map((c) => c.name), ...definition.derived.map((d) => d.name)].map(sqlIdent);
        const now = Date.now();
        const replaced = `${staged}_rows`;
        await engine.run(
          `CREATE TABLE ${sqlIdent(replaced)} AS SELECT n.window_start, n.window_end, n.${column}, ${metrics.map((m) => `n.${m}`).join(', ')}, ` +
            `(coalesce(o.update_count, 0) + 1)::INTEGER AS update_count, make_timestamptz(${now * 1000}) AS emitted_at, ` +
            `CAST(n.window_start AT TIME ZONE 'UTC' AS DATE) AS window_date ` +
            `FROM ${sqlIdent(staged)} n LEFT JOIN (SELECT * FROM ${existing} WHERE ${inRange}) o USING (window_start, ${column})`,
        );
        const rows = `SELECT * FROM ${existing} WHERE NOT (${inRange}) UNION ALL SELECT * FROM ${sqlIdent(replaced)}`;
        const { files } = await target.table.writeFiles(rows);
        const written = files.reduce((s, f) => s + (JSON.parse(f.stats ?? '{}').numRecords ?? 0), 0);
        if (job.cancelled) {
          await target.table.discard(files);
          return this.finish(job, etlV1.BackfillState.BACKFILL_STATE_CANCELLED);
        }
        await this.commitReplace(target.table, files, affected, fromMs, toMs, written);
        job.job.windowsDone = n;
        job.job.rowsWritten = n;
        if (job.job.republish) await this.republish(definition.name, definition.group.column, replaced, now);
        this.finish(job, etlV1.BackfillState.BACKFILL_STATE_SUCCEEDED);
        this.logger.info({ backfill: job.job.id, aggregate: definition.name, windows: n }, 'backfill finished');
      } finally {
        await engine.run(`DROP TABLE IF EXISTS ${sqlIdent(staged)}; DROP TABLE IF EXISTS ${sqlIdent(`${staged}_rows`)}`);
      }
    } catch (error) {
      this.logger.error({ err: error, backfill: job.job.id }, 'backfill failed');
      this.finish(job, etlV1.BackfillState.BACKFILL_STATE_FAILED, (error as Error).message);
    }
  }

  private async commitReplace(
    table: DeltaTable,
    added: AddAction[],
    removed: AddAction[],
    fromMs: number,
    toMs: number,
    rows: number,
  ): Promise<void> {
    const now = Date.now();
    try {
      await table.commit(
        [
          ...added.map((add) => ({ add })),
          ...removed.map((f) => ({
            remove: {
              path: f.path,
              deletionTimestamp: now,
              dataChange: true,
              extendedFileMetadata: true,
              partitionValues: f.partitionValues,
              size: f.size,
            },
          })),
        ],
        {
          operation: 'WRITE',
          operationParameters: {
            mode: 'Overwrite',
            predicate: `window_start >= '${new Date(fromMs).toISOString()}' AND window_start < '${new Date(toMs).toISOString()}'`,
          },
          operationMetrics: { numFiles: String(added.length), numOutputRows: String(rows), numRemovedFiles: String(removed.length) },
        },
      );
    } catch (error) {
      await table.discard(added);
      throw error;
    }
  }

  private async republish(aggregate: string, column: string, staged: string, now: number): Promise<void> {
    const definition = aggregateDefinitions(this.config).find((d) => d.name === aggregate)!;
    const rows = await this.lake.engine.query<Record<string, unknown>>(
      `SELECT epoch_ms(window_start) AS s, epoch_ms(window_end) AS e, * EXCLUDE (window_start, window_end, emitted_at, window_date) FROM ${sqlIdent(staged)}`,
    );
    const names = [...definition.counters.map((c) => c.name), ...definition.derived.map((d) => d.name)];
    const kind = definition.window.kind === 'sliding' ? etlV1.WindowKind.WINDOW_KIND_SLIDING : etlV1.WindowKind.WINDOW_KIND_TUMBLING;
    await this.kafka.producer.send(
      aggregateTopic(aggregate),
      rows.map((r) => {
        const group = { [column]: String(r[column]) };
        return {
          key: windowAggregateKey(new Date(Number(r['s'])), group),
          value: {
            aggregate,
            windowStart: millisToTimestamp(Number(r['s'])),
            windowEnd: millisToTimestamp(Number(r['e'])),
            windowKind: kind,
            slide: undefined,
            groupKey: group,
            metrics: Object.fromEntries(names.map((n) => [n, Number(r[n])])),
            emittedAt: millisToTimestamp(now),
            watermark: undefined,
            isFinal: true,
            // One above the table's final emission of the window, so readers keeping the highest take it.
            updateCount: Number(r['update_count']),
          },
        };
      }),
    );
  }
}
