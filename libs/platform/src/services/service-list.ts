import { SERVICE_LIST } from './service-list.generated';

export { SERVICE_LIST };

/** A Pulse service's name, as in the service list (tools/services/services.mjs). */
export type ServiceName = (typeof SERVICE_LIST)[number]['name'];

/** Where a peer answers by default: its gRPC address (null for an HTTP-only service) and the base URL of its HTTP. */
export interface PeerAddress {
  grpc: string | null;
  http: string;
}

/**
 * A peer's default address from the service list's ports. `host` may hold `{service}`, replaced by the peer's
 * name: `127.0.0.1` locally (every service on its own port), `pulse-{service}` in a Helm install named pulse.
 */
export function defaultPeerAddress(name: ServiceName, host = '127.0.0.1'): PeerAddress {
  const service = SERVICE_LIST.find((s) => s.name === name);
  if (!service) throw new Error(`${name} is not in the service list`);
  const at = host.replaceAll('{service}', name);
  return { grpc: service.grpcPort === null ? null : `${at}:${service.grpcPort}`, http: `http://${at}:${service.httpPort}` };
}

/** The prefix of a peer's variables, `<PEER>_GRPC_ADDR` and `<PEER>_HTTP_URL`: `FEATURE_STORE` of `feature-store`. */
export function peerEnvPrefix(name: string): string {
  return name.replace(/-/g, '_').toUpperCase();
}
