import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
} from '@platformatic/kafka';
import { isRetriableKafkaError, isTopicAlreadyExists } from './platformatic-kafka.client';

describe('isTopicAlreadyExists', () => {
  it('finds TOPIC_ALREADY_EXISTS inside the errors a concurrent CreateTopics answers with', () => {
    // As the client reports a topic another replica created first: a MultipleErrors around the response's errors.
    const response = new ResponseError(19, 7, { '/topics/0': [36, 'Topic with this name already exists.'] }, undefined);
    expect(isTopicAlreadyExists(new MultipleErrors('Creating topics failed.', [response]))).toBe(true);
    expect(isTopicAlreadyExists(new ProtocolError(36))).toBe(true);
  });

  it('does not take any other refusal for it', () => {
    const denied = new ResponseError(19, 7, { '/topics/0': [29, 'Topic authorization failed.'] }, undefined);
    expect(isTopicAlreadyExists(new MultipleErrors('Creating topics failed.', [denied]))).toBe(false);
    expect(isTopicAlreadyExists(new Error('connect ECONNREFUSED'))).toBe(false);
    expect(isTopicAlreadyExists(undefined)).toBe(false);
  });
});

describe('isRetriableKafkaError', () => {
  it('retries what a repeated write can get through: a leader moving, a request timing out, a broken connection', () => {
    const notLeader = new ResponseError(0, 9, { '/topics/0/partitions/3': [6, null] }, undefined);
    expect(isRetriableKafkaError(new MultipleErrors('Producing failed.', [notLeader]))).toBe(true);
    expect(
      isRetriableKafkaError(new MultipleErrors('Producing failed 3 times.', [new TimeoutError('Request timed out.'), notLeader])),
    ).toBe(true);
    expect(isRetriableKafkaError(new NetworkError('Connection closed', { canRetry: false }))).toBe(true);
  });

  it('does not retry what can never succeed as it is', () => {
    const tooLarge = new ResponseError(0, 9, { '/topics/0/partitions/0': [10, null] }, undefined);
    expect(isRetriableKafkaError(new MultipleErrors('Producing failed.', [tooLarge]))).toBe(false);
    expect(isRetriableKafkaError(new UserError('/records/0/value must be a Buffer'))).toBe(false);
    expect(isRetriableKafkaError(new AuthenticationError('SASL authentication failed.'))).toBe(false);
  });
});
