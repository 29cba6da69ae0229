import { grpcErrors } from '@pulse/platform';

/**
 * Opaque page tokens: base64url JSON of where the next page starts (a bucket and the driver's paging
 * state). Clients pass them back unchanged; a token that does not decode is INVALID_ARGUMENT.
 */
export interface PagePosition {
  /** Bucket (day) the next page starts in. */
  b?: number;
  /** The driver's paging state inside that bucket, base64. */
  s?: string;
}

export function encodePageToken(position: PagePosition | undefined): string {
  return position ? Buffer.from(JSON.stringify(position)).toString('base64url') : '';
}

export function decodePageToken(token: string, field = 'page_token'): PagePosition | undefined {
  if (!token) return undefined;
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as PagePosition;
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    if (value.b !== undefined && !Number.isInteger(value.b)) throw new Error('bad bucket');
    if (value.s !== undefined && typeof value.s !== 'string') throw new Error('bad state');
    return value;
  } catch {
    throw grpcErrors.invalidArgument(field, 'is not a token returned by this service');
  }
}

/** 0 means 50; above 1000 is refused. */
export function pageSize(requested: number | undefined, field = 'page_size'): number {
  const size = requested ?? 0;
  if (!Number.isInteger(size) || size < 0 || size > 1000) throw grpcErrors.invalidArgument(field, 'must be between 0 and 1000');
  return size === 0 ? 50 : size;
}

export const DAY_MS = 86_400_000;

/** Day number since the epoch (UTC) of a time in ms: the bucket of follower and activity partitions. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

export { toTimestamp } from '@pulse/contracts';
