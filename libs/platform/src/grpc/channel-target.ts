import type { ChannelOptions } from '@grpc/grpc-js';
import { isIP } from 'node:net';

/** A channel's target and the options it needs, from a peer address (`<PEER>_GRPC_ADDR`). */
export interface ChannelTarget {
  target: string;
  options: ChannelOptions;
}

const ROUND_ROBIN: ChannelOptions = { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) };

/** What is wrong with an address, or undefined when it is one `channelTarget` takes. */
export function addressProblem(address: string): string | undefined {
  const parts = address.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^(\[[0-9a-fA-F:.]+\]|[^\s:/,[\]]+):\d{1,5}$/.test(p)))
    return 'expected host:port, or several IP host:port separated by commas';
  if (parts.length > 1 && parts.some((p) => isIP(p.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')) === 0))
    return 'several servers are given by their IP addresses (host names: one name that resolves to them all, e.g. a headless Service)';
  if (parts.length > 1 && new Set(parts.map((p) => (p.startsWith('[') ? 6 : 4))).size > 1)
    return 'several servers must all be IPv4 or all IPv6';
  return undefined;
}

/**
 * The channel target of a peer address:
 * - `host:port`: one server or a name (grpc-js resolves it by DNS and keeps to the first address that answers, its
 *   default `pick_first`);
 * - several `ip:port` separated by commas (the replicas of a service, e.g. on one machine): grpc-js's `ipv4:`/`ipv6:`
 *   target with **round robin**, so calls spread over the replicas and go to the others while one is down.
 * Throws on anything else, naming the problem.
 */
export function channelTarget(address: string): ChannelTarget {
  const problem = addressProblem(address);
  if (problem) throw new Error(`gRPC address "${address}": ${problem}`);
  const parts = address.split(',').map((p) => p.trim());
  if (parts.length === 1) return { target: parts[0], options: {} };
  const scheme = parts[0].startsWith('[') ? 'ipv6' : 'ipv4';
  return { target: `${scheme}:${parts.join(',')}`, options: ROUND_ROBIN };
}
