import { HttpException, HttpStatus } from '@nestjs/common';
import { PeerError } from '../peers/peer-error';

/** What the pages' script shows for a failed action: `{ error: { service, address, status, reason, unreachable } }`. */
export interface ApiErrorBody {
  error: { service: string; address: string; status: string; reason: string; unreachable: boolean };
}

/** A failed call to a peer as the console's HTTP answer: 503 when it did not answer, 502 when it refused. */
export function peerFailure(error: unknown): HttpException {
  if (error instanceof PeerError) {
    const body: ApiErrorBody = { error: error.toJSON() };
    return new HttpException(body, error.unreachable ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.BAD_GATEWAY);
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new HttpException({ error: { service: 'console', address: '', status: 'INTERNAL', reason, unreachable: false } }, 500);
}

/** Input the console refuses before asking any service (400), in the same shape. */
export function invalidInput(field: string, reason: string): HttpException {
  const body: ApiErrorBody = {
    error: { service: 'console', address: '', status: 'INVALID_ARGUMENT', reason: `${field}: ${reason}`, unreachable: false },
  };
  return new HttpException(body, HttpStatus.BAD_REQUEST);
}
