import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { errorMessage } from '../health/health.registry';
import type { Logger } from '../logging/logger';

export interface LeaderElectionOptions {
  /** The database holding the lock (any database all candidates reach; the app's own). */
  url: string;
  /** What is elected, e.g. `cdc:pulse_cdc`: candidates of the same name compete, others do not. */
  name: string;
  /** This candidate, for logs and `pg_stat_activity` (e.g. the pod's name). */
  identity: string;
  /** How often a standby tries to take the lock (default 2 s). */
  retryIntervalMs?: number;
  /** How often the leader checks its session still holds the lock (default 1 s). */
  renewIntervalMs?: number;
  /**
   * How long a leader whose session broke keeps trying to take the lock again on a new session before it
   * gives up leadership (default 10 s, like a Kubernetes Lease's renew deadline). While PostgreSQL is down
   * nobody can take the lock, so a restart of the database does not move leadership.
   */
  renewDeadlineMs?: number;
  logger?: Logger;
}

export type LeaderRole = 'leader' | 'standby' | 'stopped';

/**
 * Leader election on a PostgreSQL session-level advisory lock: the candidate whose dedicated session holds
 * `pg_try_advisory_lock(key)` is the leader; the lock goes with the session, so a leader that dies (kill -9,
 * lost network) frees it as soon as PostgreSQL notices the session is gone, and a standby polling the lock
 * takes over. The session is kept apart from the app's pool (a pooled connection would carry the lock away).
 * A leader whose session breaks tries to take the lock again on a new session for `renewDeadlineMs`; when it
 * cannot, `lost` settles and the leader must stop its work at once (the services end the process, and come
 * back as a standby), as client-go's leader election does on OnStoppedLeading.
 */
export class PgLeaderElection {
  private session?: Client;
  private role: LeaderRole = 'standby';
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private resolveLeader!: () => void;
  private resolveLost!: (error: Error) => void;
  private lastError?: string;
  private attempting?: Promise<boolean>;
  /** Resolves when this candidate became the leader. */
  readonly leader: Promise<void> = new Promise((resolve) => (this.resolveLeader = resolve));
  /** Settles when leadership was lost for good (the session broke and the lock could not be taken again). */
  readonly lost: Promise<Error> = new Promise((resolve) => (this.resolveLost = resolve));
  private readonly key: bigint;

  constructor(private readonly options: LeaderElectionOptions) {
    this.key = advisoryLockKey(options.name);
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  get state(): LeaderRole {
    return this.role;
  }

  /** One attempt to take the lock now; true when this candidate is (or already was) the leader. */
  async tryAcquire(): Promise<boolean> {
    if (this.role === 'leader') return true;
    if (this.stopped || this.role === 'stopped') return false;
    const acquired = await this.attempt();
    if (acquired && this.role === 'standby') this.becomeLeader();
    return this.isLeader;
  }

  /** Gives leadership up because the work it guards failed: the lock is freed for a standby, `lost` settles. */
  async resign(reason: Error): Promise<void> {
    if (this.role === 'stopped') return;
    await this.stop();
    this.resolveLost(reason);
  }

  /** Tries until this candidate leads (resolves `leader`), then watches the lock; returns at once. */
  campaign(): void {
    if (this.stopped || this.timer) return;
    const tick = async () => {
      this.timer = undefined;
      if (this.stopped) return;
      if (this.role === 'leader') {
        await this.renew();
      } else if (await this.attempt()) {
        this.becomeLeader();
      }
      if (!this.stopped && this.role !== 'stopped') {
        const delay = this.role === 'leader' ? (this.options.renewIntervalMs ?? 1_000) : (this.options.retryIntervalMs ?? 2_000);
        this.timer = setTimeout(() => void tick(), delay);
      }
    };
    this.timer = setTimeout(() => void tick(), this.role === 'leader' ? (this.options.renewIntervalMs ?? 1_000) : 0);
  }

  /**
   * Readiness of the election itself: throws when this candidate has no working session to PostgreSQL (a
   * standby that cannot take over, or a leader about to lose the lock). Leader and standby are both ready.
   */
  async check(): Promise<void> {
    if (this.role === 'stopped') throw new Error(`leadership of ${this.options.name} lost`);
    if (!this.session)
      throw new Error(`no session to PostgreSQL for the election of ${this.options.name}${this.lastError ? `: ${this.lastError}` : ''}`);
    await this.session.query('SELECT 1');
  }

  /** Releases the lock (a standby takes over at once) and closes the session. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const wasLeader = this.role === 'leader';
    this.role = 'stopped';
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    if (wasLeader) await session.query('SELECT pg_advisory_unlock($1::bigint)', [this.key.toString()]).catch(() => undefined);
    await session.end().catch(() => undefined);
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.options.logger?.info({ election: this.options.name, identity: this.options.identity }, 'became the leader');
    this.resolveLeader();
  }

  /** Checks the session still answers (the lock is the session's); on a broken session, takes the lock again or gives up. */
  private async renew(): Promise<void> {
    try {
      if (!this.session) throw new Error('the session closed');
      await this.session.query('SELECT 1');
      return;
    } catch (error) {
      this.options.logger?.warn({ err: error, election: this.options.name }, 'the leader’s session broke; taking the lock again');
    }
    const deadline = Date.now() + (this.options.renewDeadlineMs ?? 10_000);
    while (!this.stopped && Date.now() < deadline) {
      if (await this.attempt()) {
        this.options.logger?.info({ election: this.options.name }, 'lock taken again on a new session: still the leader');
        return;
      }
      // Taken by another candidate while the session was down: it leads now.
      if (this.lastError === 'held by another session') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (this.stopped) return;
    this.role = 'stopped';
    const error = new Error(
      `leadership of ${this.options.name} lost: the lock could not be taken again (${this.lastError ?? 'no answer'})`,
    );
    this.options.logger?.error({ election: this.options.name }, error.message);
    this.resolveLost(error);
  }

  /** Opens a session when there is none and tries the lock on it; one attempt at a time. */
  private attempt(): Promise<boolean> {
    this.attempting ??= this.lockOnce().finally(() => (this.attempting = undefined));
    return this.attempting;
  }

  private async lockOnce(): Promise<boolean> {
    try {
      if (!this.session) {
        const session = new Client({
          connectionString: this.options.url,
          application_name: `leader:${this.options.name}:${this.options.identity}`.slice(0, 63),
          connectionTimeoutMillis: 5_000,
          keepAlive: true,
          keepAliveInitialDelayMillis: 1_000,
        });
        session.on('error', (error) => {
          this.lastError = errorMessage(error);
          if (this.session === session) this.session = undefined;
          session.end().catch(() => undefined);
        });
        await session.connect();
        // A query stuck on a half-open connection must not hold the election.
        await session.query("SET statement_timeout = '5s'");
        this.session = session;
      }
      const { rows } = await this.session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [
        this.key.toString(),
      ]);
      const locked = rows[0]?.locked === true;
      this.lastError = locked ? undefined : 'held by another session';
      return locked;
    } catch (error) {
      this.lastError = errorMessage(error);
      const session = this.session;
      this.session = undefined;
      await session?.end().catch(() => undefined);
      return false;
    }
  }
}

/** The 64-bit advisory lock key of an election name (the first 8 bytes of its SHA-256, signed). */
export function advisoryLockKey(name: string): bigint {
  return createHash('sha256').update(`pulse:leader:${name}`).digest().readBigInt64BE(0);
}
