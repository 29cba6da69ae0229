import { cdcV1 } from '@pulse/contracts';
import type { Logger } from '@pulse/platform';
import { capturedTable, type CapturedTable, type ChangeEventMapper, type EventPosition } from '../debezium/change-event.mapper';
import type { TypeRegistry } from '../debezium/pg-types';
import { type Lsn, maxLsn } from '../replication/lsn';
import { decodePgOutput, type PgOutputMessage, type RelationMessage } from '../replication/pgoutput.decoder';
import type { ReplicationConnection } from '../replication/replication.pg.connection';
import type { ReplicationMessage } from '../replication/replication-protocol';
import type { CdcCatalogRepository } from './cdc-catalog.pg.repository';
import { CdcTopics } from './cdc-topics';
import { encodeRecord, type EncodedRecord } from './kafka-records';
import { relationShape, schemaChangeRecord } from './schema-change';
import { type IncrementalSnapshotter, WATERMARK_PREFIX } from '../snapshot/incremental-snapshot';

/** Prefix of the heartbeat messages the service writes with pg_logical_emit_message. */
export const HEARTBEAT_PREFIX = 'pulse.cdc.heartbeat';

/** Socket reading pauses when this many messages wait to be handled, and resumes below the low mark. */
const INBOX_HIGH = 20_000;
const INBOX_LOW = 5_000;

type RecordStats = NonNullable<EncodedRecord['stats']>;

/** A transaction being received: its events not yet sent (earlier parts of a long one may be on Kafka, unconfirmed). */
interface OpenTransaction {
  xid: number;
  finalLsn: Lsn;
  commitTimeMicros: bigint;
  records: EncodedRecord[];
  /** Row events of the parts already sent. */
  sentStats: RecordStats[];
  totalOrder: number;
  tableOrders: Map<string, number>;
  /** Table shapes this transaction revealed; saved once its events are on Kafka. */
  shapes: Record<string, string>;
  /** Its replication origin (an ORIGIN message after BEGIN: replayed from another server); undefined when none. */
  origin?: { name: string; lsn: Lsn };
}

interface CommittedTransaction {
  records: EncodedRecord[];
  stats: RecordStats[];
  endLsn: Lsn;
  commitTimeMicros: bigint;
  shapes: Record<string, string>;
}

/** What a change stream shares with the capture service across sessions. */
export interface StreamContext {
  slot: string;
  publication: string;
  serverName: string;
  database: string;
  maxBatchRecords: number;
  maxBatchBytes: number;
  statusIntervalMs: number;
  types: TypeRegistry;
  mapper: ChangeEventMapper;
  catalog: CdcCatalogRepository;
  /** Table shapes last put on the schema change topic, by `schema.table`. */
  shapes: Map<string, string>;
  logger: Logger;
  /** Incremental snapshots: chunks are read between messages, emitted at their high watermark. */
  snapshots?: IncrementalSnapshotter;
  /** Writes records to Kafka (topics ensured first); resolves once all are acknowledged (acks=all). */
  send(records: readonly EncodedRecord[]): Promise<void>;
  /** Transactions whose events are all on Kafka, up to `endLsn`; called before the slot is told. */
  committed(batch: {
    transactions: number;
    stats: readonly RecordStats[];
    endLsn: Lsn;
    lastCommitMicros: bigint;
    shapes: Record<string, string>;
  }): Promise<void>;
  /** The position confirmed to the server (the slot's confirmed_flush_lsn once it processed the update). */
  confirmed(lsn: Lsn): void;
}

/**
 * One replication session: reads pgoutput from the slot, turns each transaction into Debezium events and
 * puts them on Kafka, then — and only then — confirms the transaction's commit end LSN to the server.
 * Consecutive small transactions share one produce; a long one is sent in several produces and
 * confirmed after its commit. A keepalive confirms the server's WAL end only when nothing is in flight.
 * Any failure ends the session unconfirmed; the next session re-reads from the slot (at-least-once).
 */
export class ChangeStream {
  private readonly relations = new Map<number, CapturedTable>();
  private readonly inbox = new Inbox();
  private wake?: () => void;
  private paused = false;
  private stopping = false;
  private failure?: Error;
  private busy = false;
  private open?: OpenTransaction;
  private committedTxs: CommittedTransaction[] = [];
  /** Records and bytes of `committedTxs`. */
  private pendingRecords = 0;
  private pendingBytes = 0;
  private flushed: Lsn;
  private lastCommitLsn: Lsn | null = null;
  private statusTimer?: NodeJS.Timeout;
  /** Commit time of the oldest transaction received and not yet confirmed; undefined when none. */
  private oldestPendingMicros?: bigint;

  constructor(
    private readonly connection: ReplicationConnection,
    private readonly context: StreamContext,
    startFlushed: Lsn,
  ) {
    this.flushed = startFlushed;
    // Debezium restores the last commit LSN from its offsets; here the slot's confirmed position stands for it.
    this.lastCommitLsn = startFlushed > 0n ? startFlushed : null;
  }

  /** The position confirmed so far in this session. */
  get confirmedLsn(): Lsn {
    return this.flushed;
  }

  /** True when everything received is confirmed and nothing waits to be handled. */
  get idle(): boolean {
    return !this.busy && this.inbox.length === 0 && !this.open && this.committedTxs.length === 0 && !this.context.snapshots?.windowPending;
  }

  get pendingSinceMicros(): bigint | undefined {
    return this.oldestPendingMicros;
  }

  /** Streams until `stop()` (resolves) or a failure (rejects). */
  async run(): Promise<void> {
    this.connection.onFailure((error) => this.abort(error));
    await this.connection.startReplication({
      slot: this.context.slot,
      publication: this.context.publication,
      startLsn: 0n,
      onMessage: (message) => this.receive(message),
    });
    this.statusTimer = setInterval(() => this.connection.sendStatus(this.flushed), this.context.statusIntervalMs);
    const snapshots = this.context.snapshots;
    snapshots?.sessionStarted(() => this.wake?.());
    try {
      for (;;) {
        // An incremental snapshot's next chunk is read between messages: its watermarks come later in the stream.
        if (snapshots?.wantsChunk() && !this.failure && !this.stopping) {
          await this.busily(() => snapshots.readChunk());
          continue;
        }
        // Caught up with what arrived: put the committed transactions on Kafka before waiting for more.
        if (this.inbox.length === 0 && this.committedTxs.length > 0 && !this.failure && !this.stopping) {
          await this.busily(() => this.flush(false));
          continue;
        }
        const message = await this.next();
        if (message === null) continue;
        if (!message) break;
        await this.busily(() => this.handle(message));
      }
      if (this.failure) throw this.failure;
      // Stopped: what is complete goes to Kafka and is confirmed; an open transaction is re-read next time.
      await this.flush(false);
    } finally {
      snapshots?.sessionEnded();
      clearInterval(this.statusTimer);
      await this.connection.close();
    }
  }

  private async busily(work: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await work();
    } finally {
      this.busy = false;
    }
  }

  /** Ends the session after the message being handled; complete transactions are flushed first. */
  stop(): void {
    this.stopping = true;
    this.connection.pause();
    this.wake?.();
  }

  private abort(error: Error): void {
    if (this.failure || this.stopping) return;
    this.failure = error;
    this.connection.pause();
    this.wake?.();
  }

  /** Runs in the socket's data callback: queue data, answer keepalives at once. */
  private receive(message: ReplicationMessage): void {
    if (message.kind === 'keepalive') {
      // Nothing received is unconfirmed, so every transaction committed before the server's WAL end is
      // on Kafka: confirming it lets the slot advance on a database whose captured tables are quiet.
      if (this.idle && message.walEnd > this.flushed) {
        this.flushed = message.walEnd;
        this.context.confirmed(this.flushed);
        this.connection.sendStatus(this.flushed);
      } else if (message.replyRequested) {
        this.connection.sendStatus(this.flushed);
      }
      return;
    }
    this.inbox.push(message);
    if (!this.paused && this.inbox.length >= INBOX_HIGH) {
      this.paused = true;
      this.connection.pause();
    }
    this.wake?.();
  }

  /** The next message; undefined when the session ends, null when a snapshot chunk is due. */
  private async next(): Promise<ReplicationMessage | undefined | null> {
    for (;;) {
      if (this.failure || this.stopping) return undefined;
      if (this.inbox.length === 0 && this.context.snapshots?.wantsChunk()) return null;
      const message = this.inbox.take();
      if (message) {
        if (this.paused && this.inbox.length <= INBOX_LOW) {
          this.paused = false;
          this.connection.resume();
        }
        return message;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  private async handle(message: ReplicationMessage): Promise<void> {
    if (message.kind !== 'data') return;
    const decoded = decodePgOutput(message.payload);
    await this.apply(decoded, message.dataStart);
  }

  private async apply(message: PgOutputMessage, lsn: Lsn): Promise<void> {
    switch (message.tag) {
      case 'begin':
        this.open = {
          xid: message.xid,
          finalLsn: message.finalLsn,
          commitTimeMicros: message.commitTimeMicros,
          records: [],
          sentStats: [],
          totalOrder: 0,
          tableOrders: new Map(),
          shapes: {},
        };
        this.oldestPendingMicros ??= message.commitTimeMicros;
        return;
      case 'commit': {
        const tx = this.requireOpen('commit');
        this.committedTxs.push({
          records: tx.records,
          stats: [...tx.sentStats, ...statsOf(tx.records)],
          endLsn: message.endLsn,
          commitTimeMicros: tx.commitTimeMicros,
          shapes: tx.shapes,
        });
        this.pendingRecords += tx.records.length;
        for (const r of tx.records) this.pendingBytes += r.bytes;
        this.lastCommitLsn = message.commitLsn;
        this.open = undefined;
        // Group commit: transactions that arrived together share produces, up to a batch.
        if (this.pendingRecords >= this.context.maxBatchRecords || this.pendingBytes >= this.context.maxBatchBytes) await this.flush(false);
        return;
      }
      case 'relation':
        await this.relation(message, lsn);
        return;
      case 'type':
        this.context.types.addUserType({ oid: message.typeOid, schema: message.schema, name: message.name });
        return;
      case 'origin':
        this.requireOpen('origin').origin = { name: message.name, lsn: message.originLsn };
        return;
      case 'insert': {
        const table = this.table(message.relationOid);
        this.push(this.context.mapper.insert(table, message.newTuple, this.position(table, lsn)));
        break;
      }
      case 'update': {
        const table = this.table(message.relationOid);
        this.push(
          this.context.mapper.update(table, message.oldTuple, message.newTuple, this.position(table, lsn), () => this.position(table, lsn)),
        );
        break;
      }
      case 'delete': {
        const table = this.table(message.relationOid);
        this.push(this.context.mapper.delete(table, message.oldTuple, this.position(table, lsn)));
        break;
      }
      case 'truncate':
        for (const oid of message.relationOids) {
          const table = this.table(oid);
          this.push([this.context.mapper.truncate(table, this.position(table, lsn))]);
        }
        break;
      case 'message':
        if (message.transactional && message.prefix === HEARTBEAT_PREFIX && message.content.toString('utf8') === this.context.slot) {
          this.push([this.heartbeat(lsn)]);
        } else if (message.transactional && message.prefix === WATERMARK_PREFIX) {
          await this.watermark(message.content, lsn);
        }
        return;
    }
    // A long transaction goes out in parts (unconfirmed until its commit), so memory stays bounded.
    const open = this.open;
    if (open && open.records.length >= this.context.maxBatchRecords) await this.flush(true);
  }

  private requireOpen(what: string): OpenTransaction {
    if (!this.open) throw new Error(`pgoutput ${what} message outside a transaction`);
    return this.open;
  }

  private table(relationOid: number): CapturedTable {
    const table = this.relations.get(relationOid);
    if (!table) throw new Error(`change for relation ${relationOid} before its Relation message`);
    return table;
  }

  private position(table: CapturedTable, lsn: Lsn): EventPosition {
    const tx = this.requireOpen('change');
    const name = `${table.schema}.${table.table}`;
    const tableOrder = (tx.tableOrders.get(name) ?? 0) + 1;
    tx.tableOrders.set(name, tableOrder);
    return {
      txId: tx.xid,
      lsn,
      lastCommitLsn: this.lastCommitLsn,
      timeMicros: tx.commitTimeMicros,
      snapshot: 'false',
      origin: tx.origin,
      transaction: { id: `${tx.xid}:${tx.finalLsn}`, totalOrder: ++tx.totalOrder, tableOrder },
    };
  }

  private push(records: Parameters<typeof encodeRecord>[0][]): void {
    const tx = this.requireOpen('change');
    for (const r of records) {
      const encoded = encodeRecord(r);
      this.context.snapshots?.touched(encoded);
      tx.records.push(encoded);
    }
  }

  /**
   * An incremental snapshot watermark. At the high one, the chunk's remaining rows join the watermark's
   * transaction and go to Kafka at once, with everything before them; progress is saved after Kafka's ack,
   * and the watermark's commit is confirmed like any other, later.
   */
  private async watermark(content: Buffer, lsn: Lsn): Promise<void> {
    const snapshots = this.context.snapshots;
    if (snapshots?.watermarkReached(content) !== 'close') return;
    const tx = this.requireOpen('message');
    const closed = snapshots.closeWindow({ txId: tx.xid, lsn, lastCommitLsn: this.lastCommitLsn, timeMicros: BigInt(Date.now()) * 1000n });
    tx.records.push(...closed.records);
    await this.flush(true);
    await snapshots.chunkEmitted(closed);
  }

  /**
   * A Relation message precedes a table's first change in a session and follows any change of its
   * definition. A shape not seen before yields a schema change event ahead of the table's next row.
   */
  private async relation(message: RelationMessage, lsn: Lsn): Promise<void> {
    const info = await this.context.catalog.tableInfo(message.relationOid, this.context.publication);
    const table = capturedTable(message.relationOid, message.schema, message.table, message.columns, info?.primaryKey ?? []);
    this.relations.set(message.relationOid, table);
    const name = `${message.schema}.${message.table}`;
    const shape = relationShape(message.columns);
    const known = this.context.shapes.get(name);
    if (known === shape) return;
    const tx = this.requireOpen('relation');
    const changeType =
      known === undefined ? cdcV1.SchemaChangeType.SCHEMA_CHANGE_TYPE_CREATE : cdcV1.SchemaChangeType.SCHEMA_CHANGE_TYPE_ALTER;
    const record = encodeRecord({
      ...schemaChangeRecord(table, info, changeType, {
        database: this.context.database,
        lsn,
        timeMicros: tx.commitTimeMicros,
        types: this.context.types,
        columns: this.context.mapper.columns,
      }),
      headers: this.context.mapper.contextHeaders,
    });
    // Everything before it first, then the schema change on its own: it is on Kafka before any row of the new shape.
    await this.flush(true);
    await this.context.send([record]);
    tx.shapes[name] = shape;
    this.context.shapes.set(name, shape);
    this.context.logger.info({ table: name, change: cdcV1.SchemaChangeType[changeType] }, 'table shape changed');
  }

  private heartbeat(lsn: Lsn) {
    const tx = this.requireOpen('message');
    const value: cdcV1.Heartbeat = {
      connector: this.context.serverName,
      state: cdcV1.ConnectorState.CONNECTOR_STATE_RUNNING,
      slotName: this.context.slot,
      confirmedFlushLsn: Number(this.flushed),
      currentWalLsn: Number(lsn),
      lagBytes: Number(lsn > this.flushed ? lsn - this.flushed : 0n),
      emittedAt: { seconds: Number(tx.commitTimeMicros / 1_000_000n), nanos: Number(tx.commitTimeMicros % 1_000_000n) * 1000 },
    };
    return { topic: CdcTopics.heartbeat, key: this.context.serverName, value, headers: this.context.mapper.contextHeaders };
  }

  /**
   * Sends the committed transactions (and, with `includeOpen`, the open one's events so far), in
   * produces of at most maxBatchRecords / maxBatchBytes, then confirms the last commit's end LSN.
   */
  private async flush(includeOpen: boolean): Promise<void> {
    const transactions = this.committedTxs;
    const open = includeOpen ? this.open : undefined;
    const records = [...transactions.flatMap((tx) => tx.records), ...(open?.records ?? [])];
    for (const chunk of chunks(records, this.context.maxBatchRecords, this.context.maxBatchBytes)) await this.context.send(chunk);
    if (open) {
      open.sentStats.push(...statsOf(open.records));
      open.records = [];
    }
    if (transactions.length === 0) return;
    this.committedTxs = [];
    this.pendingRecords = 0;
    this.pendingBytes = 0;
    const last = transactions[transactions.length - 1];
    const shapes: Record<string, string> = {};
    for (const tx of transactions) Object.assign(shapes, tx.shapes);
    const stats = transactions.flatMap((tx) => tx.stats);
    await this.context.committed({
      transactions: transactions.length,
      stats,
      endLsn: last.endLsn,
      lastCommitMicros: last.commitTimeMicros,
      shapes,
    });
    this.flushed = maxLsn(this.flushed, last.endLsn);
    this.oldestPendingMicros = this.open?.commitTimeMicros;
    this.connection.sendStatus(this.flushed);
    this.context.confirmed(this.flushed);
  }
}

/** FIFO of received messages; taking from the head is O(1) (Array#shift would copy the whole backlog). */
class Inbox {
  private items: ReplicationMessage[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(message: ReplicationMessage): void {
    this.items.push(message);
  }

  take(): ReplicationMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const message = this.items[this.head];
    this.items[this.head++] = undefined as unknown as ReplicationMessage;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return message;
  }
}

function statsOf(records: readonly EncodedRecord[]): RecordStats[] {
  return records.flatMap((r) => (r.stats ? [r.stats] : []));
}

function* chunks(records: readonly EncodedRecord[], maxRecords: number, maxBytes: number): Generator<EncodedRecord[]> {
  let chunk: EncodedRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    if (chunk.length > 0 && (chunk.length >= maxRecords || bytes + r.bytes > maxBytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += r.bytes;
  }
  if (chunk.length > 0) yield chunk;
}
