import { ConfigError, SERVICE_LIST } from '@pulse/platform';
import { loadConsoleConfig, PEER_NAMES } from './console.config';

describe('console config', () => {
  it('places every peer of the service list on its ports by default, and on CONSOLE_PEER_HOST', () => {
    expect(PEER_NAMES).toEqual(SERVICE_LIST.map((s) => s.name).filter((n) => n !== 'console'));
    const ingest = SERVICE_LIST.find((s) => s.name === 'ingest')!;
    const local = loadConsoleConfig({});
    expect(local.peers.ingest).toEqual({
      name: 'ingest',
      grpc: `127.0.0.1:${ingest.grpcPort}`,
      http: `http://127.0.0.1:${ingest.httpPort}`,
    });
    const helm = loadConsoleConfig({ CONSOLE_PEER_HOST: 'pulse-{service}' });
    expect(helm.peers['feature-store'].grpc).toMatch(/^pulse-feature-store:\d+$/);
  });

  it('takes one peer’s address from its own variables, and names a bad one', () => {
    const config = loadConsoleConfig({ ETL_GRPC_ADDR: 'etl.example:1234', ETL_HTTP_URL: 'http://etl.example:9000/' });
    expect(config.peers.etl).toEqual({ name: 'etl', grpc: 'etl.example:1234', http: 'http://etl.example:9000' });
    expect(() => loadConsoleConfig({ STORAGE_GRPC_ADDR: 'no port' })).toThrow(ConfigError);
    expect(() => loadConsoleConfig({ STORAGE_GRPC_ADDR: 'no port' })).toThrow(/STORAGE_GRPC_ADDR/);
  });
});
