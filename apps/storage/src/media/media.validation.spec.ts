import { decodeFieldViolations, GrpcStatusError } from '@pulse/platform';
import { checkUploadMetadata, contentTypeAllowed } from './media.validation';

const limits = { maxBytes: 1000, allowedContentTypes: ['image/*', 'video/mp4'] };
const valid = { ownerId: 'ada', contentType: 'image/png' };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (
      decodeFieldViolations((error as GrpcStatusError).toServiceError().metadata)[0]?.field ?? `(no field: ${(error as Error).message})`
    );
  }
  throw new Error('expected a failure');
}

describe('upload metadata', () => {
  it('accepts allowed types, with parameters and in any case, and normalizes them', () => {
    expect(contentTypeAllowed('image/webp', limits.allowedContentTypes)).toBe(true);
    expect(contentTypeAllowed('video/mp4', limits.allowedContentTypes)).toBe(true);
    expect(contentTypeAllowed('video/webm', limits.allowedContentTypes)).toBe(false);
    expect(checkUploadMetadata({ ...valid, contentType: 'Image/JPEG; q=1', tags: ['a', 'a'], prefix: 'x/y/' }, limits)).toMatchObject({
      contentType: 'image/jpeg; q=1',
      tags: ['a'],
      prefix: 'x/y/',
    });
  });

  it.each([
    [{ contentType: 'text/html' }, 'metadata.content_type'],
    [{ contentType: 'image' }, 'metadata.content_type'],
    [{ ownerId: 'bad id' }, 'metadata.owner_id'],
    [{ filename: 'x'.repeat(256) }, 'metadata.filename'],
    [{ prefix: '/abs/' }, 'metadata.prefix'],
    [{ prefix: 'a//b/' }, 'metadata.prefix'],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'metadata.tags'],
    [{ tags: ['ok', ''] }, 'metadata.tags[1]'],
    [{ sizeBytes: 1001 }, 'metadata.size_bytes'],
    [{ sha256: 'abc' }, 'metadata.sha256'],
  ])('names the field of %j', (change, field) => {
    expect(fieldOf(() => checkUploadMetadata({ ...valid, ...change }, limits))).toBe(field);
  });
});
