import * as grpc from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AuthConfig } from '../config/auth.config';
import { grpcClient, type UnaryClient } from './grpc-client';
import { grpcTlsSettings, type GrpcTlsSettings } from './tls';

/** Status codes a retry (of an idempotent call) can fix. */
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.ABORTED]);
/** Status codes that say the peer is unwell (they open the breaker); a caller's mistake (INVALID_ARGUMENT, NOT_FOUND, ...) does not. */
const PEER_FAULTS = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.INTERNAL,
  grpc.status.UNKNOWN,
]);

export interface PeerClientOptions {
  /** The peer's name in logs, metrics and errors, e.g. `storage`. */
  name: string;
  /** `host:port`. */
  address: string;
  /** Proto file relative to proto/ and the fully-qualified service, e.g. `pulse.storage.v1.StorageService`. */
  protoFile: string;
  service: string;
  /** Deadline of one attempt (default 1 s). */
  deadlineMs?: number;
  /** Extra attempts of an idempotent call after a retryable status (default 2). */
  retries?: number;
  /** First backoff before a retry, doubled each time, with full jitter (default 25 ms). */
  backoffMs?: number;
  /** Consecutive peer faults that open the breaker (default 5). */
  failureThreshold?: number;
  /** How long the breaker stays open before one trial call is let through (default 5 s). */
  openMs?: number;
  /** Where the peer metrics go (the app's ServiceMetrics registry). */
  registry?: Registry;
  channelOptions?: grpc.ChannelOptions;
  /** This service's own credentials (PULSE_API_KEY: an API key or a JWT), sent on every call to the peer. */
  credentials?: string;
  /** TLS towards the peer (GRPC_TLS_* of this service's config); absent: plaintext. */
  tls?: GrpcTlsSettings;
}

/** How a service presents itself to its peers, from its config: its API key or JWT, and its TLS material. */
export function peerSecurity(config: Partial<AuthConfig>): Pick<PeerClientOptions, 'credentials' | 'tls'> {
  return { credentials: config.PULSE_API_KEY || undefined, tls: grpcTlsSettings(config) };
}

export interface PeerCallOptions {
  /**
   * Total time the call may take, retries included (default: one attempt's deadline times the attempts). A
   * retry starts only if the budget leaves room for it; each attempt's deadline is cut to what is left.
   */
  budgetMs?: number;
  /** Whether the call may be repeated (reads; writes carrying an idempotency key). Default true. */
  idempotent?: boolean;
  metadata?: grpc.Metadata;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * The breaker refused the call without trying: the peer failed too often lately. It carries no stack trace: a
 * refusal is the expected answer of every call while a peer is down, and capturing a stack for each was the most
 * expensive part of refusing (tools/bench/recs-serve runs the recommender without its peers: 3 % of its CPU).
 */
export class CircuitOpenError extends Error {
  readonly code = grpc.status.UNAVAILABLE;

  static refusing(peer: string, retryInMs: number): CircuitOpenError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new CircuitOpenError(peer, retryInMs);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  constructor(peer: string, retryInMs: number) {
    super(`${peer}: circuit open after repeated failures (next trial in ${Math.max(0, Math.round(retryInMs))} ms)`);
    this.name = 'CircuitOpenError';
  }
}

const metricsByRegistry = new WeakMap<
  Registry,
  { calls: Counter<'peer' | 'method' | 'code'>; seconds: Histogram<'peer' | 'method'>; state: Gauge<'peer'> }
>();

function peerMetrics(registry: Registry) {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      calls: new Counter({
        name: 'grpc_client_handled_total',
        help: 'Calls to peer services, by peer, method and final status (CIRCUIT_OPEN when the breaker refused)',
        labelNames: ['peer', 'method', 'code'],
        registers: [registry],
      }),
      seconds: new Histogram({
        name: 'grpc_client_handling_seconds',
        help: 'Time of calls to peer services, retries included',
        labelNames: ['peer', 'method'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
      state: new Gauge({
        name: 'grpc_client_breaker_open',
        help: 'Whether the circuit breaker towards a peer is open (1) or lets calls through (0)',
        labelNames: ['peer'],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

/**
 * A client of a peer service as services call each other: a deadline on every attempt, retries of
 * idempotent calls with exponential backoff and jitter inside a time budget, and a circuit breaker (closed →
 * open after `failureThreshold` consecutive peer faults → half-open after `openMs`, one trial call closes or
 * re-opens it). A slow or failing peer costs the caller at most its budget, and nothing while the breaker is
 * open, so the caller can degrade its answer instead of failing it.
 */
export class PeerClient {
  readonly name: string;
  private readonly client: UnaryClient;
  private readonly deadlineMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly failureThreshold: number;
  private readonly openMs: number;
  private failures = 0;
  private openedAt = 0;
  private breaker: BreakerState = 'closed';
  private trialInFlight = false;
  private readonly metrics?: ReturnType<typeof peerMetrics>;

  constructor(options: PeerClientOptions) {
    this.name = options.name;
    this.deadlineMs = options.deadlineMs ?? 1_000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 25;
    this.failureThreshold = options.failureThreshold ?? 5;
    this.openMs = options.openMs ?? 5_000;
    this.client = grpcClient(options.address, options.protoFile, options.service, {
      channelOptions: { 'grpc.keepalive_time_ms': 30_000, 'grpc.keepalive_timeout_ms': 5_000, ...options.channelOptions },
      credentials: options.credentials,
      tls: options.tls,
    });
    if (options.registry) {
      this.metrics = peerMetrics(options.registry);
      this.metrics.state.set({ peer: this.name }, 0);
    }
  }

  get state(): BreakerState {
    if (this.breaker === 'open' && Date.now() - this.openedAt >= this.openMs) return 'half-open';
    return this.breaker;
  }

  async call<Res = any>(method: string, request: unknown, options: PeerCallOptions = {}): Promise<Res> {
    const started = Date.now();
    const attempts = (options.idempotent ?? true) ? this.retries + 1 : 1;
    const budget = options.budgetMs ?? this.deadlineMs * attempts;
    const end = (code: string) => {
      this.metrics?.calls.inc({ peer: this.name, method, code });
      this.metrics?.seconds.observe({ peer: this.name, method }, (Date.now() - started) / 1000);
    };
    let lastError: unknown;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const left = budget - (Date.now() - started);
      if (left <= 0) break;
      const trial = this.admit();
      if (trial === undefined) {
        end('CIRCUIT_OPEN');
        throw CircuitOpenError.refusing(this.name, this.openMs - (Date.now() - this.openedAt));
      }
      try {
        const response = await this.client.call<Res>(method, request, {
          deadlineMs: Math.min(this.deadlineMs, left),
          metadata: options.metadata,
        });
        this.succeeded(trial);
        end('OK');
        return response;
      } catch (error) {
        lastError = error;
        const code = (error as grpc.ServiceError).code;
        if (PEER_FAULTS.has(code)) this.failed(trial);
        else this.succeeded(trial); // the peer answered: the breaker has no reason to open
        if (!RETRYABLE.has(code) || attempt + 1 >= attempts) break;
        const pause = Math.random() * this.backoffMs * 2 ** attempt;
        if (Date.now() - started + pause >= budget) break;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
    const code = (lastError as grpc.ServiceError | undefined)?.code;
    end(code === undefined ? 'DEADLINE_EXCEEDED' : (grpc.status[code] ?? String(code)));
    if (lastError) throw lastError;
    throw Object.assign(new Error(`${this.name}: no time left in the budget of ${budget} ms`), { code: grpc.status.DEADLINE_EXCEEDED });
  }

  close(): void {
    this.client.close();
  }

  /** Whether a call may go now: true for the half-open trial, false for a normal call, undefined when refused. */
  private admit(): boolean | undefined {
    const state = this.state;
    if (state === 'closed') return false;
    if (state === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    return undefined;
  }

  private succeeded(trial: boolean): void {
    if (trial) this.trialInFlight = false;
    this.failures = 0;
    if (this.breaker !== 'closed') {
      this.breaker = 'closed';
      this.metrics?.state.set({ peer: this.name }, 0);
    }
  }

  private failed(trial: boolean): void {
    if (trial) this.trialInFlight = false;
    this.failures++;
    if (trial || this.failures >= this.failureThreshold) {
      this.breaker = 'open';
      this.openedAt = Date.now();
      this.metrics?.state.set({ peer: this.name }, 1);
    }
  }
}
