import { Injectable } from '@nestjs/common';
import type { analyticsV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { JobCatalog } from '../jobs/job-catalog';
import { LakeLocation } from '../lake/lake-location';
import type { ArrowRow } from '../spark/arrow-ipc';
import { SparkConnectClient } from '../spark/spark-connect.client';
import { SparkError } from '../spark/spark-errors';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * ReadJobOutput: the first rows of a job's output at its latest version, through Spark (the engine that wrote it,
 * reading the lake wherever it is), in a session of its own that is released after the read.
 */
@Injectable()
export class JobOutputReader {
  constructor(
    private readonly catalog: JobCatalog,
    private readonly spark: SparkConnectClient,
    private readonly lake: LakeLocation,
  ) {}

  async read(request: { job: string; limit: number }): Promise<analyticsV1.ReadJobOutputResponse> {
    if (!request.job) throw grpcErrors.invalidArgument('job', 'required: the name of a job (ListJobs lists them)');
    if (!Number.isInteger(request.limit) || request.limit < 0 || request.limit > MAX_LIMIT)
      throw grpcErrors.invalidArgument('limit', `between 0 and ${MAX_LIMIT} (0 means ${DEFAULT_LIMIT})`);
    const job = this.catalog.get(request.job);
    const limit = request.limit || DEFAULT_LIMIT;
    const session = this.spark.session();
    try {
      let version: number;
      try {
        const { rows } = await session.sql(`DESCRIBE HISTORY ${this.lake.deltaSql(job.output.path)} LIMIT 1`);
        version = Number(rows[0]?.['version']);
      } catch (error) {
        if (error instanceof SparkError && error.kind === 'input_missing')
          throw grpcErrors.notFound(`the output of ${job.name} (${job.output.path}): the job has not written it yet (RunJob)`);
        throw error;
      }
      if (!Number.isInteger(version)) throw grpcErrors.notFound(`the output of ${job.name} (${job.output.path}) has no commits`);
      const table = this.lake.deltaSql(job.output.path, version);
      const order = job.output.orderBy ? ` ORDER BY ${job.output.orderBy}` : '';
      const page = await session.sql(`SELECT * FROM ${table}${order} LIMIT ${limit}`);
      const count = await session.sql(`SELECT count(*) AS n FROM ${table}`);
      return {
        version,
        columns: page.fields.map((f) => f.name),
        rows: page.rows.map((row) => JSON.stringify(plain(row))),
        totalRows: Number(count.rows[0]?.['n'] ?? 0),
      };
    } catch (error) {
      if (error instanceof SparkError && error.kind === 'unavailable') throw grpcErrors.unavailable(`Spark: ${error.message}`);
      throw error;
    } finally {
      await session.release().catch(() => undefined);
    }
  }
}

/** A row as JSON takes it: dates as `YYYY-MM-DD`, timestamps as ISO 8601, 64-bit integers as numbers. */
function plain(row: ArrowRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) out[name] = plainValue(value);
  return out;
}

function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plainValue);
  return value;
}
