import { defaultPeerAddress, peerEnvPrefix, SERVICE_LIST } from './service-list';

describe('service list', () => {
  it('gives each peer its ports from the list, on a host that may name the service', () => {
    const ingest = SERVICE_LIST.find((s) => s.name === 'ingest')!;
    expect(defaultPeerAddress('ingest')).toEqual({ grpc: `127.0.0.1:${ingest.grpcPort}`, http: `http://127.0.0.1:${ingest.httpPort}` });
    expect(defaultPeerAddress('ingest', 'pulse-{service}').grpc).toBe(`pulse-ingest:${ingest.grpcPort}`);
    expect(() => defaultPeerAddress('nope' as never)).toThrow(/not in the service list/);
  });

  it('names a peer’s variables after it', () => {
    expect(peerEnvPrefix('feature-store')).toBe('FEATURE_STORE');
  });
});
