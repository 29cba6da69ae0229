import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { etlV1, millisToDuration, millisToTimestamp } from '@pulse/contracts';
import { DeltaConflictError } from '@pulse/lake';
import { grpcErrors, KAFKA_CLIENT, type KafkaClient, LOGGER, type Logger, ServiceMetrics, requiredField } from '@pulse/platform';
import { Gauge } from 'prom-client';
import { ETL_CONFIG, type EtlConfig } from '../config/etl.config';
import { Lake, type ManagedTable } from '../lake/lake';
import { StreamRegistry } from '../streams/stream-registry';
import type { StreamRunner } from '../streams/stream-runner.kafka.consumer';
import { parsePartitionPredicate } from './partition-predicate';

const MIN_RETENTION_MS = 168 * 3600 * 1000;
const MAX_WHERE_LENGTH = 1024;
const MIB = 1024 * 1024;

/** End offsets per topic, queried once per status or metrics scrape. */
type EndOffsets = Map<string, Promise<bigint[]>>;

/**
 * Operations on the lake and the streams: status, compaction (also on a schedule), vacuum, pause and
 * resume. Each operation checks its request first (INVALID_ARGUMENT names the field).
 */
@Injectable()
export class EtlOperationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private compactionTimer?: NodeJS.Timeout;
  private compacting = false;

  constructor(
    @Inject(ETL_CONFIG) private readonly config: EtlConfig,
    @Inject(KAFKA_CLIENT) private readonly kafka: KafkaClient,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly lake: Lake,
    private readonly streams: StreamRegistry,
    metrics: ServiceMetrics,
  ) {
    const offsetsOf = (stream: StreamRunner<any, any>, ends: EndOffsets) => this.offsets(stream, ends);
    const streamsNow = () => this.streams.all();
    const tablesNow = () => this.lake.all();
    new Gauge({
      name: 'etl_stream_lag_records',
      help: "Records of a source partition not yet committed to the stream's table (end offset − table offset)",
      labelNames: ['stream', 'topic', 'partition'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        const ends: EndOffsets = new Map();
        for (const stream of streamsNow()) {
          for (const o of await offsetsOf(stream, ends).catch(() => [])) {
            this.set({ stream: stream.name, topic: o.topic, partition: String(o.partition) }, o.lag);
          }
        }
      },
    });
    new Gauge({
      name: 'etl_table_version',
      help: 'Latest committed version of a Delta table',
      labelNames: ['table'],
      registers: [metrics.registry],
      async collect() {
        this.reset();
        for (const { name, table } of await tablesNow()) this.set({ table: name }, table.version);
      },
    });
  }

  onApplicationBootstrap() {
    if (this.config.LAKE_COMPACTION_INTERVAL > 0) {
      this.compactionTimer = setInterval(() => void this.compactAll(), this.config.LAKE_COMPACTION_INTERVAL);
      this.compactionTimer.unref();
    }
  }

  onApplicationShutdown() {
    clearInterval(this.compactionTimer);
  }

  async status(): Promise<etlV1.GetStatusResponse> {
    const tables = await Promise.all((await this.lake.all()).map((t) => this.tableStatus(t)));
    const ends: EndOffsets = new Map();
    const streams = await Promise.all(this.streams.all().map((s) => this.streamStatus(s, ends)));
    return { tables, streams };
  }

  async tableStatus({ name, table }: ManagedTable): Promise<etlV1.DeltaTable> {
    const snapshot = await table.refresh();
    const info = await table.commitInfo(snapshot.version);
    return {
      name,
      location: table.location,
      version: snapshot.version,
      fileCount: snapshot.files.length,
      sizeBytes: snapshot.files.reduce((s, f) => s + f.size, 0),
      lastCommitAt: info ? millisToTimestamp(info.timestamp) : undefined,
      lastOperation: info?.operation ?? '',
      partitionColumns: snapshot.partitionColumns,
    };
  }

  async streamStatus(stream: StreamRunner<any, any>, ends: EndOffsets = new Map()): Promise<etlV1.StreamStatus> {
    const progress = stream.progress();
    const watermark = stream.watermarkMs();
    return {
      name: stream.name,
      state:
        progress.state === 'RUNNING'
          ? etlV1.StreamState.STREAM_STATE_RUNNING
          : progress.state === 'PAUSED'
            ? etlV1.StreamState.STREAM_STATE_PAUSED
            : etlV1.StreamState.STREAM_STATE_FAILED,
      watermark: watermark === null ? undefined : millisToTimestamp(watermark),
      offsets: await this.offsets(stream, ends),
      sinkTable: progress.sinkTable,
      lastBatchId: progress.lastBatchId,
      lastProgressAt: progress.lastProgressAt === null ? undefined : millisToTimestamp(progress.lastProgressAt),
      inputRowsPerSecond: progress.inputRowsPerSecond,
      processedRowsPerSecond: progress.processedRowsPerSecond,
      lastError: progress.lastError,
    };
  }

  /** Committed and end offsets of a stream's partitions; `ends` shares one end-offset query per topic. */
  private async offsets(stream: StreamRunner<any, any>, ends: EndOffsets): Promise<etlV1.TopicPartitionOffsets[]> {
    const committed = await stream.committedOffsets();
    const out: etlV1.TopicPartitionOffsets[] = [];
    for (const topic of stream.topics) {
      let end = ends.get(topic.name);
      if (!end) ends.set(topic.name, (end = this.kafka.admin.endOffsets(topic.name)));
      const done = committed.get(topic.name) ?? new Map<number, bigint>();
      (await end).forEach((end, partition) => {
        const at = done.get(partition) ?? 0n;
        out.push({
          topic: topic.name,
          partition,
          committedOffset: Number(at),
          endOffset: Number(end),
          lag: Number(end > at ? end - at : 0n),
        });
      });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  private async managed(name: string): Promise<ManagedTable> {
    const table = await this.lake.find(name);
    if (!table) throw grpcErrors.notFound(`table ${name}`);
    return table;
  }

  async compact(request: {
    table: string;
    where: string;
    zOrderBy: readonly string[];
    targetFileSizeBytes: number;
  }): Promise<etlV1.CompactTableResponse> {
    requiredField(request.table, 'table');
    if (request.where.length > MAX_WHERE_LENGTH) throw grpcErrors.invalidArgument('where', `at most ${MAX_WHERE_LENGTH} characters`);
    if (request.zOrderBy.length > 0) {
      throw grpcErrors.unimplemented('z_order_by: Z-ordering is not supported; compaction bin-packs files per partition');
    }
    const target = request.targetFileSizeBytes;
    if (target !== 0 && (target < MIB || target > 2048 * MIB)) {
      throw grpcErrors.invalidArgument('target_file_size_bytes', 'between 1 MiB and 2 GiB, or 0 for the table default');
    }
    const { table } = await this.managed(request.table);
    let filter: ((values: Record<string, string | null>) => boolean) | undefined;
    if (request.where) {
      try {
        filter = parsePartitionPredicate(request.where, table.snapshot().partitionColumns);
      } catch (error) {
        throw grpcErrors.invalidArgument('where', (error as Error).message);
      }
    }
    const started = Date.now();
    try {
      const result = await table.compact({
        targetFileSize: request.targetFileSizeBytes || undefined,
        partitionFilter: filter,
        predicate: request.where || undefined,
      });
      this.logger.info({ table: request.table, ...result }, 'table compacted');
      return {
        version: result.version ?? table.version,
        filesAdded: result.filesAdded,
        filesRemoved: result.filesRemoved,
        bytesAdded: result.bytesAdded,
        bytesRemoved: result.bytesRemoved,
        duration: millisToDuration(Date.now() - started),
      };
    } catch (error) {
      if (error instanceof DeltaConflictError) throw grpcErrors.aborted(`a concurrent commit conflicted: ${error.message}; retry`);
      throw error;
    }
  }

  async vacuum(request: { table: string; retentionMs: number | null; dryRun: boolean }): Promise<etlV1.VacuumTableResponse> {
    const { table } = await this.managed(requiredField(request.table, 'table'));
    const retentionMs = request.retentionMs ?? this.config.LAKE_VACUUM_RETENTION;
    if (retentionMs < MIN_RETENTION_MS) {
      throw grpcErrors.invalidArgument('retention', 'at least 168 hours, so streams and time travel keep the files they need');
    }
    const result = await table.vacuum({ retentionMs, dryRun: request.dryRun });
    const prefix = `${table.path}/`;
    return {
      filesDeleted: result.deleted.length,
      bytesDeleted: result.deleted.reduce((s, d) => s + d.size, 0),
      files: result.deleted.slice(0, 1000).map((d) => d.key.slice(prefix.length)),
      dryRun: result.dryRun,
    };
  }

  private stream(name: string): StreamRunner<any, any> {
    const stream = this.streams.get(requiredField(name, 'stream'));
    if (!stream)
      throw grpcErrors.notFound(
        `stream ${name} (streams of this replica: ${
          this.streams
            .all()
            .map((s) => s.name)
            .join(', ') || 'none'
        })`,
      );
    return stream;
  }

  async pause(name: string): Promise<etlV1.StreamStatus> {
    const stream = this.stream(name);
    await stream.pause();
    return this.streamStatus(stream);
  }

  async resume(name: string): Promise<etlV1.StreamStatus> {
    const stream = this.stream(name);
    await stream.resume();
    return this.streamStatus(stream);
  }

  /** Compacts every managed table that has small files (the scheduled OPTIMIZE). */
  async compactAll(): Promise<void> {
    if (this.compacting) return;
    this.compacting = true;
    try {
      for (const { name, table } of await this.lake.all()) {
        try {
          const result = await table.compact();
          if (result.version !== null) this.logger.info({ table: name, ...result }, 'scheduled compaction');
        } catch (error) {
          this.logger.warn({ err: error, table: name }, 'scheduled compaction failed; retried next time');
        }
      }
    } finally {
      this.compacting = false;
    }
  }
}
