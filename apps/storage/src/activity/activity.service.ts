import { Injectable } from '@nestjs/common';
import type { storageV1 } from '@pulse/contracts';
import { grpcErrors, timestampField } from '@pulse/platform';
import { checkUserId } from '../profiles/profile.validation';
import { dayOf, decodePageToken, encodePageToken, pageSize, toTimestamp } from '../shared/page-token';
import { ActivityRepository, type ActivityRow } from './activity.cassandra.repository';

const DAY_BATCH = 16;
const DEFAULT_WINDOW_DAYS = 90;

@Injectable()
export class ActivityService {
  constructor(private readonly activity: ActivityRepository) {}

  /** A user's activity newest first within [start, end), paged across day partitions. */
  async list(request: storageV1.ListActivityRequest): Promise<storageV1.ListActivityResponse> {
    const userId = checkUserId(request.userId);
    const size = pageSize(request.pageSize);
    const end = timestampField(request.endTime, 'end_time') ?? new Date(Date.now() + 60_000);
    const start = timestampField(request.startTime, 'start_time') ?? new Date(end.getTime() - DEFAULT_WINDOW_DAYS * 86_400_000);
    if (start >= end) throw grpcErrors.invalidArgument('start_time', 'must be before end_time');
    const types = new Set(request.types ?? []);
    const position = decodePageToken(request.pageToken);

    const out: ActivityRow[] = [];
    const firstDay = dayOf(start.getTime());
    let days = await this.activity.days(userId, firstDay, position?.b ?? dayOf(end.getTime() - 1), DAY_BATCH);
    let pageState = position?.s;
    while (days.length > 0) {
      const day = days[0];
      const page = await this.activity.page(userId, day, start, end, size - out.length, pageState);
      pageState = page.pageState;
      out.push(...page.rows.filter((r) => types.size === 0 || types.has(r.type)));
      if (!pageState) {
        days.shift();
        if (days.length === 0 && day > firstDay) days = await this.activity.days(userId, firstDay, day - 1, DAY_BATCH);
      }
      if (out.length >= size) {
        const next = pageState ? { b: day, s: pageState } : days.length ? { b: days[0] } : undefined;
        return { activities: out.map(toMessage), nextPageToken: encodePageToken(next) };
      }
    }
    return { activities: out.map(toMessage), nextPageToken: '' };
  }
}

function toMessage(r: ActivityRow): storageV1.Activity {
  return {
    eventId: r.eventId,
    userId: r.userId,
    type: r.type,
    target: { type: r.targetType, id: r.targetId },
    occurredAt: toTimestamp(r.occurredAt),
    receivedAt: toTimestamp(r.receivedAt),
    sessionId: r.sessionId,
    properties: r.properties,
  };
}
