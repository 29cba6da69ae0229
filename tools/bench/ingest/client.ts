// The load generator of the ingest bench: unary TrackEvents calls with pre-encoded requests.
// A request is encoded once with proto-loader (the real schema); every call copies it and writes a
// fresh, fixed-width sequence number into each event_id, so the client spends almost no CPU on
// protobuf and every event is unique. Responses are counted with a minimal wire-format scan (the
// first response of each client is also fully decoded and cross-checked).
import grpc from '@grpc/grpc-js';
import type protoLoader from '@grpc/proto-loader';
import { loadProto } from '../lib/proto.ts';
import { join } from 'node:path';

export const TRACK_EVENTS_PATH = '/pulse.ingest.v1.IngestService/TrackEvents';
const EVENT_STATUS_ACCEPTED = 1;
const EVENT_STATUS_REJECTED = 2;
const EVENT_STATUS_DUPLICATE = 3;
export const SEQ_DIGITS = 10;

export interface ClientConfig {
  address: string;
  /** Events per TrackEvents call. */
  batch: number;
  /** Calls this client keeps in flight. */
  inflight: number;
  /** Events this client sends at most. */
  budgetEvents: number;
  runId: string;
  /** Index of this client; part of every event_id. */
  client: number;
  /** occurred_at of every event (seconds since the epoch). */
  occurredAtSeconds: number;
  /** Requests set omit_accepted_results: responses list only the events not accepted, and count them all. */
  omitAccepted: boolean;
  /**
   * Open loop: a call every 1/callsPerSecond s whatever the answers (at most `inflight` in flight; a call due while
   * that many wait is skipped and counted), its latency counted from when it was due. 0: closed loop, `inflight`
   * calls always in flight.
   */
  callsPerSecond: number;
}

/** Messages a client sends to the coordinator. */
export type ClientMessage =
  | { type: 'ready'; eventBytes: number; requestBytes: number }
  | { type: 'done'; t: number; events: number; accepted: number; rejected: number; duplicate: number; latencyMs: number }
  | { type: 'skipped'; t: number }
  | { type: 'failed'; t: number; events: number; code: number; details: string; latencyMs: number }
  | { type: 'exhausted'; t: number }
  | { type: 'finished'; t: number }
  | { type: 'error'; message: string };

/** Messages the coordinator sends to a client. */
export type CoordinatorMessage = { type: 'go' } | { type: 'stop' };

const now = () => performance.timeOrigin + performance.now();

function loadService() {
  const definition = loadProto('pulse/ingest/v1/ingest_service.proto');
  return definition['pulse.ingest.v1.IngestService'] as unknown as Record<string, protoLoader.MethodDefinition<object, object>>;
}

const ACTIVITY_TYPES = [1, 2, 3, 4, 6, 7, 12]; // view, impression, click, like, comment, share, bookmark
const SURFACES = ['feed', 'profile', 'search', 'explore'];

/** One sample event: ids plus a small properties map, ~100 bytes serialized. */
export function sampleEvent(runId: string, client: number, i: number, occurredAtSeconds: number) {
  return {
    eventId: `${runId}-${String(client).padStart(2, '0')}-${'0'.repeat(SEQ_DIGITS)}`,
    userId: `u${String((i * 7919 + client * 104729) % 1_000_000).padStart(7, '0')}`,
    type: ACTIVITY_TYPES[i % ACTIVITY_TYPES.length],
    target: { type: 1, id: `p${String((i * 31 + 17) % 10_000_000).padStart(8, '0')}` },
    occurredAt: { seconds: occurredAtSeconds, nanos: (i % 1000) * 1_000_000 },
    properties: { surface: SURFACES[i % SURFACES.length], position: String(i % 50) },
  };
}

export interface Template {
  request: Buffer;
  /** Byte offset of the sequence digits of each event's event_id inside `request`. */
  seqOffsets: Int32Array;
  eventBytes: number;
}

/** Encodes one request of `batch` events and finds where each event_id's sequence digits sit. */
export function buildTemplate(config: Pick<ClientConfig, 'batch' | 'runId' | 'client' | 'occurredAtSeconds' | 'omitAccepted'>): Template {
  const method = loadService()['TrackEvents'];
  const events = Array.from({ length: config.batch }, (_, i) => sampleEvent(config.runId, config.client, i, config.occurredAtSeconds));
  const request = method.requestSerialize({ events, clientId: `bench-${config.runId}`, omitAcceptedResults: config.omitAccepted });
  const prefix = Buffer.from(events[0].eventId.slice(0, -SEQ_DIGITS), 'latin1');
  const seqOffsets = new Int32Array(config.batch);
  let from = 0;
  for (let i = 0; i < config.batch; i++) {
    const at = request.indexOf(prefix, from);
    if (at < 0) throw new Error(`event_id ${i} not found in the encoded template`);
    seqOffsets[i] = at + prefix.length;
    from = at + prefix.length + SEQ_DIGITS;
  }
  // Average serialized ActivityEvent (without the 2-3 bytes of tag + length framing it in the request).
  let eventBytes = 0;
  for (const event of events) {
    const alone = method.requestSerialize({ events: [event] }); // 0x0a, varint length, event
    eventBytes += alone.length - 1 - (alone[1] < 0x80 ? 1 : 2);
  }
  eventBytes /= config.batch;
  return { request, seqOffsets, eventBytes };
}

function writeSeq(buf: Buffer, at: number, seq: number): void {
  for (let k = SEQ_DIGITS - 1; k >= 0; k--) {
    buf[at + k] = 48 + (seq % 10);
    seq = Math.floor(seq / 10);
  }
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [result, pos];
    shift += 7;
  }
}

function skipField(buf: Buffer, pos: number, wire: number): number {
  if (wire === 0) return readVarint(buf, pos)[1];
  if (wire === 1) return pos + 8;
  if (wire === 5) return pos + 4;
  if (wire === 2) {
    const [len, p] = readVarint(buf, pos);
    return p + len;
  }
  throw new Error(`unsupported wire type ${wire}`);
}

/** What an encoded TrackEventsResponse says, read without decoding it fully. */
export interface ResponseCounts {
  /** The results listed, by status. */
  listed: { accepted: number; rejected: number; duplicate: number; results: number };
  /** The response's accepted_count, rejected_count and duplicate_count (every event of the call). */
  accepted: number;
  rejected: number;
  duplicate: number;
}

/** Counts result statuses of an encoded TrackEventsResponse, and reads its counts, without decoding it fully. */
export function countResults(buf: Buffer): ResponseCounts {
  const listed = { accepted: 0, rejected: 0, duplicate: 0, results: 0 };
  const counts = { accepted: 0, rejected: 0, duplicate: 0 };
  let pos = 0;
  while (pos < buf.length) {
    let tag: number;
    [tag, pos] = readVarint(buf, pos);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      let len: number;
      [len, pos] = readVarint(buf, pos);
      const end = pos + len;
      let status = 0;
      let p = pos;
      while (p < end) {
        let t: number;
        [t, p] = readVarint(buf, p);
        if (t === 3 << 3) [status, p] = readVarint(buf, p);
        else p = skipField(buf, p, t & 7);
      }
      listed.results++;
      if (status === EVENT_STATUS_ACCEPTED) listed.accepted++;
      else if (status === EVENT_STATUS_REJECTED) listed.rejected++;
      else if (status === EVENT_STATUS_DUPLICATE) listed.duplicate++;
      pos = end;
    } else if (field >= 2 && field <= 4 && wire === 0) {
      let value: number;
      [value, pos] = readVarint(buf, pos);
      if (field === 2) counts.accepted = value;
      else if (field === 3) counts.rejected = value;
      else counts.duplicate = value;
    } else {
      pos = skipField(buf, pos, wire);
    }
  }
  return { listed, ...counts };
}

/**
 * Runs one client until its budget is sent and answered, or until told to stop. `send` reports every
 * call; `onMessage` delivers the coordinator's go/stop.
 */
export function runClient(
  config: ClientConfig,
  send: (m: ClientMessage) => void,
  onMessage: (handler: (m: CoordinatorMessage) => void) => void,
): void {
  const template = buildTemplate(config);
  const verify = loadService()['TrackEvents'];
  const client = new grpc.Client(config.address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
  const identity = (b: Buffer) => b;
  let nextBatch = 0;
  const totalBatches = Math.floor(config.budgetEvents / config.batch);
  let inFlight = 0;
  let stopped = false;
  let exhaustedSent = false;
  let verified = false;

  const finishIfIdle = () => {
    if (inFlight === 0 && (stopped || nextBatch >= totalBatches)) {
      client.close();
      send({ type: 'finished', t: now() });
    }
  };

  const fire = () => {
    if (config.callsPerSecond > 0) return; // paced: calls leave on the clock (pace)
    while (!stopped && inFlight < config.inflight && nextBatch < totalBatches) call(now());
  };

  // Open loop: each call is due at a fixed time; a timer per due time, so a late tick does not shift the ones after.
  const pace = (start: number) => {
    const interval = 1000 / config.callsPerSecond;
    let due = start;
    const tick = () => {
      if (stopped || nextBatch >= totalBatches) return;
      if (inFlight < config.inflight) call(due);
      else send({ type: 'skipped', t: now() });
      due += interval;
      setTimeout(tick, Math.max(0, due - now()));
    };
    tick();
  };

  const call = (t0: number) => {
    {
      const request = Buffer.from(template.request);
      const base = nextBatch * config.batch;
      for (let i = 0; i < config.batch; i++) writeSeq(request, template.seqOffsets[i], base + i);
      nextBatch++;
      inFlight++;
      client.makeUnaryRequest(
        TRACK_EVENTS_PATH,
        identity,
        identity,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 60_000 },
        (error: grpc.ServiceError | null, response?: Buffer) => {
          inFlight--;
          const t = now();
          if (error || !response) {
            send({
              type: 'failed',
              t,
              events: config.batch,
              code: error?.code ?? -1,
              details: error?.details ?? 'no response',
              latencyMs: t - t0,
            });
          } else {
            const counts = countResults(response);
            // The results listed agree with the counts: all of them, or (omit_accepted_results) those not accepted.
            const consistent =
              counts.listed.rejected === counts.rejected &&
              counts.listed.duplicate === counts.duplicate &&
              counts.listed.accepted === (config.omitAccepted ? 0 : counts.accepted) &&
              counts.accepted + counts.rejected + counts.duplicate === config.batch;
            if (!consistent) send({ type: 'error', message: `response counts disagree: ${JSON.stringify(counts)}` });
            if (!verified) {
              verified = true;
              const full = verify.responseDeserialize(response) as { results: { status: number }[]; acceptedCount: number };
              const accepted = full.results.filter((r) => r.status === EVENT_STATUS_ACCEPTED).length;
              if (
                accepted !== counts.listed.accepted ||
                full.results.length !== counts.listed.results ||
                full.acceptedCount !== counts.accepted
              ) {
                send({
                  type: 'error',
                  message: `response scan disagrees with the decoder: ${JSON.stringify({ counts, accepted, acceptedCount: full.acceptedCount })}`,
                });
              }
            }
            send({
              type: 'done',
              t,
              events: config.batch,
              accepted: counts.accepted,
              rejected: counts.rejected,
              duplicate: counts.duplicate,
              latencyMs: t - t0,
            });
          }
          if (nextBatch >= totalBatches && !exhaustedSent) {
            exhaustedSent = true;
            send({ type: 'exhausted', t });
          }
          fire();
          finishIfIdle();
        },
      );
    }
  };

  onMessage((m) => {
    if (m.type === 'go') {
      if (config.callsPerSecond > 0) pace(now());
      else fire();
    } else if (m.type === 'stop') {
      stopped = true;
      finishIfIdle();
    }
  });
  send({ type: 'ready', eventBytes: template.eventBytes, requestBytes: template.request.length });
}
