import { authEnv, defaultPeerAddress, env, loadConfig, peerEnvPrefix, SERVICE_LIST, type ServiceName, telemetryEnv } from '@pulse/platform';
import { z } from 'zod';

/** The services the console reads: every service of the list but itself. */
export const PEER_NAMES = SERVICE_LIST.map((s) => s.name).filter((name): name is Exclude<ServiceName, 'console'> => name !== 'console');
export type PeerName = (typeof PEER_NAMES)[number];

/**
 * Every environment variable of the console; see apps/console/.env.example. Besides these, each peer `<PEER>` of
 * the service list (INGEST, CDC, ETL, STORAGE, FEATURE_STORE, RECOMMENDER) may be placed with `<PEER>_GRPC_ADDR`
 * (`host:port`) and `<PEER>_HTTP_URL` (base URL of its /health and /metrics); by default each is on
 * CONSOLE_PEER_HOST with the ports of the service list.
 */
export const consoleConfigSchema = z.object({
  SERVICE_NAME: env.string('console'),
  LOG_LEVEL: env.logLevel(),
  /** Tracing (TRACING_*) and log shipping (LOG_SHIPPING_*), both off by default: see @pulse/platform's telemetryEnv. */
  ...telemetryEnv,
  /** HTTP for the pages, their JSON, /health/live, /health/ready and /metrics (it serves no gRPC); port 0 picks a free port. */
  HTTP_PORT: env.port(8080),
  /**
   * PULSE_AUTH and PULSE_AUTH_* (the console serves HTTP only: they matter for the shared schema) and the console's
   * own PULSE_API_KEY, sent on its calls to every peer.
   */
  ...authEnv,
  /** Host of the peers whose address is not set one by one; `{service}` stands for the peer's name (`pulse-{service}` in Helm). */
  CONSOLE_PEER_HOST: env.string('127.0.0.1'),
  /** Deadline of one call to a peer (gRPC or HTTP); a panel whose peer does not answer in time says so. */
  CONSOLE_CALL_DEADLINE: env.duration('2s'),
  /** How often the console scrapes the peers' /metrics for its charts. */
  CONSOLE_SAMPLE_INTERVAL: env.duration('2s'),
  /** How much of that history the charts show (kept in memory only). */
  CONSOLE_SAMPLE_WINDOW: env.duration('10m'),
  /** Base URL of the trace store's query API and UI (Jaeger): the console's trace page reads `<url>/api/traces/<id>`. */
  JAEGER_URL: env.url('http://127.0.0.1:26686'),
});

const httpUrl = z.url({ protocol: /^https?$/ });

export interface PeerConfig {
  name: PeerName;
  /** `host:port` of its gRPC server; null when it serves HTTP only. */
  grpc: string | null;
  /** Base URL of its HTTP (/health, /metrics). */
  http: string;
}

export type ConsoleConfig = z.infer<typeof consoleConfigSchema> & { peers: Record<PeerName, PeerConfig> };

export const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');

export function loadConsoleConfig(overrides: Record<string, string | undefined> = {}): ConsoleConfig {
  const vars = { ...process.env, ...overrides };
  const base = loadConfig('console', consoleConfigSchema, vars);
  // The peers' variables follow from the service list: one schema of them, checked like the rest.
  const peerSchema = z.object(
    Object.fromEntries(
      PEER_NAMES.flatMap((name) => {
        const fallback = defaultPeerAddress(name, base.CONSOLE_PEER_HOST);
        const prefix = peerEnvPrefix(name);
        return [
          [`${prefix}_GRPC_ADDR`, fallback.grpc === null ? z.undefined() : env.address(fallback.grpc)],
          [`${prefix}_HTTP_URL`, httpUrl.default(fallback.http)],
        ];
      }),
    ),
  );
  const addresses = loadConfig('console', peerSchema, vars) as Record<string, string | undefined>;
  const peers = Object.fromEntries(
    PEER_NAMES.map((name) => {
      const prefix = peerEnvPrefix(name);
      const http = addresses[`${prefix}_HTTP_URL`] ?? '';
      return [name, { name, grpc: addresses[`${prefix}_GRPC_ADDR`] ?? null, http: http.replace(/\/+$/, '') }];
    }),
  ) as Record<PeerName, PeerConfig>;
  return { ...base, peers };
}
