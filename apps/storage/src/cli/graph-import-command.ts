import { type ServiceError, status } from '@grpc/grpc-js';
import type { storageV1 } from '@pulse/contracts';
import { backoffDelayMs, sleep, type UnaryClient } from '@pulse/platform';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

export const USAGE = `usage: graph-import <edges-file> [flags]

Imports follow edges into storage with BulkImportFollows (no LWT, unlogged batches per partition), then recounts
the counters of every user in the file with RecountFollows. Resumable: progress is kept in a checkpoint file after
each stream and each recount call; running the command again continues from it. Importing the same file again
changes nothing.

The file: one edge per line, "follower_id,followee_id[,created_at]" (comma or tab), created_at as ISO 8601 or
epoch milliseconds; a first line naming the columns, blank lines and lines starting with # are skipped.

flags:
  --created-at <ISO>      time of the edges whose line has none (without it, every line needs its own: a re-run
                          must write the same times to write the same rows)
  --checkpoint <file>     where progress is kept (default: <edges-file>.import-checkpoint.json)
  --message-edges <n>     edges per gRPC message (default 5000, at most 10000)
  --stream-edges <n>      edges per stream, the checkpoint's step (default 500000)
  --recount-batch <n>     users per RecountFollows call (default 2000)
  --recount-all           recount every user of the graph with one scan of the edges instead of the file's users
                          (cheaper when the file holds much of the graph)
  --retries <n>           times a failed stream or recount is tried again from the checkpoint, with backoff, when
                          the service was unavailable or busy (default 5; 0: stop at the first failure)
`;

export interface CommandResult {
  output: string;
  exitCode: number;
}

/** What a finished import did. */
export interface GraphImportSummary {
  edges: number;
  /** Lines repeating an edge of the same stream (skipped), and edges of erased users (dropped). */
  edges_repeated: number;
  edges_dropped_erased: number;
  writes: number;
  users_recounted: number;
  counters_moved: number;
  resumed_from_line: number;
  seconds: number;
}

interface Checkpoint {
  file: string;
  /** Lines of the file (every line, skipped ones too) whose edges are imported. */
  linesDone: number;
  /** SHA-256 of those lines: a resume checks they are the same (lines after them may have been mended). */
  linesSha256: string;
  edges: number;
  edgesRepeated: number;
  edgesDroppedErased: number;
  writes: number;
  phase: 'edges' | 'recount';
  /** Users (in sorted order) recounted so far. */
  usersDone: number;
  countersMoved: number;
}

/** A line the command cannot import: it stops there, after the lines before it are imported. */
export class InputError extends Error {}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Failures a later attempt can get past: the service restarting or overloaded, a recount waiting for the counters' lease. */
const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.ABORTED, status.FAILED_PRECONDITION]);
const RETRY_BACKOFF = { initialDelayMs: 2000, maxDelayMs: 60_000, multiplier: 2 };

/**
 * `graph-import <file>`: the edges in streams of --stream-edges (each stream with defer_recount, its end recorded in
 * the checkpoint), then RecountFollows for every user of the file, --recount-batch at a time. Exit code 0 when all
 * is imported and recounted; 2 for a malformed line or flag (the lines before it are imported); 1 for a failed call
 * (run the command again to resume).
 */
export async function runGraphImport(
  argv: string[],
  client: UnaryClient,
  log: (line: string) => void = () => undefined,
): Promise<CommandResult> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'created-at': { type: 'string' },
        checkpoint: { type: 'string' },
        'message-edges': { type: 'string' },
        'stream-edges': { type: 'string' },
        'recount-batch': { type: 'string' },
        'recount-all': { type: 'boolean' },
        retries: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    return { output: `${(error as Error).message}\n${USAGE}`, exitCode: 2 };
  }
  if (args.values.help) return { output: USAGE, exitCode: 0 };
  const [file] = args.positionals;
  if (!file || args.positionals.length > 1) return { output: USAGE, exitCode: 2 };
  if (!existsSync(file)) return { output: `graph-import: ${file}: no such file\n`, exitCode: 2 };
  try {
    const defaultTime = args.values['created-at'] ? parseTime(args.values['created-at'], '--created-at') : undefined;
    const messageEdges = intFlag(args.values['message-edges'], '--message-edges', 5000, 10_000);
    const streamEdges = intFlag(args.values['stream-edges'], '--stream-edges', 500_000, Number.MAX_SAFE_INTEGER);
    const recountBatch = intFlag(args.values['recount-batch'], '--recount-batch', 2000, 10_000);
    const retries = args.values.retries === '0' ? 0 : intFlag(args.values.retries, '--retries', 5, 100);
    const checkpointFile = args.values.checkpoint ?? `${file}.import-checkpoint.json`;
    const plan = {
      file,
      defaultTime,
      messageEdges,
      streamEdges,
      recountBatch,
      recountAll: !!args.values['recount-all'],
      checkpointFile,
      log,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const summary = await importFile(client, plan);
        return { output: `${JSON.stringify({ ...summary, attempts: attempt })}\n`, exitCode: 0 };
      } catch (error) {
        const code = (error as ServiceError).code;
        if (attempt > retries || code === undefined || !RETRYABLE.has(code)) throw error;
        const delay = backoffDelayMs(RETRY_BACKOFF, attempt);
        log(
          `${(error as Error).message}: trying again from the checkpoint in ${(delay / 1000).toFixed(1)} s (retry ${attempt} of ${retries})`,
        );
        await sleep(delay);
      }
    }
  } catch (error) {
    if (error instanceof InputError) return { output: `graph-import: ${error.message}\n`, exitCode: 2 };
    const e = error as ServiceError;
    const what = e.code !== undefined ? `the storage service answered ${e.message}` : (e.message ?? String(error));
    return { output: `graph-import: ${what}\nrun the same command again to resume from the checkpoint\n`, exitCode: 1 };
  }
}

interface ImportPlan {
  file: string;
  defaultTime: Date | undefined;
  messageEdges: number;
  streamEdges: number;
  recountBatch: number;
  recountAll: boolean;
  checkpointFile: string;
  log: (line: string) => void;
}

async function importFile(client: UnaryClient, plan: ImportPlan): Promise<GraphImportSummary> {
  const started = performance.now();
  const checkpoint = await readCheckpoint(plan);
  const resumedFrom = checkpoint.linesDone;
  if (resumedFrom > 0) plan.log(`resuming after line ${resumedFrom} (${checkpoint.phase}) from ${plan.checkpointFile}`);
  if (checkpoint.phase === 'edges') {
    let stream: StreamWriter | undefined;
    let streamEdges = 0;
    let message: storageV1.Follow[] = [];
    let lineNo = 0;
    let lastLine = checkpoint.linesDone;
    const hashedThrough = createHash('sha256');
    let lastLineHash = hashedThrough.copy();
    const endStream = async () => {
      if (!stream) return;
      if (message.length > 0) await stream.write({ follows: message, deferRecount: true });
      message = [];
      const response = await stream.end();
      stream = undefined;
      checkpoint.edges += Number(response.edgesWritten);
      checkpoint.edgesRepeated += Number(response.edgesRepeated ?? 0);
      checkpoint.edgesDroppedErased += Number(response.edgesDroppedErased ?? 0);
      checkpoint.writes += Number(response.batchesWritten);
      checkpoint.linesDone = lastLine;
      checkpoint.linesSha256 = lastLineHash.digest('hex');
      saveCheckpoint(plan.checkpointFile, checkpoint);
      plan.log(`imported through line ${lastLine}: ${checkpoint.edges} edges`);
      streamEdges = 0;
    };
    try {
      for await (const line of lines(plan.file)) {
        lineNo++;
        hashedThrough.update(line).update('\n');
        if (lineNo <= checkpoint.linesDone) {
          lastLineHash = hashedThrough.copy();
          continue;
        }
        const edge = parseLine(line, lineNo, plan.defaultTime);
        if (edge) {
          stream ??= openImportStream(client);
          message.push(edge);
          streamEdges++;
          if (message.length >= plan.messageEdges) {
            await stream.write({ follows: message, deferRecount: true });
            message = [];
          }
        }
        lastLine = lineNo;
        lastLineHash = hashedThrough.copy();
        if (streamEdges >= plan.streamEdges) await endStream();
      }
      await endStream();
    } catch (error) {
      // A malformed line: what comes before it is imported (and checkpointed) before the command stops.
      if (error instanceof InputError) await endStream();
      else stream?.cancel();
      throw error;
    }
    checkpoint.linesDone = lineNo;
    checkpoint.linesSha256 = hashedThrough.digest('hex');
    checkpoint.phase = 'recount';
    saveCheckpoint(plan.checkpointFile, checkpoint);
  }

  let usersRecounted: number;
  if (plan.recountAll) {
    const response = await client.call<storageV1.RecountFollowsResponse>('RecountFollows', { allUsers: true }, { deadlineMs: 3_600_000 });
    usersRecounted = Number(response.usersRecounted);
    checkpoint.countersMoved += Number(response.countersMoved);
  } else {
    // Every user of the file, sorted, so a resumed recount continues where it stopped.
    const users = new Set<string>();
    let lineNo = 0;
    for await (const line of lines(plan.file)) {
      const edge = parseLine(line, ++lineNo, plan.defaultTime);
      if (edge) users.add(edge.followerId).add(edge.followeeId);
    }
    const sorted = [...users].sort();
    for (let i = checkpoint.usersDone; i < sorted.length; i += plan.recountBatch) {
      const userIds = sorted.slice(i, i + plan.recountBatch);
      const response = await client.call<storageV1.RecountFollowsResponse>('RecountFollows', { userIds }, { deadlineMs: 300_000 });
      checkpoint.countersMoved += Number(response.countersMoved);
      checkpoint.usersDone = i + userIds.length;
      saveCheckpoint(plan.checkpointFile, checkpoint);
    }
    usersRecounted = sorted.length;
  }
  rmSync(plan.checkpointFile, { force: true });
  return {
    edges: checkpoint.edges,
    edges_repeated: checkpoint.edgesRepeated,
    edges_dropped_erased: checkpoint.edgesDroppedErased,
    writes: checkpoint.writes,
    users_recounted: usersRecounted,
    counters_moved: checkpoint.countersMoved,
    resumed_from_line: resumedFrom,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

async function readCheckpoint(plan: ImportPlan): Promise<Checkpoint> {
  const fresh: Checkpoint = {
    file: plan.file,
    linesDone: 0,
    linesSha256: '',
    edges: 0,
    edgesRepeated: 0,
    edgesDroppedErased: 0,
    writes: 0,
    phase: 'edges',
    usersDone: 0,
    countersMoved: 0,
  };
  if (!existsSync(plan.checkpointFile)) return fresh;
  let saved: Checkpoint;
  try {
    saved = JSON.parse(readFileSync(plan.checkpointFile, 'utf8')) as Checkpoint;
  } catch (error) {
    throw new InputError(`${plan.checkpointFile} is not a readable checkpoint (${(error as Error).message}): remove it to start over`);
  }
  const hash = createHash('sha256');
  let lineNo = 0;
  for await (const line of lines(plan.file)) {
    if (++lineNo > saved.linesDone) break;
    hash.update(line).update('\n');
  }
  if (lineNo < saved.linesDone || hash.digest('hex') !== saved.linesSha256) {
    throw new InputError(
      `the first ${saved.linesDone} lines of ${plan.file} changed since ${plan.checkpointFile} was written: remove the checkpoint to import the file from the start`,
    );
  }
  return { ...fresh, ...saved };
}

/** Written beside and renamed over, so a crash leaves the old checkpoint or the new one, never half of one. */
function saveCheckpoint(file: string, checkpoint: Checkpoint): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(checkpoint));
  renameSync(`${file}.tmp`, file);
}

async function* lines(file: string): AsyncGenerator<string> {
  const reader = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    yield* reader;
  } finally {
    reader.close();
  }
}

/** One line's edge; undefined for a header, blank or comment line; InputError naming the line otherwise. */
export function parseLine(line: string, lineNo: number, defaultTime: Date | undefined): storageV1.Follow | undefined {
  const text = line.trim();
  if (!text || text.startsWith('#')) return undefined;
  const fields = text.split(/[,\t]/).map((f) => f.trim());
  if (lineNo === 1 && fields[0] === 'follower_id') return undefined;
  if (fields.length < 2 || fields.length > 3) {
    throw new InputError(`line ${lineNo}: expected follower_id,followee_id[,created_at], got ${fields.length} field(s)`);
  }
  const [followerId, followeeId, at] = fields;
  for (const [name, value] of [
    ['follower_id', followerId],
    ['followee_id', followeeId],
  ]) {
    if (!ID.test(value)) throw new InputError(`line ${lineNo}: ${name} "${value.slice(0, 80)}" is not 1..64 characters of [A-Za-z0-9_-]`);
  }
  if (followerId === followeeId) throw new InputError(`line ${lineNo}: a user cannot follow itself (${followerId})`);
  const time = at ? parseTime(at, `line ${lineNo}: created_at`) : defaultTime;
  if (!time) throw new InputError(`line ${lineNo}: no created_at, and no --created-at for lines without one`);
  const ms = time.getTime();
  return { followerId, followeeId, createdAt: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 } };
}

function parseTime(text: string, what: string): Date {
  const date = /^\d+$/.test(text) ? new Date(Number(text)) : new Date(text);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) {
    throw new InputError(`${what} "${text.slice(0, 80)}" is not an ISO 8601 time or epoch milliseconds`);
  }
  return date;
}

function intFlag(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InputError(`${name} must be an integer from 1 to ${max}, got "${value}"`);
  return n;
}

/** One BulkImportFollows call: messages written with the stream's backpressure, then the response. */
export interface StreamWriter {
  write(message: Partial<storageV1.BulkImportFollowsRequest>): Promise<void>;
  end(): Promise<storageV1.BulkImportFollowsResponse>;
  cancel(): void;
}

export function openImportStream(client: UnaryClient, deadlineMs = 3_600_000): StreamWriter {
  let settled: { response?: storageV1.BulkImportFollowsResponse; error?: ServiceError } | undefined;
  const waiting: (() => void)[] = [];
  const call = (client.raw as any).BulkImportFollows(
    client.metadata(),
    { deadline: Date.now() + deadlineMs },
    (error: ServiceError | null, response: storageV1.BulkImportFollowsResponse) => {
      settled = error ? { error } : { response };
      for (const wake of waiting.splice(0)) wake();
    },
  );
  const answer = async (): Promise<storageV1.BulkImportFollowsResponse> => {
    if (!settled) await new Promise<void>((resolve) => waiting.push(resolve));
    const { response, error } = settled ?? {};
    if (error) throw error;
    if (!response) throw new Error('BulkImportFollows ended without a response');
    return response;
  };
  return {
    async write(message) {
      // An answer before the end is a refusal (a malformed edge): the caller gets it now.
      if (settled) throw settled.error ?? new Error('BulkImportFollows answered before the stream ended');
      if (!call.write(message)) {
        await new Promise<void>((resolve) => {
          call.once('drain', resolve);
          waiting.push(resolve);
        });
        const refused = (settled as { error?: ServiceError } | undefined)?.error;
        if (refused) throw refused;
      }
    },
    end() {
      call.end();
      return answer();
    },
    cancel() {
      call.cancel();
    },
  };
}
