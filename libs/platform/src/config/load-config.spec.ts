import { z } from 'zod';
import { ConfigError, env, loadConfig, parseDuration } from './load-config';

const schema = z.object({
  GRPC_PORT: env.port(50051),
  KAFKA_BROKERS: env.hostList('127.0.0.1:9092'),
  SKEW: env.duration('5m'),
});

describe('loadConfig', () => {
  it('applies defaults when variables are absent', () => {
    expect(loadConfig('svc', schema, {})).toEqual({
      GRPC_PORT: 50051,
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      SKEW: 300_000,
    });
  });

  it('refuses a bad value and names the variable', () => {
    expect(() => loadConfig('svc', schema, { GRPC_PORT: 'eighty' })).toThrow(ConfigError);
    try {
      loadConfig('svc', schema, { GRPC_PORT: '70000', KAFKA_BROKERS: 'nohost', SKEW: 'soon' });
    } catch (e) {
      const vars = (e as ConfigError).problems.map((p) => p.variable).sort();
      expect(vars).toEqual(['GRPC_PORT', 'KAFKA_BROKERS', 'SKEW']);
      expect((e as Error).message).toContain('svc: refusing to start');
    }
  });

  it('reads a host:port address (or several IP ones) and a decimal number', () => {
    const peers = z.object({ RECS_GRPC_ADDR: env.address('127.0.0.1:50056'), RATE: env.number(50, 0, 100) });
    expect(loadConfig('svc', peers, { RATE: '2.5' })).toEqual({ RECS_GRPC_ADDR: '127.0.0.1:50056', RATE: 2.5 });
    expect(loadConfig('svc', peers, { RECS_GRPC_ADDR: '10.0.0.1:1,10.0.0.2:2' }).RECS_GRPC_ADDR).toBe('10.0.0.1:1,10.0.0.2:2');
    expect(() => loadConfig('svc', peers, { RECS_GRPC_ADDR: 'a:1,b:2' })).toThrow(/RECS_GRPC_ADDR: several servers are given by their IP/);
    expect(() => loadConfig('svc', peers, { RECS_GRPC_ADDR: 'recs' })).toThrow(/RECS_GRPC_ADDR: expected host:port/);
    expect(() => loadConfig('svc', peers, { RATE: '101' })).toThrow(/RATE/);
  });

  it('parses a broker list', () => {
    expect(loadConfig('svc', schema, { KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000],
  ])('reads %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('rejects text without a unit', () => expect(parseDuration('30')).toBeUndefined());
});
