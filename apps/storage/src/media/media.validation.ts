import type { storageV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { checkUserId } from '../profiles/profile.validation';

export const MAX_CHUNK_BYTES = 1_048_576;
const CONTENT_TYPE = /^([a-z0-9][a-z0-9!#$&^_.+-]*)\/([a-z0-9][a-z0-9!#$&^_.+-]*)$/;
const TAG = /^[a-z0-9_-]{1,64}$/;
const PREFIX = /^[a-z0-9/_-]{0,256}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const MEDIA_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface UploadMetadata {
  contentType: string;
  filename: string;
  ownerId: string;
  tags: string[];
  prefix: string;
  /** 0 when not announced. */
  sizeBytes: number;
  /** '' when not announced. */
  sha256: string;
}

/** True if `contentType` (type/subtype, any parameters ignored) is on the allow-list (`type/*` entries allowed). */
export function contentTypeAllowed(contentType: string, allowed: readonly string[]): boolean {
  const [type] = contentType.split('/');
  return allowed.some((a) => a === contentType || a === `${type}/*`);
}

/** Checks the first message of PutMedia; every error names the field (`metadata.<field>`). */
export function checkUploadMetadata(
  m: Partial<storageV1.MediaUploadMetadata> | undefined,
  limits: { maxBytes: number; allowedContentTypes: readonly string[] },
): UploadMetadata {
  if (!m) throw grpcErrors.invalidArgument('metadata', 'is required as the first message');
  const rawType = (m.contentType ?? '').trim().toLowerCase();
  if (!rawType) throw grpcErrors.invalidArgument('metadata.content_type', 'is required');
  if (rawType.length > 255) throw grpcErrors.invalidArgument('metadata.content_type', 'exceeds 255 characters');
  const contentType = rawType.split(';')[0].trim();
  if (!CONTENT_TYPE.test(contentType)) throw grpcErrors.invalidArgument('metadata.content_type', 'must be a MIME type, type/subtype');
  if (!contentTypeAllowed(contentType, limits.allowedContentTypes)) {
    throw grpcErrors.invalidArgument(
      'metadata.content_type',
      `"${contentType}" is not allowed (allowed: ${limits.allowedContentTypes.join(', ')})`,
    );
  }
  const filename = m.filename ?? '';
  if ([...filename].length > 255) throw grpcErrors.invalidArgument('metadata.filename', 'exceeds 255 characters');
  if (filename.includes('/') || filename.includes('\0')) throw grpcErrors.invalidArgument('metadata.filename', 'must not contain "/"');
  const ownerId = checkUserId(m.ownerId ?? '', 'metadata.owner_id');
  const tags = m.tags ?? [];
  if (tags.length > 20) throw grpcErrors.invalidArgument('metadata.tags', 'at most 20 tags');
  tags.forEach((tag, i) => {
    if (!TAG.test(tag)) throw grpcErrors.invalidArgument(`metadata.tags[${i}]`, 'must be 1..64 characters of [a-z0-9_-]');
  });
  const prefix = m.prefix ?? '';
  if (prefix && (!PREFIX.test(prefix) || !prefix.endsWith('/') || prefix.startsWith('/') || prefix.includes('//'))) {
    throw grpcErrors.invalidArgument(
      'metadata.prefix',
      'must be at most 256 characters of [a-z0-9/_-], not start with "/", and end in "/"',
    );
  }
  const sizeBytes = Number(m.sizeBytes ?? 0);
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw grpcErrors.invalidArgument('metadata.size_bytes', 'must be a byte count');
  if (sizeBytes > limits.maxBytes) {
    throw grpcErrors.invalidArgument('metadata.size_bytes', `${sizeBytes} exceeds the maximum object size of ${limits.maxBytes} bytes`);
  }
  const sha256 = (m.sha256 ?? '').toLowerCase();
  if (sha256 && !SHA256.test(sha256)) throw grpcErrors.invalidArgument('metadata.sha256', 'must be 64 lowercase hex digits');
  return { contentType: rawType, filename, ownerId, tags: [...new Set(tags)], prefix, sizeBytes, sha256 };
}

export function checkMediaId(mediaId: string | undefined, field = 'media_id'): string {
  if (!mediaId) throw grpcErrors.invalidArgument(field, 'is required');
  if (!MEDIA_ID.test(mediaId)) throw grpcErrors.invalidArgument(field, 'is not a media id');
  return mediaId;
}

export function checkSweepPrefix(prefix: string | undefined): string {
  const value = prefix ?? '';
  if (value.length > 256) throw grpcErrors.invalidArgument('prefix', 'exceeds 256 characters');
  return value;
}

export function checkMaxActions(maxActions: number | undefined): number {
  const value = maxActions ?? 0;
  if (!Number.isInteger(value) || value < 0 || value > 100_000)
    throw grpcErrors.invalidArgument('max_actions', 'must be between 0 and 100000');
  return value;
}
