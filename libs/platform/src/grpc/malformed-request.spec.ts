import { status } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoFile } from '@pulse/contracts';
import { PROTO_LOADER_OPTIONS } from './health-reflection';
import { acceptMalformedRequests, malformedRequestError } from './malformed-request';

describe('acceptMalformedRequests', () => {
  const definition = protoLoader.loadSync(protoFile('pulse/ingest/v1/ingest_service.proto'), PROTO_LOADER_OPTIONS);
  const method = () =>
    (definition['pulse.ingest.v1.IngestService'] as Record<string, protoLoader.MethodDefinition<unknown, unknown>>)['TrackEvents'];
  const good = method().requestSerialize({ events: [{ eventId: 'e1', userId: 'u1' }] });
  acceptMalformedRequests(definition);
  acceptMalformedRequests(definition); // twice: still one wrapper

  it('decodes a valid request as before', () => {
    const request = method().requestDeserialize(good);
    expect(request).toMatchObject({ events: [{ eventId: 'e1', userId: 'u1' }] });
    expect(malformedRequestError(request)).toBeUndefined();
  });

  it('turns bytes that are not the request type into INVALID_ARGUMENT with the decoder’s reason, not a throw', () => {
    for (const bytes of [
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // field 1, a length far beyond the message
      Buffer.from([0x0f]), // wire type 7 does not exist
      good.subarray(0, good.length - 3), // truncated
    ]) {
      const request = method().requestDeserialize(bytes);
      const error = malformedRequestError(request);
      expect(error?.code).toBe(status.INVALID_ARGUMENT);
      expect(error?.message).toMatch(/^the request is not a valid protobuf message of the method's type: \S/);
    }
  });

  it('leaves ordinary values alone', () => {
    expect(malformedRequestError(undefined)).toBeUndefined();
    expect(malformedRequestError({ events: [] })).toBeUndefined();
  });
});
