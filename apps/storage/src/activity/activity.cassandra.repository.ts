import { CASSANDRA } from '@pulse/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { ingestV1 } from '@pulse/contracts';
import type { Client } from 'cassandra-driver';
import { forEachConcurrently } from '../shared/concurrency';
import { dayOf } from '../shared/page-token';

export interface ActivityRow {
  eventId: string;
  userId: string;
  type: number;
  targetType: number;
  targetId: string;
  occurredAt: Date;
  receivedAt: Date | undefined;
  sessionId: string;
  properties: Record<string, string>;
}

const INSERT_ACTIVITY =
  'INSERT INTO activity_by_user (user_id, day, occurred_at, event_id, type, target_type, target_id, received_at, session_id, properties) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const INSERT_DAY = 'INSERT INTO activity_days_by_user (user_id, day) VALUES (?, ?)';
const WRITE_CONCURRENCY = 64;

/**
 * activity_by_user: one row per event, keyed by (user, day) and (occurred_at, event_id), so writing the
 * same event again rewrites the same row: a replayed Kafka batch never duplicates an activity.
 */
@Injectable()
export class ActivityRepository {
  constructor(@Inject(CASSANDRA) private readonly db: Client) {}

  async write(events: readonly ingestV1.ActivityTracked[]): Promise<void> {
    const days = new Set<string>();
    const statements: [string, unknown[]][] = [];
    for (const tracked of events) {
      const e = tracked.event;
      if (!e?.occurredAt) continue;
      const occurredMs = e.occurredAt.seconds * 1000 + Math.floor(e.occurredAt.nanos / 1e6);
      const day = dayOf(occurredMs);
      const received = tracked.receivedAt ? new Date(tracked.receivedAt.seconds * 1000 + Math.floor(tracked.receivedAt.nanos / 1e6)) : null;
      statements.push([
        INSERT_ACTIVITY,
        [
          e.userId,
          day,
          new Date(occurredMs),
          e.eventId,
          e.type,
          e.target?.type ?? 0,
          e.target?.id ?? '',
          received,
          e.sessionId,
          e.properties,
        ],
      ]);
      const dayKey = `${e.userId}\u0000${day}`;
      if (!days.has(dayKey)) {
        days.add(dayKey);
        statements.push([INSERT_DAY, [e.userId, day]]);
      }
    }
    await forEachConcurrently(statements, WRITE_CONCURRENCY, async ([query, params]) => {
      await this.db.execute(query, params, { isIdempotent: true });
    });
  }

  /** Days holding the user's activity within [fromDay, toDay], newest first. */
  async days(userId: string, fromDay: number, toDay: number, limit: number): Promise<number[]> {
    const rs = await this.db.execute(
      'SELECT day FROM activity_days_by_user WHERE user_id = ? AND day >= ? AND day <= ? LIMIT ?',
      [userId, fromDay, toDay, limit],
      { isIdempotent: true },
    );
    return rs.rows.map((r) => r.get('day'));
  }

  async page(userId: string, day: number, from: Date, to: Date, fetchSize: number, pageState?: string) {
    const rs = await this.db.execute(
      'SELECT event_id, type, target_type, target_id, occurred_at, received_at, session_id, properties FROM activity_by_user ' +
        'WHERE user_id = ? AND day = ? AND occurred_at >= ? AND occurred_at < ?',
      [userId, day, from, to],
      { isIdempotent: true, fetchSize, pageState },
    );
    const rows: ActivityRow[] = rs.rows.map((r) => ({
      eventId: r.get('event_id'),
      userId,
      type: r.get('type'),
      targetType: r.get('target_type'),
      targetId: r.get('target_id'),
      occurredAt: r.get('occurred_at'),
      receivedAt: r.get('received_at') ?? undefined,
      sessionId: r.get('session_id') ?? '',
      properties: r.get('properties') ?? {},
    }));
    return { rows, pageState: rs.pageState ?? undefined };
  }
}
