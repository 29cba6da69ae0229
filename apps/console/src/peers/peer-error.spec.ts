import { GrpcStatusError } from '@pulse/platform';
import { grpcPeerError, httpPeerError } from './peer-error';

describe('peer errors', () => {
  it('calls a refused connection unreachable, naming the service, the address and the cause', () => {
    const error = grpcPeerError('storage', '127.0.0.1:50053', {
      code: 14,
      details: 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:50053. Resolution note: ',
    });
    expect(error).toMatchObject({ service: 'storage', address: '127.0.0.1:50053', status: 'UNAVAILABLE', unreachable: true });
    expect(error.reason).toBe('connect ECONNREFUSED 127.0.0.1:50053');
    expect(grpcPeerError('etl', 'x:1', { code: 4, details: 'Deadline exceeded' }).unreachable).toBe(true);
  });

  it('keeps the status and the field violations of a refusal', () => {
    const refused = new GrpcStatusError(3, 'page_size: between 0 and 100', [{ field: 'page_size', description: 'between 0 and 100' }]);
    const error = grpcPeerError('etl', '127.0.0.1:50054', refused.toServiceError());
    expect(error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'page_size: between 0 and 100', unreachable: false });
    const notFound = grpcPeerError('recommender', 'r:1', { code: 5, details: 'model v9 not found' });
    expect(notFound.toJSON()).toEqual({
      service: 'recommender',
      address: 'r:1',
      status: 'NOT_FOUND',
      reason: 'model v9 not found',
      unreachable: false,
    });
  });

  it('calls an HTTP timeout unreachable', () => {
    const timeout = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
    expect(httpPeerError('ingest', 'http://127.0.0.1:8081', timeout)).toMatchObject({
      unreachable: true,
      reason: 'no answer before the deadline',
    });
  });
});
