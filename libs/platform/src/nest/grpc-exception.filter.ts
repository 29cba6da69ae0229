import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { Observable, throwError } from 'rxjs';
import { principalOf } from '../auth/call-principal';
import { describePrincipal } from '../auth/principal';
import { GrpcStatusError, statusText } from '../grpc/grpc-status.error';

/**
 * PostgreSQL's data exceptions (SQLSTATE class 22: a NUL character in text, a value too long for its column, a
 * number out of range, text that is not a uuid or a date) come from the values of a request, not from the
 * server: INVALID_ARGUMENT with PostgreSQL's reason, as PostgREST answers them 400. Anything else is not one.
 */
function pgDataException(exception: unknown): GrpcStatusError | undefined {
  if (!(exception instanceof Error) || !('code' in exception) || !('severity' in exception)) return undefined;
  const code = (exception as { code: unknown }).code;
  if (typeof code !== 'string' || !/^22[0-9A-Z]{3}$/.test(code)) return undefined;
  return new GrpcStatusError(status.INVALID_ARGUMENT, `a value of the request cannot be stored or compared: ${exception.message}`);
}

/** Node's socket errors: the peer or store is unreachable for now. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** Messages of store clients meaning "not now": pg-pool's pool exhausted or its connection lost, ioredis offline. */
const TRANSIENT_MESSAGES = [
  /^timeout exceeded when trying to connect$/, // pg-pool: every connection busy for connectionTimeoutMillis
  /^Connection terminated( unexpectedly| due to connection timeout)?$/, // pg
  /^Connection is closed\.?$/, // ioredis
  /^Stream isn't writeable and enableOfflineQueue options is false$/, // ioredis while reconnecting
  /^Reached the max retries per request limit/, // ioredis
];
/** Cassandra driver errors raised when no replica answered in time or enough replicas are down. */
const CASSANDRA_TRANSIENT = new Set(['NoHostAvailableError', 'OperationTimedOutError', 'BusyConnectionError']);
/** PostgreSQL's SQLSTATEs a retry can fix: connection exceptions (class 08), too many connections, shutting down. */
const PG_UNAVAILABLE = /^(08[0-9A-Z]{3}|53300|57P0[123])$/;
/** Serialization failures and deadlocks: the transaction lost a race; a retry of the call may succeed (ABORTED). */
const PG_ABORTED = /^(40001|40P01)$/;

/**
 * A store that cannot answer now (a pool with every connection busy, a lost connection, replicas down, a node timing out)
 * is the service's condition, not the request's and not a bug: UNAVAILABLE (or ABORTED for a lost transaction race),
 * which clients retry with backoff, with the reason; the error is logged as a warning for the operator.
 */
function transientStoreError(exception: unknown): GrpcStatusError | undefined {
  if (!(exception instanceof Error)) return undefined;
  const code = (exception as { code?: unknown }).code;
  if (typeof code === 'string' && 'severity' in exception) {
    if (PG_UNAVAILABLE.test(code))
      return new GrpcStatusError(status.UNAVAILABLE, `the database cannot serve now, retry: ${exception.message}`);
    if (PG_ABORTED.test(code))
      return new GrpcStatusError(status.ABORTED, `the transaction conflicted with another, retry: ${exception.message}`);
    return undefined;
  }
  const transient =
    (typeof code === 'string' && NETWORK_CODES.has(code)) ||
    CASSANDRA_TRANSIENT.has(exception.name) ||
    TRANSIENT_MESSAGES.some((pattern) => pattern.test(exception.message));
  return transient
    ? new GrpcStatusError(status.UNAVAILABLE, `a store of the service is unavailable, retry: ${exception.message}`)
    : undefined;
}

/**
 * Maps whatever a gRPC handler throws to a definite status: a GrpcStatusError keeps its code, message
 * and field violations; PostgreSQL's data exceptions become INVALID_ARGUMENT; a store that cannot answer now becomes
 * UNAVAILABLE (ABORTED for a serialization failure); anything unexpected becomes INTERNAL (logged with its stack and
 * the caller), never UNKNOWN.
 */
@Catch()
export class GrpcExceptionFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('grpc');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    if (exception instanceof GrpcStatusError) return throwError(() => exception.toServiceError());
    if (exception instanceof RpcException) {
      const error = exception.getError();
      if (typeof error === 'object' && error !== null && 'code' in error) {
        const details = (error as { details?: unknown }).details;
        return throwError(() => (typeof details === 'string' ? { ...error, details: statusText(details) } : error));
      }
    }
    const refused = pgDataException(exception);
    if (refused) return throwError(() => refused.toServiceError());
    const principal = principalOf(host.getArgByIndex(2));
    const caller = principal ? ` (caller: ${describePrincipal(principal).kind} ${principal.id})` : '';
    const transient = transientStoreError(exception);
    if (transient) {
      this.logger.warn(`${transient.message}${caller}`);
      return throwError(() => transient.toServiceError());
    }
    this.logger.error(`${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}${caller}`);
    return throwError(() => ({ code: status.INTERNAL, details: 'internal error' }));
  }
}
