import { quoteIdent, quoteLiteral } from '@pulse/platform';
import { Client } from 'pg';
import { sessionOptions } from '../debezium/value-converter';
import { formatLsn, type Lsn, parseLsn } from './lsn';
import { encodeStandbyStatus, parseReplicationMessage, type ReplicationMessage } from './replication-protocol';

/** The pg driver's internal connection: its CopyData events and writer are what replication needs. */
interface WireConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  removeAllListeners(event?: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

export interface CreatedSlot {
  slotName: string;
  /** The slot streams the transactions committed after this position; a snapshot taken with it sees those before. */
  consistentPoint: Lsn;
  /** Name to import with SET TRANSACTION SNAPSHOT while this connection stays idle; undefined without export. */
  snapshotName?: string;
}

export interface StartOptions {
  slot: string;
  publication: string;
  /** 0 starts at the slot's confirmed_flush_lsn. */
  startLsn: Lsn;
  onMessage: (message: ReplicationMessage) => void;
}

/**
 * A walsender connection (`replication: 'database'`) speaking the logical replication protocol with the
 * pg driver: slot creation, START_REPLICATION of pgoutput, CopyBoth data from the connection's 'copyData'
 * events, standby status updates written back as CopyData. Framework-free; one per capture session.
 */
export class ReplicationConnection {
  private readonly client: Client;
  private wire?: WireConnection;
  private streaming?: Promise<unknown>;
  private ended = false;
  private failure?: Error;
  private readonly failureListeners: ((error: Error) => void)[] = [];

  constructor(pgUrl: string, applicationName: string) {
    this.client = new Client({
      connectionString: pgUrl,
      replication: 'database',
      application_name: applicationName,
      options: sessionOptions(),
    } as ConstructorParameters<typeof Client>[0]);
    this.client.on('error', (error) => this.fail(error));
    this.client.on('end', () => {
      if (!this.ended) this.fail(new Error('the replication connection was closed by the server'));
    });
  }

  async connect(): Promise<void> {
    await this.client.connect();
    this.wire = (this.client as unknown as { connection: WireConnection }).connection;
  }

  /** Called once when the connection breaks (not when closed by `close`). */
  onFailure(listener: (error: Error) => void): void {
    if (this.failure) listener(this.failure);
    else this.failureListeners.push(listener);
  }

  private fail(error: Error): void {
    if (this.ended || this.failure) return;
    this.failure = error;
    for (const listener of this.failureListeners) listener(error);
  }

  /** CREATE_REPLICATION_SLOT ... LOGICAL pgoutput, exporting a snapshot or not. */
  async createSlot(slot: string, exportSnapshot: boolean): Promise<CreatedSlot> {
    const result = await this.client.query(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput ${exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`,
    );
    const row = result.rows[0] as { slot_name: string; consistent_point: string; snapshot_name: string | null };
    return { slotName: row.slot_name, consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name ?? undefined };
  }

  /**
   * START_REPLICATION SLOT x LOGICAL lsn (proto_version '1', publication_names 'p', messages 'true'): from
   * here the server streams CopyData, handed to `onMessage` in arrival order. Resolves once streaming
   * began; a server error or a broken connection is reported through `onFailure`.
   */
  async startReplication(options: StartOptions): Promise<void> {
    const wire = this.wire;
    if (!wire) throw new Error('replication connection not connected');
    wire.on('copyData', ({ chunk }) => {
      let message: ReplicationMessage;
      try {
        // The driver's chunk is a view into its read buffer, reused for the next socket data: messages are
        // queued before they are handled, so each keeps a copy.
        message = parseReplicationMessage(Buffer.from(chunk));
      } catch (error) {
        this.fail(error as Error);
        return;
      }
      options.onMessage(message);
    });
    const command =
      `START_REPLICATION SLOT ${quoteIdent(options.slot)} LOGICAL ${formatLsn(options.startLsn)} ` +
      `(proto_version '1', publication_names ${quoteLiteral(quoteIdent(options.publication))}, messages 'true')`;
    // The query stays pending while the stream runs; it settles when the server ends or refuses it.
    const started = new Promise<void>((resolve, reject) => {
      const client = this.client as unknown as { connection: { once(event: string, listener: () => void): void } };
      client.connection.once('replicationStart', () => resolve());
      this.streaming = this.client.query(command).then(
        () => this.fail(new Error('the server ended the replication stream')),
        (error: Error) => {
          reject(error);
          this.fail(error);
        },
      );
    });
    await started;
  }

  /** Tells the server what is durable downstream: `flushed` becomes the slot's confirmed_flush_lsn. */
  sendStatus(flushed: Lsn, replyRequested = false): void {
    if (this.ended || this.failure || !this.wire) return;
    this.wire.sendCopyFromChunk(encodeStandbyStatus({ written: flushed, flushed, applied: flushed }, Date.now(), replyRequested));
  }

  /** Stops reading from the socket (the server blocks once its send buffer is full). */
  pause(): void {
    this.wire?.stream.pause();
  }

  resume(): void {
    this.wire?.stream.resume();
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.wire?.removeAllListeners('copyData');
    this.wire?.stream.resume();
    // Ending the session ends the walsender; the slot keeps its confirmed position.
    await Promise.race([this.client.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000))]);
    this.streaming?.catch(() => undefined);
  }
}
