/**
 * The checked workload (Jepsen's method): every write has an id of its own, and the harness keeps which ones the
 * platform acknowledged, so that afterwards each sink can be searched for exactly those.
 *
 * - activity: TrackEvents batches to the ingest replicas (round robin), each retried with the same event_ids until
 *   it is answered (the contract of ingest: an event is acknowledged when ACCEPTED or DUPLICATE), as a client SDK does;
 * - rows: INSERTs into the app database's users table (PostgreSQL primary), acknowledged when the commit returns;
 * - reads: ListActivity on storage and Recommend on the recommender once a second, for the unavailability of reads.
 *
 * In tools/chaos, event time runs on an EventClock: many times faster than the wall clock while a load runs, so that a
 * minute of load closes several of etl's hourly windows (whose results the feature store serves).
 */
import { ingestV1, millisToTimestamp } from '@pulse/contracts';
import type { UnaryClient } from '@pulse/platform';
import { Client as PgClient } from 'pg';
import { sleep } from './world';

/** Availability of one path, second by second: a second is unavailable when it saw attempts and no success. */
export class Availability {
  attempts = 0;
  failures = 0;
  private readonly ok = new Set<number>();
  private readonly failed = new Set<number>();
  firstFailureAt?: number;
  lastFailureAt?: number;
  readonly errors = new Map<string, number>();

  success(): void {
    this.attempts++;
    this.ok.add(Math.floor(Date.now() / 1000));
  }

  failure(error: unknown): void {
    this.attempts++;
    this.failures++;
    const now = Date.now();
    this.failed.add(Math.floor(now / 1000));
    this.firstFailureAt ??= now;
    this.lastFailureAt = now;
    const reason = String((error as { details?: string; message?: string }).details || (error as Error).message || error).slice(0, 200);
    this.errors.set(reason, (this.errors.get(reason) ?? 0) + 1);
  }

  /** Seconds with attempts and no success. */
  unavailableSeconds(): number {
    return [...this.failed].filter((s) => !this.ok.has(s)).length;
  }

  topErrors(n = 3): Record<string, number> {
    return Object.fromEntries([...this.errors].sort((a, b) => b[1] - a[1]).slice(0, n));
  }
}

/** Event-time seconds per wall-clock second of the activity load (at most). */
export const EVENT_TIME_SPEED = 240;
/** How far back event time may start: ingest accepts events up to 7 days old (INGEST_MAX_PAST_SKEW). */
const EVENT_TIME_REACH_MS = 6 * 86_400_000;

/**
 * The event time of a run's loads, one after another: it moves EVENT_TIME_SPEED times faster than the wall clock
 * (slower when the loads are long, to stay within EVENT_TIME_REACH_MS) while a load runs, stands still between
 * loads, and reaches at most the time the run started when the last load ends. So it never goes back from one
 * load to the next (etl's watermark, one per aggregate, holds across them) and is never in the future.
 */
export class EventClock {
  readonly speed: number;
  private readonly origin: number;
  private loadedMs = 0;
  private since?: number;

  constructor(totalLoadMs: number, now = Date.now()) {
    this.speed = Math.min(EVENT_TIME_SPEED, EVENT_TIME_REACH_MS / totalLoadMs);
    this.origin = now - totalLoadMs * this.speed;
  }

  resume(): void {
    this.since ??= Date.now();
  }

  pause(): void {
    if (this.since === undefined) return;
    this.loadedMs += Date.now() - this.since;
    this.since = undefined;
  }

  /** The event time now. */
  now(): number {
    const now = Date.now();
    const loaded = this.loadedMs + (this.since === undefined ? 0 : now - this.since);
    return Math.min(now, Math.round(this.origin + loaded * this.speed));
  }
}

export interface ActivityLoadOptions {
  /** Id prefix of this scenario's events, users and posts. */
  prefix: string;
  /** Events per second. */
  rate: number;
  users: number;
  /** Posts the events are views of. */
  posts: number;
  /** The run's event time (a load that must not start or stop it passes one whose resume and pause do nothing); none: the wall clock. */
  clock?: Pick<EventClock, 'now' | 'resume' | 'pause'>;
  /** How long one batch is retried before it counts as not acknowledged. */
  retryForMs: number;
}

/** A running replica's client. */
export interface ReplicaClient {
  replica: string;
  client: UnaryClient;
}

/** How an event was acknowledged: its answer, the replica that gave it, on which attempt, when. */
export interface Acknowledgement {
  status: 'ACCEPTED' | 'DUPLICATE';
  replica: string;
  attempt: number;
  at: number;
}

/** An event as sent: whose, of which post, when it happened (event time, ms). */
export interface SentEvent {
  userId: string;
  postId: string;
  occurredAt: number;
}

export class ActivityLoad {
  readonly sent = new Map<string, SentEvent>();
  readonly acked = new Map<string, Acknowledgement>();
  readonly availability = new Availability();
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private next = 0;
  private turn = 0;

  constructor(
    private readonly ingest: () => ReplicaClient[],
    readonly options: ActivityLoadOptions,
  ) {}

  userIds(): string[] {
    return Array.from({ length: this.options.users }, (_, i) => `${this.options.prefix}-u${i}`);
  }

  postIds(): string[] {
    return Array.from({ length: this.options.posts }, (_, i) => `${this.options.prefix}-p${i}`);
  }

  /** The event time now: the run's clock, or the wall clock. */
  eventTime(): number {
    return this.options.clock?.now() ?? Date.now();
  }

  start(): void {
    this.options.clock?.resume();
    const perTick = Math.max(1, Math.round(this.options.rate / 10));
    this.timer = setInterval(() => {
      if (this.inFlight.size >= 200) return; // a platform that answers nothing gets no more than 200 batches waiting
      const occurredAt = this.eventTime();
      const events = Array.from({ length: perTick }, () => {
        const n = this.next++;
        const eventId = `${this.options.prefix}-e${n}`;
        const sent = {
          userId: `${this.options.prefix}-u${n % this.options.users}`,
          // (n / users spreads a user's events over the posts)
          postId: `${this.options.prefix}-p${(n + Math.floor(n / this.options.users)) % this.options.posts}`,
          occurredAt,
        };
        this.sent.set(eventId, sent);
        return {
          eventId,
          userId: sent.userId,
          type: ingestV1.ActivityType.ACTIVITY_TYPE_VIEW,
          target: { type: ingestV1.TargetType.TARGET_TYPE_POST, id: sent.postId },
          occurredAt: millisToTimestamp(occurredAt),
        };
      });
      const sending = this.send(events).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }, 100);
  }

  /** Stops sending new batches and waits until every batch sent is acknowledged or given up. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.options.clock?.pause();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async send(events: Partial<ingestV1.ActivityEvent>[]): Promise<void> {
    const giveUpAt = Date.now() + this.options.retryForMs;
    for (let attempt = 0; ; attempt++) {
      const clients = this.ingest();
      const target = clients.length > 0 ? clients[this.turn++ % clients.length] : undefined;
      try {
        if (!target) throw new Error('no ingest replica running');
        const response = await target.client.call<ingestV1.TrackEventsResponse>(
          'TrackEvents',
          { events, clientId: 'chaos' },
          { deadlineMs: 5_000 },
        );
        this.availability.success();
        const at = Date.now();
        for (const result of response.results) {
          const status =
            result.status === ingestV1.EventStatus.EVENT_STATUS_ACCEPTED
              ? 'ACCEPTED'
              : result.status === ingestV1.EventStatus.EVENT_STATUS_DUPLICATE
                ? 'DUPLICATE'
                : undefined;
          if (status) this.acked.set(result.eventId, { status, replica: target.replica, attempt, at });
        }
        return;
      } catch (error) {
        this.availability.failure(error);
        if (Date.now() > giveUpAt) return;
        await sleep(Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
      }
    }
  }
}

/** Rows written to the app database (users), one at a time at `rate` per second, each acknowledged by its commit. */
export class RowLoad {
  readonly acked = new Set<string>();
  readonly availability = new Availability();
  attempted = 0;
  private running = false;
  private loop?: Promise<void>;
  private pg?: PgClient;

  constructor(
    private readonly pgUrl: string,
    private readonly schema: string,
    readonly prefix: string,
    private readonly rate: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.pg?.end().catch(() => undefined);
  }

  private async connection(): Promise<PgClient> {
    if (this.pg) return this.pg;
    const pg = new PgClient({ connectionString: this.pgUrl, connectionTimeoutMillis: 3_000, query_timeout: 5_000 });
    pg.on('error', () => undefined); // a broken connection is found by the next query and replaced
    await pg.connect();
    this.pg = pg;
    return pg;
  }

  private async run(): Promise<void> {
    const interval = 1000 / this.rate;
    let n = 0;
    while (this.running) {
      const started = Date.now();
      const handle = `${this.prefix}_${n++}`;
      this.attempted++;
      try {
        const pg = await this.connection();
        const { rows } = await pg.query(
          `INSERT INTO ${this.schema}.users (handle, display_name, email) VALUES ($1, $1, $1 || '@example.org') RETURNING id`,
          [handle],
        );
        this.acked.add(String(rows[0].id));
        this.availability.success();
      } catch (error) {
        // An INSERT whose commit did not answer may or may not have happened: not acknowledged, so not looked for.
        this.availability.failure(error);
        await this.pg?.end().catch(() => undefined);
        this.pg = undefined;
        await sleep(250);
      }
      await sleep(Math.max(0, interval - (Date.now() - started)));
    }
  }
}

/** A read of a user's data once a second (ListActivity on storage, Recommend), counting failures: the read availability. */
export class ReadLoad {
  readonly availability = new Availability();
  private timer?: NodeJS.Timeout;
  private turn = 0;

  constructor(
    /** What is read, for the error when no replica runs. */
    private readonly what: string,
    private readonly client: () => UnaryClient | undefined,
    private readonly users: string[],
    private readonly read: (client: UnaryClient, userId: string) => Promise<unknown>,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      const client = this.client();
      const userId = this.users[this.turn++ % this.users.length];
      if (!client) return this.availability.failure(new Error(`no ${this.what} replica running`));
      this.read(client, userId).then(
        () => this.availability.success(),
        (error: unknown) => this.availability.failure(error),
      );
    }, 1_000);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
