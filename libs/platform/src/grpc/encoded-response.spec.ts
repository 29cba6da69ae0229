import * as protoLoader from '@grpc/proto-loader';
import { featuresV1, protoFile } from '@pulse/contracts';
import { acceptEncodedResponses, encodedResponse } from './encoded-response';
import { PROTO_LOADER_OPTIONS } from './health-reflection';

describe('acceptEncodedResponses', () => {
  const definition = protoLoader.loadSync(protoFile('pulse/features/v1/features_service.proto'), PROTO_LOADER_OPTIONS);
  const method = () =>
    (definition['pulse.features.v1.FeaturesService'] as Record<string, protoLoader.MethodDefinition<unknown, unknown>>)[
      'GetOnlineFeatures'
    ];
  const response: featuresV1.GetOnlineFeaturesResponse = { featureRefs: ['v:f'], rows: [] };
  const original = method().responseSerialize(response);
  acceptEncodedResponses(definition);
  acceptEncodedResponses(definition); // twice: still one wrapper

  it('sends bytes a handler encoded as they are, and serializes objects as before', () => {
    const bytes = featuresV1.GetOnlineFeaturesResponse.encode(response).finish();
    const sent = method().responseSerialize(encodedResponse<featuresV1.GetOnlineFeaturesResponse>(bytes));
    expect(Buffer.compare(sent, Buffer.from(bytes))).toBe(0);
    expect(Buffer.compare(method().responseSerialize(response), original)).toBe(0);
    expect(method().responseDeserialize(sent)).toMatchObject({ featureRefs: ['v:f'], rows: [] });
  });
});
