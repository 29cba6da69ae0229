import { Metadata, status } from '@grpc/grpc-js';
import { fromTimestamp, isValidTimestamp, type ProtoTimestamp } from '@pulse/contracts';
import * as protobuf from 'protobufjs';

export { status as GrpcStatus } from '@grpc/grpc-js';

export interface FieldViolation {
  /** Path of the offending field, e.g. `events[3].user_id`. */
  field: string;
  description: string;
}

// google.rpc.Status with its BadRequest and ErrorInfo details, the rich error model grpcurl and other clients
// decode from the `grpc-status-details-bin` trailer.
const rpcTypes = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 } as protobuf.IMapField,
              },
            },
            BadRequest: {
              fields: { fieldViolations: { rule: 'repeated', type: 'FieldViolation', id: 1 } },
              nested: {
                FieldViolation: {
                  fields: { field: { type: 'string', id: 1 }, description: { type: 'string', id: 2 } },
                },
              },
            },
          },
        },
      },
    },
  },
});
const StatusType = rpcTypes.lookupType('google.rpc.Status');
const BadRequestType = rpcTypes.lookupType('google.rpc.BadRequest');
const ErrorInfoType = rpcTypes.lookupType('google.rpc.ErrorInfo');

/**
 * An error that leaves a gRPC handler with a definite status code and a message meant for the caller.
 * Anything else a handler throws becomes INTERNAL, never UNKNOWN with a leaked string.
 */
export class GrpcStatusError extends Error {
  readonly violations: readonly FieldViolation[];

  constructor(
    readonly code: status,
    message: string,
    violations: readonly FieldViolation[] = [],
  ) {
    // A message quoting what the caller sent stays short and well-formed (statusText).
    super(statusText(message, MAX_MESSAGE_CHARS));
    this.name = 'GrpcStatusError';
    this.violations = violations.map((v) => ({
      field: statusText(v.field, MAX_FIELD_CHARS),
      description: statusText(v.description, MAX_MESSAGE_CHARS),
    }));
  }

  /** The shape grpc-js sends: code, details and trailers (with google.rpc.BadRequest when fields are named). */
  toServiceError(): { code: status; details: string; message: string; metadata: Metadata } {
    const metadata = new Metadata();
    if (this.violations.length > 0) {
      const badRequest = BadRequestType.encode({ fieldViolations: this.violations }).finish();
      const statusBytes = StatusType.encode({
        code: this.code,
        message: this.message,
        details: [{ type_url: 'type.googleapis.com/google.rpc.BadRequest', value: badRequest }],
      }).finish();
      metadata.set('grpc-status-details-bin', Buffer.from(statusBytes));
    }
    return { code: this.code, details: this.message, message: this.message, metadata };
  }
}

/** The details of one type (`google.rpc.BadRequest`, ...) in a `grpc-status-details-bin` trailer, as bytes. */
function statusDetails(metadata: Metadata | undefined, type: string): Buffer[] {
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (!raw || typeof raw === 'string') return [];
  const decoded = StatusType.toObject(StatusType.decode(raw), { bytes: Buffer }) as {
    details?: { type_url: string; value: Buffer }[];
  };
  return (decoded.details ?? []).filter((d) => d.type_url.endsWith(type)).map((d) => d.value);
}

/** Decodes the field violations of a `grpc-status-details-bin` trailer (for clients and tests). */
export function decodeFieldViolations(metadata: Metadata | undefined): FieldViolation[] {
  return statusDetails(metadata, 'google.rpc.BadRequest').flatMap(
    (value) => (BadRequestType.toObject(BadRequestType.decode(value)) as { fieldViolations?: FieldViolation[] }).fieldViolations ?? [],
  );
}

/** google.rpc.ErrorInfo: why a call failed, as a machine-readable reason, domain and metadata. */
export interface ErrorInfo {
  reason: string;
  domain: string;
  metadata: Record<string, string>;
}

/** The first google.rpc.ErrorInfo of a `grpc-status-details-bin` trailer; undefined when there is none or it is not readable. */
export function decodeErrorInfo(metadata: Metadata | undefined): ErrorInfo | undefined {
  try {
    const [value] = statusDetails(metadata, 'google.rpc.ErrorInfo');
    if (!value) return undefined;
    const info = ErrorInfoType.toObject(ErrorInfoType.decode(value), { defaults: true }) as ErrorInfo;
    return { reason: info.reason, domain: info.domain, metadata: info.metadata ?? {} };
  } catch {
    return undefined;
  }
}

/** A request field that must not be empty: its value, or INVALID_ARGUMENT naming it. */
export function requiredField(value: string | undefined, field: string): string {
  if (!value) throw grpcErrors.invalidArgument(field, 'required');
  return value;
}

const MAX_MESSAGE_CHARS = 400;
const MAX_FIELD_CHARS = 200;

/**
 * Text fit for a status: cut to `max` characters, saying how many were left out (the status travels in HTTP/2
 * trailers, and a trailer past the client's header limit fails the call with a protocol error instead), and
 * well-formed UTF-16: a lone surrogate (half of a pair, from the cut or from a request's text) becomes U+FFFD, since
 * grpc-js percent-encodes the message with encodeURI, which throws on one, and that throw stops the process.
 */
export function statusText(text: string, max = MAX_MESSAGE_CHARS): string {
  const cut = text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
  return cut.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * The Date of an optional Timestamp field of a request: undefined when unset, INVALID_ARGUMENT naming the field when
 * it is not a valid Timestamp (seconds outside 0001-01-01..9999-12-31, nanos outside 0..999,999,999), so a value no
 * Date holds never reaches a store.
 */
export function timestampField(ts: ProtoTimestamp | null | undefined, field: string): Date | undefined {
  if (!ts) return undefined;
  if (!isValidTimestamp(ts))
    throw grpcErrors.invalidArgument(
      field,
      `{seconds: ${ts.seconds}, nanos: ${ts.nanos}} is not a valid timestamp (0001-01-01 to 9999-12-31)`,
    );
  return fromTimestamp(ts);
}

export const grpcErrors = {
  invalidArgument: (field: string, description: string) =>
    new GrpcStatusError(status.INVALID_ARGUMENT, `${field}: ${description}`, [{ field, description }]),
  notFound: (what: string) => new GrpcStatusError(status.NOT_FOUND, `${what} not found`),
  alreadyExists: (what: string) => new GrpcStatusError(status.ALREADY_EXISTS, `${what} already exists`),
  resourceExhausted: (message: string) => new GrpcStatusError(status.RESOURCE_EXHAUSTED, message),
  unavailable: (message: string) => new GrpcStatusError(status.UNAVAILABLE, message),
  /** With `field`, the state that refuses the call is named as a field violation, like INVALID_ARGUMENT's. */
  failedPrecondition: (message: string, field?: string) =>
    new GrpcStatusError(
      status.FAILED_PRECONDITION,
      field ? `${field}: ${message}` : message,
      field ? [{ field, description: message }] : [],
    ),
  aborted: (message: string) => new GrpcStatusError(status.ABORTED, message),
  unimplemented: (message: string) => new GrpcStatusError(status.UNIMPLEMENTED, message),
  unauthenticated: (reason: string) => new GrpcStatusError(status.UNAUTHENTICATED, reason),
  permissionDenied: (reason: string) => new GrpcStatusError(status.PERMISSION_DENIED, reason),
};
