import { addressProblem, channelTarget } from './channel-target';

describe('channelTarget', () => {
  it('keeps one host:port as it is (pick first)', () => {
    expect(channelTarget('storage.pulse.svc:50053')).toEqual({ target: 'storage.pulse.svc:50053', options: {} });
  });

  it('takes several IP host:port as one ipv4: or ipv6: target with round robin', () => {
    const v4 = channelTarget('127.0.0.1:5001, 127.0.0.2:5002');
    expect(v4.target).toBe('ipv4:127.0.0.1:5001,127.0.0.2:5002');
    expect(JSON.parse(String(v4.options['grpc.service_config']))).toEqual({ loadBalancingConfig: [{ round_robin: {} }] });
    expect(channelTarget('[::1]:5001,[::1]:5002').target).toBe('ipv6:[::1]:5001,[::1]:5002');
  });

  it('refuses what it cannot route, saying why', () => {
    expect(addressProblem('storage')).toMatch(/expected host:port/);
    expect(addressProblem('a:1,b:2')).toMatch(/several servers are given by their IP addresses/);
    expect(addressProblem('127.0.0.1:1,[::1]:2')).toMatch(/must all be IPv4 or all IPv6/);
    expect(() => channelTarget('a:1,b:2')).toThrow(/gRPC address "a:1,b:2": several servers/);
  });
});
