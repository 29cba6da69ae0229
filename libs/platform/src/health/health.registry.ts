/** One dependency check: resolves when the dependency answers, throws (with a reason) when it does not. */
export type ReadinessCheck = () => Promise<void>;

export interface CheckResult {
  ok: boolean;
  /** A non-critical dependency is reported but does not decide readiness (the service degrades instead). */
  critical: boolean;
  latencyMs: number;
  error?: string;
  /** The dependency works, slowed or impaired (a consumer retrying a batch): reported, never decides readiness. */
  degraded?: boolean;
}

export interface Readiness {
  ready: boolean;
  /** Some check failed without deciding readiness (a non-critical dependency, or a degraded one). */
  degraded: boolean;
  draining: boolean;
  checks: Record<string, CheckResult>;
}

/**
 * Thrown by a check whose dependency still works but is impaired (e.g. a consumer retrying a batch while its
 * store is down): the check is reported failed with the reason and `degraded`, and readiness does not change.
 */
export class DegradedError extends Error {
  override readonly name = 'DegradedError';
}

/**
 * Liveness and readiness of one process. Services register a check per real dependency (Kafka, Redis, ...);
 * readiness is the conjunction of all checks, and turns false as soon as shutdown starts so a load balancer
 * stops sending new work while in-flight work drains. Served over HTTP (/health/ready) and gRPC (grpc.health.v1).
 */
export class HealthRegistry {
  private readonly checks = new Map<string, { check: ReadinessCheck; critical: boolean }>();
  private draining = false;

  constructor(private readonly timeoutMs = 2_000) {}

  register(name: string, check: ReadinessCheck, options: { critical?: boolean } = {}): void {
    this.checks.set(name, { check, critical: options.critical ?? true });
  }

  /** Called when shutdown begins: from now on the process reports not ready. */
  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async readiness(): Promise<Readiness> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, { check, critical }]) => [name, await this.run(check, critical)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ready = !this.draining && entries.every(([, r]) => r.ok || !r.critical || r.degraded);
    const degraded = entries.some(([, r]) => !r.ok && (!r.critical || r.degraded));
    return { ready, degraded, draining: this.draining, checks };
  }

  private async run(check: ReadinessCheck, critical: boolean): Promise<CheckResult> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      return { ok: true, critical, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      const result: CheckResult = { ok: false, critical, latencyMs: Math.round(performance.now() - started), error: errorMessage(error) };
      if (error instanceof DegradedError) result.degraded = true;
      return result;
    } finally {
      clearTimeout(timer);
    }
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
