import { ingestV1, millisToTimestamp } from '@pulse/contracts';

const { ActivityType, Platform, TargetType } = ingestV1;
export { ActivityType, TargetType };

const PLATFORMS = [Platform.PLATFORM_WEB, Platform.PLATFORM_IOS, Platform.PLATFORM_ANDROID];

/**
 * Builds the events of one session: unique event ids (`<prefix>-<n>`), occurred_at now, the session id, the
 * user's client (a platform that stays the same for a user) and, for items of a recommendation list, its id.
 */
export class ActivityEventFactory {
  private next = 0;

  constructor(private readonly idPrefix: string) {}

  forSession(userId: string, agentIndex: number, sessionId: string) {
    const context: ingestV1.ClientContext = {
      platform: PLATFORMS[agentIndex % PLATFORMS.length],
      appVersion: 'pulse-simulator/1',
      userAgent: '',
      ipAddress: '',
      locale: 'en-US',
      timeZone: 'UTC',
    };
    return (
      type: ingestV1.ActivityType,
      target: { type: ingestV1.TargetType; id: string },
      properties: Record<string, string> = {},
      recommendationId = '',
    ): ingestV1.ActivityEvent => ({
      eventId: `${this.idPrefix}-${this.next++}`,
      userId,
      type,
      target,
      occurredAt: millisToTimestamp(Date.now()),
      sessionId,
      properties,
      context,
      recommendationId,
    });
  }
}

export const post = (id: string) => ({ type: TargetType.TARGET_TYPE_POST, id });
export const user = (id: string) => ({ type: TargetType.TARGET_TYPE_USER, id });
