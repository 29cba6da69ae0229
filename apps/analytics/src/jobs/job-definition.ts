import type { ArrowRow } from '../spark/arrow-ipc';

/**
 * A batch job: the Delta tables it reads, the one Delta table it writes, and the Spark SQL between them.
 * Definitions are data plus SQL builders; the runner (runs/job-runner.service.ts) pins the inputs' versions,
 * checks the expectations, runs `build` in a Spark session of the run's own and writes what it returns in
 * one Delta commit (overwrite), with the versions read in the commit's `userMetadata`.
 */
export interface JobDefinition {
  /** Unique, `[a-z][a-z0-9_]*`. */
  name: string;
  description: string;
  layer: 'silver' | 'gold';
  /** Delta tables read, as paths under the lake root. Every one is read at one version for the whole run. */
  inputs: readonly string[];
  /**
   * Inputs that may not exist yet, read as no rows until they do (a CDC table of the app database gets its first
   * commit with the table's first change): input path → the SQL of an empty relation with the table's columns.
   */
  emptyUntilWritten?: Readonly<Record<string, string>>;
  output: JobOutput;
  /** Default cron schedule (UTC); `ANALYTICS_SCHEDULES` overrides it. Empty: on request only. */
  schedule: string;
  parameters?: readonly JobParameter[];
  /** Rules the inputs must keep; a broken one fails the run (BAD_INPUT) before anything is written. */
  expectations?: readonly Expectation[];
  /** Builds the output: may stage intermediate results, returns the SQL of the rows to write. */
  build(ctx: JobContext): Promise<string>;
  /** Where the committed output goes besides the lake. */
  export?: FeatureExport;
}

export interface JobOutput {
  /** Path under the lake root, e.g. `gold/pagerank`. */
  path: string;
  partitionBy: readonly string[];
  /** What one row is. */
  description: string;
  /** How ReadJobOutput orders the rows (a Spark SQL ORDER BY list over the output's columns); none: as stored. */
  orderBy?: string;
}

export interface JobParameter {
  name: string;
  /** Used when a run does not set the parameter. */
  defaultValue: string;
  description: string;
  /** A reason the value is refused, or undefined when it is fine. */
  check(value: string): string | undefined;
}

export interface Expectation {
  /** The input it checks (named in the failure). */
  input: string;
  /** The rule, as a sentence: `every change has a follower_id and a followee_id`. */
  rule: string;
  /** SQL returning one row: `violations` (count of rows breaking the rule) and `example` (one of them, text). */
  sql(ctx: JobContext): string;
}

/** What a job's SQL runs against: its parameters, its pinned inputs and its Spark session. */
export interface JobContext {
  readonly params: Readonly<Record<string, string>>;
  /** The table expression of an input at the version the run read: `delta.\`<uri>\` VERSION AS OF <n>`. */
  input(path: string): string;
  /** Runs a statement or a (small) query in the run's session. */
  query(sql: string): Promise<ArrowRow[]>;
  /**
   * Computes `sql` once, stores the rows on the executors with the lineage cut, and names them as a temporary
   * view (`name`) of the run's session; staging the same name again frees the rows it held.
   */
  stage(name: string, sql: string): Promise<void>;
  /** Tells GetJobRun what the run is doing, e.g. `iteration 3`. */
  phase(text: string): void;
}

/** Push of the committed output to a feature view of the feature store (pulse.features.v1.FeaturesService/Push). */
export interface FeatureExport {
  featureView: string;
  /** SQL over the committed output (a table expression) returning one row per entity. */
  sql(output: string): string;
  /** The join key column of the rows. */
  joinKey: string;
  /** Features of a row: name → typed value. */
  features(row: ArrowRow): Record<string, FeatureValueOf>;
}

export type FeatureValueOf =
  | { stringListValue: { values: string[] } }
  | { doubleListValue: { values: number[] } }
  | { int64ListValue: { values: number[] } }
  | { int64Value: number }
  | { doubleValue: number }
  | { stringValue: string };

/** An integer parameter within [min, max]. */
export function intParameter(name: string, defaultValue: number, min: number, max: number, description: string): JobParameter {
  return {
    name,
    defaultValue: String(defaultValue),
    description: `${description} (integer, ${min}..${max})`,
    check: (value) =>
      /^-?\d+$/.test(value) && Number(value) >= min && Number(value) <= max ? undefined : `must be an integer in ${min}..${max}`,
  };
}

/** A number parameter within [min, max]. */
export function numberParameter(name: string, defaultValue: number, min: number, max: number, description: string): JobParameter {
  return {
    name,
    defaultValue: String(defaultValue),
    description: `${description} (number, ${min}..${max})`,
    check: (value) => {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) && n >= min && n <= max ? undefined : `must be a number in ${min}..${max}`;
    },
  };
}

/** Quotes a value as a Spark SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
