import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile, protoRoot } from '@pulse/contracts';
import { randomUUID } from 'node:crypto';
import { type ArrowField, type ArrowRow, readArrowStream } from './arrow-ipc';
import { SparkError, sparkErrorFromGrpc } from './spark-errors';

/**
 * A client of Spark Connect (`spark.connect.SparkConnectService`, Spark 4.0), the gRPC protocol PySpark and
 * the Scala client speak: plans are sent as protobuf messages of Spark's own `proto/spark/connect/*.proto`
 * (vendored from the server's jar, loaded at run time), results come back as Arrow IPC batches. It sends SQL
 * (`Relation.sql`) and DataFrame writes (`Command.write_operation`), sets session configuration, interrupts
 * operations by tag and releases sessions; the progress Spark reports while an operation runs
 * (`ExecutionProgress`: stages, tasks, bytes read) reaches the caller as it arrives.
 */

/** Where the server is and who the client is: `sc://host:port[/;user_id=...;token=...;use_ssl=true]`. */
export interface SparkRemote {
  host: string;
  port: number;
  userId: string;
  token?: string;
  useSsl: boolean;
}

const DEFAULT_PORT = 15002;

/** Parses a Spark Connect connection string (the format of `SPARK_REMOTE` and PySpark's `.remote()`). */
export function parseSparkRemote(remote: string, defaultUserId = 'pulse'): SparkRemote {
  const match = /^sc:\/\/([^/:;]+|\[[^\]]+\])(?::(\d+))?\/?(;.*)?$/.exec(remote.trim());
  if (!match) throw new Error(`"${remote}" is not a Spark Connect address (sc://host:port[/;param=value...])`);
  const params = new Map<string, string>();
  for (const part of (match[3] ?? '').split(';').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`"${remote}": parameter "${part}" is not name=value`);
    params.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1)));
  }
  const port = match[2] === undefined ? DEFAULT_PORT : Number(match[2]);
  if (port < 1 || port > 65535) throw new Error(`"${remote}": port ${port} is out of range`);
  return {
    host: match[1],
    port,
    userId: params.get('user_id') ?? defaultUserId,
    token: params.get('token'),
    useSsl: params.get('use_ssl') === 'true' || params.has('token'),
  };
}

/** What Spark reports while an operation runs: its stages (tasks done of total, bytes read) and running tasks. */
export interface SparkProgress {
  stages: { stageId: number; numTasks: number; numCompletedTasks: number; inputBytesRead: number; done: boolean }[];
  numInflightTasks: number;
}

export interface SparkResult {
  fields: ArrowField[];
  rows: ArrowRow[];
  /** The operation's id on the server (also its id in Spark's UI and logs). */
  operationId: string;
  /** The id of the relation a checkpoint command stored on the server. */
  checkpointId?: string;
}

export interface ExecuteOptions {
  /** Operation tag: `interrupt(tag)` cancels every running operation carrying it. */
  tag?: string;
  onProgress?: (progress: SparkProgress) => void;
  /** Rows of each Arrow batch as it arrives; then the result holds no rows (for results larger than memory). */
  onRows?: (rows: ArrowRow[]) => Promise<void> | void;
}

export interface DeltaWrite {
  /** SQL of the rows to write. */
  query: string;
  /** Table location (path or URI). */
  path: string;
  mode: 'overwrite' | 'append';
  partitionBy?: string[];
  /** Writer options, e.g. `userMetadata` (Delta's commitInfo.userMetadata), `overwriteSchema`. */
  options?: Record<string, string>;
}

const CLIENT_TYPE = 'pulse-analytics';
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

type GrpcStub = grpc.Client & Record<string, (...args: any[]) => any>;

export class SparkConnectClient {
  readonly remote: SparkRemote;
  private readonly stub: GrpcStub;

  constructor(remote: string | SparkRemote, channelOptions: grpc.ChannelOptions = {}) {
    this.remote = typeof remote === 'string' ? parseSparkRemote(remote) : remote;
    const definition = protoLoader.loadSync(protoFile('spark/connect/base.proto'), { ...LOADER_OPTIONS, includeDirs: [protoRoot()] });
    const ctor = (grpc.loadPackageDefinition(definition) as any).spark.connect.SparkConnectService as grpc.ServiceClientConstructor;
    let credentials = this.remote.useSsl ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    if (this.remote.token) {
      const token = this.remote.token;
      credentials = grpc.credentials.combineChannelCredentials(
        credentials,
        grpc.credentials.createFromMetadataGenerator((_params, callback) => {
          const metadata = new grpc.Metadata();
          metadata.set('authorization', `Bearer ${token}`);
          callback(null, metadata);
        }),
      );
    }
    this.stub = new ctor(`${this.remote.host}:${this.remote.port}`, credentials, {
      // Arrow batches are up to spark.connect.grpc.arrow.maxBatchSize (4 MiB) plus framing.
      'grpc.max_receive_message_length': 128 * 1024 * 1024,
      'grpc.max_send_message_length': 128 * 1024 * 1024,
      ...channelOptions,
    }) as GrpcStub;
  }

  /** A session on the server: its own SQL configuration, temporary views and cached tables. */
  session(sessionId: string = randomUUID()): SparkSession {
    return new SparkSession(this, sessionId);
  }

  /** The server's Spark version; fails with a SparkError (`unavailable`) when it does not answer in time. */
  async version(sessionId: string, deadlineMs = 2_000): Promise<string> {
    const response = await this.unary<{ sparkVersion?: { version: string } }>(
      'AnalyzePlan',
      { sessionId, userContext: this.userContext(), clientType: CLIENT_TYPE, sparkVersion: {} },
      deadlineMs,
      'AnalyzePlan(spark_version)',
    );
    return response.sparkVersion?.version ?? '';
  }

  close(): void {
    this.stub.close();
  }

  /** @internal */
  userContext() {
    return { userId: this.remote.userId, userName: this.remote.userId };
  }

  /** @internal one unary call, its failure as a SparkError */
  unary<T>(method: string, request: unknown, deadlineMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.stub[method](
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error: grpc.ServiceError | null, response: T) => (error ? reject(sparkErrorFromGrpc(error, what)) : resolve(response)),
      );
    });
  }

  /** @internal runs a plan and collects (or streams) its result */
  execute(sessionId: string, plan: unknown, what: string, options: ExecuteOptions = {}): Promise<SparkResult> {
    const operationId = randomUUID();
    return new Promise<SparkResult>((resolve, reject) => {
      const call: grpc.ClientReadableStream<any> = this.stub['ExecutePlan']({
        sessionId,
        userContext: this.userContext(),
        clientType: CLIENT_TYPE,
        operationId,
        plan,
        tags: options.tag ? [options.tag] : [],
      });
      const rows: ArrowRow[] = [];
      let fields: ArrowField[] = [];
      let checkpointId: string | undefined;
      let failed = false;
      let pending: Promise<void> = Promise.resolve();
      /** Ends the call with an error: the server's (as a SparkError), or the consumer's as it is. */
      const fail = (error: unknown, fromServer: boolean) => {
        if (failed) return;
        failed = true;
        call.cancel();
        reject(fromServer ? sparkErrorFromGrpc(error, what) : error);
      };
      call.on('data', (response: any) => {
        if (response.responseType === 'arrowBatch' && response.arrowBatch.data.length > 0) {
          try {
            const table = readArrowStream(response.arrowBatch.data);
            if (table.fields.length > 0) fields = table.fields;
            if (options.onRows) {
              const batch = table.rows;
              // Back-pressure: pause the stream while the consumer handles a batch.
              call.pause();
              pending = pending
                .then(() => options.onRows?.(batch))
                .then(
                  () => {
                    call.resume();
                  },
                  (error: unknown) => fail(error, false),
                );
            } else {
              for (const row of table.rows) rows.push(row);
            }
          } catch (error) {
            fail(new SparkError(`${what}: ${error instanceof Error ? error.message : String(error)}`, 'spark_error'), false);
          }
        } else if (response.responseType === 'checkpointCommandResult') {
          checkpointId = response.checkpointCommandResult.relation?.relationId;
        } else if (response.responseType === 'executionProgress' && options.onProgress) {
          options.onProgress({ stages: response.executionProgress.stages, numInflightTasks: response.executionProgress.numInflightTasks });
        }
      });
      call.on('error', (error) => fail(error, true));
      call.on('end', () => {
        if (failed) return;
        pending.then(
          () => {
            if (!failed) resolve({ fields, rows, operationId, checkpointId });
          },
          (error: unknown) => fail(error, false),
        );
      });
    });
  }
}

/** One Spark Connect session: SQL, Delta writes, configuration, interruption, release. */
export class SparkSession {
  constructor(
    private readonly client: SparkConnectClient,
    readonly id: string,
  ) {}

  /** Runs a SQL statement or query and returns its rows (commands run eagerly and return their output). */
  sql(query: string, options: ExecuteOptions = {}): Promise<SparkResult> {
    return this.client.execute(this.id, { root: { sql: { query } } }, `SQL ${firstWords(query)}`, options);
  }

  /** Writes the rows of a query to a Delta table in one commit (`df.write.format("delta").mode(...).save(path)`). */
  async writeDelta(write: DeltaWrite, options: ExecuteOptions = {}): Promise<void> {
    await this.client.execute(
      this.id,
      {
        command: {
          writeOperation: {
            input: { sql: { query: write.query } },
            source: 'delta',
            path: write.path,
            mode: write.mode === 'overwrite' ? 'SAVE_MODE_OVERWRITE' : 'SAVE_MODE_APPEND',
            partitioningColumns: write.partitionBy ?? [],
            options: write.options ?? {},
          },
        },
      },
      `Delta write to ${write.path}`,
      options,
    );
  }

  /**
   * Computes the rows of a query once and keeps them on the executors (memory, spilling to disk), with the
   * lineage cut (`df.localCheckpoint()`): iterative algorithms build each step from the stored previous one
   * instead of recomputing the whole chain. Returns the id of the stored relation (see `createView`).
   */
  async checkpoint(query: string, options: ExecuteOptions = {}): Promise<string> {
    const result = await this.client.execute(
      this.id,
      {
        command: {
          checkpointCommand: {
            relation: { sql: { query } },
            local: true,
            eager: true,
            storageLevel: { useDisk: true, useMemory: true, useOffHeap: false, deserialized: false, replication: 1 },
          },
        },
      },
      `checkpoint of ${firstWords(query)}`,
      options,
    );
    if (!result.checkpointId) throw new SparkError('Spark answered a checkpoint without the id of the stored relation', 'spark_error');
    return result.checkpointId;
  }

  /** Names a stored relation as a temporary view of this session, so SQL can read it. */
  async createView(name: string, checkpointId: string): Promise<void> {
    await this.client.execute(
      this.id,
      {
        command: {
          createDataframeView: { input: { cachedRemoteRelation: { relationId: checkpointId } }, name, isGlobal: false, replace: true },
        },
      },
      `view ${name}`,
    );
  }

  /** Frees a stored relation (its blocks on the executors). */
  async removeCheckpoint(checkpointId: string): Promise<void> {
    await this.client.execute(
      this.id,
      { command: { removeCachedRemoteRelationCommand: { relation: { relationId: checkpointId } } } },
      'remove checkpoint',
    );
  }

  /** Sets SQL configuration of this session only. */
  async setConf(pairs: Record<string, string>): Promise<void> {
    await this.client.unary(
      'Config',
      {
        sessionId: this.id,
        userContext: this.client.userContext(),
        clientType: CLIENT_TYPE,
        operation: { set: { pairs: Object.entries(pairs).map(([key, value]) => ({ key, value })) } },
      },
      10_000,
      'Config(set)',
    );
  }

  /** Cancels the running operations of this session carrying `tag` (all of them without a tag). */
  async interrupt(tag?: string): Promise<void> {
    await this.client.unary(
      'Interrupt',
      {
        sessionId: this.id,
        userContext: this.client.userContext(),
        clientType: CLIENT_TYPE,
        ...(tag ? { interruptType: 'INTERRUPT_TYPE_TAG', operationTag: tag } : { interruptType: 'INTERRUPT_TYPE_ALL' }),
      },
      10_000,
      'Interrupt',
    );
  }

  /** Ends the session on the server: its temporary views, cached tables and configuration go. */
  async release(): Promise<void> {
    await this.client.unary(
      'ReleaseSession',
      { sessionId: this.id, userContext: this.client.userContext(), clientType: CLIENT_TYPE },
      10_000,
      'ReleaseSession',
    );
  }
}

function firstWords(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 60)}…` : flat;
}
