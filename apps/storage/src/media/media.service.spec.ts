import { GrpcStatus } from '@pulse/platform';
import { rethrowStoreError } from './media.service';

describe('blob store errors', () => {
  const statusOf = (error: unknown) => {
    try {
      rethrowStoreError(error);
    } catch (mapped) {
      return (mapped as { code?: number }).code;
    }
  };

  it('maps an unreachable or failing store to UNAVAILABLE and a full disk to RESOURCE_EXHAUSTED', () => {
    expect(statusOf(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(GrpcStatus.UNAVAILABLE);
    expect(statusOf(Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }))).toBe(
      GrpcStatus.UNAVAILABLE,
    );
    expect(statusOf(Object.assign(new Error('full'), { code: 'ENOSPC' }))).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });

  it('passes anything else through unchanged', () => {
    const denied = Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(() => rethrowStoreError(denied)).toThrow(denied);
  });
});
