import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, quoteIdent } from '@pulse/platform';
import type { Pool } from 'pg';
import { ANALYTICS_CONFIG, type AnalyticsConfig } from '../config/analytics.config';
import { type HandledEvent, HandledEventsRepository } from './handled-events.repository';

/** Handled events in PostgreSQL (`<schema>.handled_events`, migrations/001_handled_events.sql). */
@Injectable()
export class PgHandledEventsRepository extends HandledEventsRepository {
  private readonly table: string;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ANALYTICS_CONFIG) config: AnalyticsConfig,
  ) {
    super();
    this.table = `${quoteIdent(config.ANALYTICS_PG_SCHEMA)}.handled_events`;
  }

  async record(events: readonly HandledEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.table} (event_id, user_id, type, occurred_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
       ON CONFLICT (event_id) DO NOTHING`,
      [events.map((e) => e.eventId), events.map((e) => e.userId), events.map((e) => e.type), events.map((e) => new Date(e.occurredAtMs))],
    );
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table}`);
    return Number(rows[0].n);
  }
}
