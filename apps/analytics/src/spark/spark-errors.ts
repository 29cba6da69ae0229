import { type Metadata, status } from '@grpc/grpc-js';
import { decodeErrorInfo } from '@pulse/platform';

/**
 * Why a Spark call failed, as a job run reports it:
 * - `unavailable`: the Spark Connect server did not answer (down, restarting, unreachable) or went away mid-call;
 * - `input_missing`: a table or path the query reads does not exist;
 * - `bad_input`: the data broke a rule (SQLSTATE class 22, "data exception": a cast, a division by zero, an
 *   assertion of the job);
 * - `out_of_memory`: Spark ran out of memory (a task, the driver, or the JVM);
 * - `cancelled`: the operation was interrupted;
 * - `spark_error`: anything else Spark refused (a bug in a job's SQL, a failed task, ...).
 */
export type SparkFailureKind = 'unavailable' | 'input_missing' | 'bad_input' | 'out_of_memory' | 'cancelled' | 'spark_error';

/** A failed Spark Connect call, with what Spark said about it. */
export class SparkError extends Error {
  constructor(
    message: string,
    readonly kind: SparkFailureKind,
    readonly details: {
      grpcCode?: number;
      /** Spark's error class, e.g. `PATH_NOT_FOUND`, `CAST_INVALID_INPUT`. */
      errorClass?: string;
      sqlState?: string;
      /** The JVM exception class and its superclasses, most specific first. */
      classes?: string[];
    } = {},
  ) {
    super(message);
    this.name = 'SparkError';
  }
}

function parseClasses(json: string | undefined): string[] {
  if (!json) return [];
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

const MISSING_CLASSES = new Set([
  'PATH_NOT_FOUND',
  'TABLE_OR_VIEW_NOT_FOUND',
  'DELTA_MISSING_DELTA_TABLE',
  'DELTA_TABLE_NOT_FOUND',
  'DELTA_PATH_DOES_NOT_EXIST',
  'DELTA_EMPTY_DIRECTORY',
  'DELTA_TABLE_ONLY_OPERATION',
]);
const UNAVAILABLE_CODES = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

/** Classifies a failure from its gRPC code, Spark's error class, SQLSTATE, exception classes and message. */
export function classifySparkFailure(input: {
  grpcCode?: number;
  errorClass?: string;
  sqlState?: string;
  classes?: string[];
  message: string;
}): SparkFailureKind {
  const { grpcCode, errorClass = '', sqlState = '', classes = [], message } = input;
  if (grpcCode !== undefined && UNAVAILABLE_CODES.has(grpcCode)) return 'unavailable';
  if (grpcCode === status.CANCELLED || errorClass === 'OPERATION_CANCELED') return 'cancelled';
  if (classes.some((c) => /OutOfMemoryError$/.test(c)) || /OutOfMemoryError|UNABLE_TO_ACQUIRE_MEMORY|Java heap space/.test(message))
    return 'out_of_memory';
  if (MISSING_CLASSES.has(errorClass) || MISSING_CLASSES.has(errorClass.split('.')[0])) return 'input_missing';
  if (sqlState.startsWith('22') || errorClass === 'USER_RAISED_EXCEPTION') return 'bad_input';
  return 'spark_error';
}

/** A SparkError from a gRPC error of a Spark Connect call (the server's message and ErrorInfo kept). */
export function sparkErrorFromGrpc(error: unknown, what: string): SparkError {
  if (error instanceof SparkError) return error;
  const e = error as { code?: number; details?: string; message?: string; metadata?: Metadata };
  const info = decodeErrorInfo(e.metadata);
  const details = {
    grpcCode: e.code,
    errorClass: info?.metadata['errorClass'],
    sqlState: info?.metadata['sqlState'],
    classes: parseClasses(info?.metadata['classes']),
  };
  const raw = (e.details || e.message || String(error)).trim();
  const kind = classifySparkFailure({ ...details, message: raw });
  const message =
    kind === 'unavailable'
      ? `Spark Connect did not answer ${what}: ${raw} (start it: tools/stack/stack up spark)`
      : // Spark appends the analysed plan to analysis errors: keep the first lines.
        raw.split('\n').slice(0, 3).join(' ').slice(0, 2_000);
  return new SparkError(message, kind, details);
}
