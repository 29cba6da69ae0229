import type { Lsn } from './lsn';

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 00:00:00 UTC). */
export const PG_EPOCH_OFFSET_MICROS = 946_684_800_000_000n;

/** PostgreSQL timestamp (µs since 2000-01-01) → µs since the Unix epoch. */
export function pgMicrosToUnixMicros(pgMicros: bigint): bigint {
  return pgMicros + PG_EPOCH_OFFSET_MICROS;
}

/** XLogData ('w'): a chunk of the output plugin's stream, starting at WAL position `dataStart`. */
export interface XLogData {
  kind: 'data';
  dataStart: Lsn;
  walEnd: Lsn;
  /** Server clock when sent, µs since the Unix epoch. */
  sendTimeMicros: bigint;
  payload: Buffer;
}

/** Primary keepalive ('k'): the server's WAL end; `replyRequested` asks for a standby status update now. */
export interface PrimaryKeepalive {
  kind: 'keepalive';
  walEnd: Lsn;
  sendTimeMicros: bigint;
  replyRequested: boolean;
}

export type ReplicationMessage = XLogData | PrimaryKeepalive;

/** Parses one CopyData message of a START_REPLICATION stream (protocol "Streaming Replication Protocol"). */
export function parseReplicationMessage(chunk: Buffer): ReplicationMessage {
  const tag = chunk[0];
  if (tag === 0x77 /* w */) {
    if (chunk.length < 25) throw new Error(`XLogData message too short (${chunk.length} bytes)`);
    return {
      kind: 'data',
      dataStart: chunk.readBigUInt64BE(1),
      walEnd: chunk.readBigUInt64BE(9),
      sendTimeMicros: pgMicrosToUnixMicros(chunk.readBigInt64BE(17)),
      payload: chunk.subarray(25),
    };
  }
  if (tag === 0x6b /* k */) {
    if (chunk.length < 18) throw new Error(`primary keepalive message too short (${chunk.length} bytes)`);
    return {
      kind: 'keepalive',
      walEnd: chunk.readBigUInt64BE(1),
      sendTimeMicros: pgMicrosToUnixMicros(chunk.readBigInt64BE(9)),
      replyRequested: chunk[17] === 1,
    };
  }
  throw new Error(`unknown replication message type 0x${tag?.toString(16) ?? '??'}`);
}

/**
 * Standby status update ('r'): the positions this client has written, flushed and applied. For a logical
 * slot the flushed position becomes the slot's confirmed_flush_lsn, so it must only name WAL whose changes
 * are durable downstream.
 */
export function encodeStandbyStatus(position: { written: Lsn; flushed: Lsn; applied: Lsn }, nowMs: number, replyRequested = false): Buffer {
  const message = Buffer.alloc(34);
  message[0] = 0x72; // r
  message.writeBigUInt64BE(position.written, 1);
  message.writeBigUInt64BE(position.flushed, 9);
  message.writeBigUInt64BE(position.applied, 17);
  message.writeBigInt64BE(BigInt(nowMs) * 1000n - PG_EPOCH_OFFSET_MICROS, 25);
  message[33] = replyRequested ? 1 : 0;
  return message;
}
