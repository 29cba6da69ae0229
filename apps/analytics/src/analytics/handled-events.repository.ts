import { ingestV1 } from '@pulse/contracts';

/** One tracked event as this service keeps it. */
export interface HandledEvent {
  eventId: string;
  userId: string;
  type: string;
  occurredAtMs: number;
}

/** The port the analytics service writes through; adapters per store (`*.pg.repository.ts`). */
export abstract class HandledEventsRepository {
  /** Records events idempotently: an event id recorded before is not recorded again. */
  abstract record(events: readonly HandledEvent[]): Promise<void>;
  /** How many distinct events were recorded. */
  abstract count(): Promise<number>;
}

/** Keeps the event ids in this process (lost on restart; a starting point until the service has a store). */
export class InMemoryHandledEventsRepository extends HandledEventsRepository {
  private readonly ids = new Set<string>();

  async record(events: readonly HandledEvent[]): Promise<void> {
    for (const e of events) this.ids.add(e.eventId);
  }

  async count(): Promise<number> {
    return this.ids.size;
  }
}

/** A tracked activity as a HandledEvent. */
export function handledEvent(tracked: ingestV1.ActivityTracked): HandledEvent | undefined {
  const e = tracked.event;
  if (!e?.eventId) return undefined;
  const at = e.occurredAt;
  return {
    eventId: e.eventId,
    userId: e.userId,
    type: ingestV1.ActivityType[e.type] ?? String(e.type),
    occurredAtMs: at ? at.seconds * 1000 + Math.floor(at.nanos / 1e6) : 0,
  };
}
