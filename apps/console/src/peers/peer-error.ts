import { decodeFieldViolations, GrpcStatus } from '@pulse/platform';

/**
 * Why a call to a peer failed, as the console shows it: which service, at which address, the gRPC status (or
 * HTTP status) and its reason (the message, with the field violations of an INVALID_ARGUMENT). `unreachable`
 * when nothing answered: connection refused, no route, or past the deadline.
 */
export class PeerError extends Error {
  constructor(
    readonly service: string,
    readonly address: string,
    /** A gRPC status name such as `NOT_FOUND`, `HTTP 503`, or `UNREACHABLE`. */
    readonly status: string,
    readonly reason: string,
    readonly unreachable: boolean,
  ) {
    super(unreachable ? `${service} unreachable at ${address}: ${reason}` : `${service} (${address}) answered ${status}: ${reason}`);
    this.name = 'PeerError';
  }

  /** The JSON the pages' scripts receive. */
  toJSON() {
    return { service: this.service, address: this.address, status: this.status, reason: this.reason, unreachable: this.unreachable };
  }
}

interface GrpcLikeError {
  code?: number;
  details?: string;
  message?: string;
  metadata?: Parameters<typeof decodeFieldViolations>[0];
}

/** A grpc-js error as a PeerError; UNAVAILABLE and DEADLINE_EXCEEDED mean the peer is unreachable. */
export function grpcPeerError(service: string, address: string, error: unknown): PeerError {
  const e = error as GrpcLikeError;
  if (typeof e?.code !== 'number') return new PeerError(service, address, 'UNKNOWN', errorText(error), false);
  const status = GrpcStatus[e.code] ?? String(e.code);
  const violations = decodeFieldViolations(e.metadata).map((v) => `${v.field}: ${v.description}`);
  // grpc-js's text for a refused connection is long; its cause is what a person needs.
  const details = (e.details || e.message || status).replace(
    /^No connection established\. Last error: (?:Error: )?(.*?)(?:\. Resolution note:.*)?$/s,
    '$1',
  );
  const reason = violations.length > 0 && !violations.some((v) => details.includes(v)) ? `${details} (${violations.join('; ')})` : details;
  const unreachable = e.code === GrpcStatus.UNAVAILABLE || e.code === GrpcStatus.DEADLINE_EXCEEDED;
  return new PeerError(service, address, status, reason, unreachable);
}

/** A failed fetch (refused, reset, timed out) as a PeerError. */
export function httpPeerError(service: string, address: string, error: unknown): PeerError {
  const e = error as { name?: string; cause?: { code?: string; message?: string } };
  const reason = e?.name === 'TimeoutError' ? 'no answer before the deadline' : (e?.cause?.code ?? e?.cause?.message ?? errorText(error));
  return new PeerError(service, address, 'UNREACHABLE', reason, true);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
