import type { ActivityFacts, AggregateDefinition } from './aggregate-definitions';

/** One window of one group: what is emitted (updates) and, once final, written to the table. */
export interface WindowResult {
  start: number;
  end: number;
  group: string;
  counters: number[];
  derived: number[];
  /** 1 for the first emission of this window and group. */
  updateCount: number;
  isFinal: boolean;
}

export interface LateFact {
  facts: ActivityFacts;
  reason: 'BEHIND_WATERMARK' | 'WINDOW_CLOSED';
}

export interface BatchEmission {
  updates: WindowResult[];
  finals: WindowResult[];
  late: LateFact[];
  watermark: number | null;
}

interface OpenWindow {
  start: number;
  end: number;
  group: string;
  counters: number[];
  /** Session windows: time of the last event (end = last + gap). */
  last: number;
  emitted: number;
  dirty: boolean;
}

/** The serialised state of an aggregator, stored with the offsets it covers. */
export interface AggregatorState {
  version: 1;
  maxEventTime: number | null;
  watermark: number | null;
  windows: [start: number, end: number, group: string, counters: number[], last: number, emitted: number][];
}

/**
 * Event-time windows with a watermark and allowed lateness, evaluated micro-batch by micro-batch:
 * Spark's watermark (max event time seen − delay, advanced at the end of each batch) with Flink's
 * allowed lateness (a window keeps accepting events until the watermark passes its end plus the
 * lateness; after that its events are late). Each batch emits updates of the windows it changed and the
 * final result of the windows it closed. Deterministic: the same batches from the same state give the
 * same results, which is what makes the stream's exactly-once restart correct.
 */
export class WindowAggregator {
  private readonly windows = new Map<string, OpenWindow>();
  /** Session windows by group, ordered by start. */
  private readonly sessions = new Map<string, OpenWindow[]>();
  private maxEventTime: number | null = null;
  private watermark: number | null = null;
  private readonly typeCounters: Map<string, number[]>;
  private readonly allCounters: number[];

  constructor(
    readonly definition: AggregateDefinition,
    private readonly delayMs: number,
    private readonly allowedLatenessMs: number,
  ) {
    this.allCounters = definition.counters.flatMap((c, i) => (c.types ? [] : [i]));
    this.typeCounters = new Map();
    definition.counters.forEach((c, i) => {
      for (const t of c.types ?? []) this.typeCounters.set(t, [...(this.typeCounters.get(t) ?? []), i]);
    });
  }

  watermarkMs(): number | null {
    return this.watermark;
  }

  openWindows(): number {
    let n = this.windows.size;
    for (const list of this.sessions.values()) n += list.length;
    return n;
  }

  /** Adds a batch of events (any order) and returns what to emit; the watermark advances after it. */
  process(events: readonly ActivityFacts[]): BatchEmission {
    const late: LateFact[] = [];
    for (const facts of events) {
      const group = this.groupOf(facts);
      if (group === null) continue;
      const t = facts.occurredAt;
      this.maxEventTime = this.maxEventTime === null ? t : Math.max(this.maxEventTime, t);
      const accepted = this.definition.window.kind === 'session' ? this.addToSession(facts, group, t) : this.addToWindows(facts, group, t);
      if (!accepted) late.push({ facts, reason: this.definition.window.kind === 'session' ? 'BEHIND_WATERMARK' : 'WINDOW_CLOSED' });
    }
    if (this.maxEventTime !== null) {
      const candidate = this.maxEventTime - this.delayMs;
      this.watermark = this.watermark === null ? candidate : Math.max(this.watermark, candidate);
    }
    const updates: WindowResult[] = [];
    const finals: WindowResult[] = [];
    const visit = (w: OpenWindow, remove: () => void) => {
      if (this.isClosed(w.end)) {
        w.emitted++;
        finals.push(this.result(w, true));
        remove();
      } else if (w.dirty) {
        w.emitted++;
        w.dirty = false;
        updates.push(this.result(w, false));
      }
    };
    for (const [key, w] of [...this.windows]) visit(w, () => this.windows.delete(key));
    for (const [group, list] of [...this.sessions]) {
      for (const w of [...list]) {
        visit(w, () => {
          const rest = (this.sessions.get(group) ?? []).filter((s) => s !== w);
          if (rest.length === 0) this.sessions.delete(group);
          else this.sessions.set(group, rest);
        });
      }
    }
    const order = (a: WindowResult, b: WindowResult) => a.start - b.start || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0);
    return { updates: updates.sort(order), finals: finals.sort(order), late, watermark: this.watermark };
  }

  /**
   * Drops the open windows whose group matches (the windows of an erased user): they are never emitted, and the
   * next state written no longer holds them. Returns how many went.
   */
  forget(matches: (group: string) => boolean): number {
    let dropped = 0;
    for (const [key, w] of this.windows) {
      if (!matches(w.group)) continue;
      this.windows.delete(key);
      dropped++;
    }
    for (const [group, sessions] of this.sessions) {
      if (!matches(group)) continue;
      this.sessions.delete(group);
      dropped += sessions.length;
    }
    return dropped;
  }

  snapshot(): AggregatorState {
    const all = [...this.windows.values(), ...[...this.sessions.values()].flat()];
    return {
      version: 1,
      maxEventTime: this.maxEventTime,
      watermark: this.watermark,
      windows: all.map((w) => [w.start, w.end, w.group, [...w.counters], w.last, w.emitted]),
    };
  }

  restore(state: AggregatorState): void {
    if (state.version !== 1) throw new Error(`unknown aggregator state version ${String(state.version)}`);
    this.windows.clear();
    this.sessions.clear();
    this.maxEventTime = state.maxEventTime;
    this.watermark = state.watermark;
    for (const [start, end, group, counters, last, emitted] of state.windows) {
      const w: OpenWindow = { start, end, group, counters: [...counters], last, emitted, dirty: false };
      if (this.definition.window.kind === 'session')
        this.sessions.set(
          group,
          [...(this.sessions.get(group) ?? []), w].sort((a, b) => a.start - b.start),
        );
      else this.windows.set(`${start}|${group}`, w);
    }
  }

  private groupOf(facts: ActivityFacts): string | null {
    if (this.definition.targetType && facts.targetType !== this.definition.targetType) return null;
    const value = this.definition.group.from === 'user_id' ? facts.userId : facts.targetId;
    return value ? value : null;
  }

  private isClosed(end: number): boolean {
    return this.watermark !== null && end + this.allowedLatenessMs <= this.watermark;
  }

  private count(w: OpenWindow, facts: ActivityFacts): void {
    for (const i of this.allCounters) w.counters[i]++;
    for (const i of this.typeCounters.get(facts.type) ?? []) w.counters[i]++;
    w.dirty = true;
  }

  private addToWindows(facts: ActivityFacts, group: string, t: number): boolean {
    const spec = this.definition.window;
    if (spec.kind === 'session') throw new Error('unreachable');
    const size = spec.sizeMs;
    const slide = spec.kind === 'sliding' ? spec.slideMs : spec.sizeMs;
    let accepted = false;
    for (let start = Math.floor(t / slide) * slide; start + size > t; start -= slide) {
      const end = start + size;
      if (this.isClosed(end)) continue;
      const key = `${start}|${group}`;
      let w = this.windows.get(key);
      if (!w) {
        w = { start, end, group, counters: this.definition.counters.map(() => 0), last: t, emitted: 0, dirty: false };
        this.windows.set(key, w);
      }
      w.last = Math.max(w.last, t);
      this.count(w, facts);
      accepted = true;
    }
    return accepted;
  }

  private addToSession(facts: ActivityFacts, group: string, t: number): boolean {
    const spec = this.definition.window;
    if (spec.kind !== 'session') throw new Error('unreachable');
    if (this.isClosed(t + spec.gapMs)) return false;
    const list = this.sessions.get(group) ?? [];
    let merged: OpenWindow = {
      start: t,
      end: t + spec.gapMs,
      group,
      counters: this.definition.counters.map(() => 0),
      last: t,
      emitted: 0,
      dirty: false,
    };
    const rest: OpenWindow[] = [];
    for (const w of list) {
      if (w.start <= merged.end && merged.start <= w.end) {
        merged = {
          start: Math.min(w.start, merged.start),
          end: Math.max(w.end, merged.end),
          group,
          counters: w.counters.map((c, i) => c + merged.counters[i]),
          last: Math.max(w.last, merged.last),
          emitted: Math.max(w.emitted, merged.emitted),
          dirty: true,
        };
      } else rest.push(w);
    }
    this.count(merged, facts);
    this.sessions.set(
      group,
      [...rest, merged].sort((a, b) => a.start - b.start),
    );
    return true;
  }

  private result(w: OpenWindow, isFinal: boolean): WindowResult {
    const byName = new Map(this.definition.counters.map((c, i) => [c.name, w.counters[i]]));
    const derived = this.definition.derived.map((d) => {
      switch (d.kind) {
        case 'sum':
          return d.of.reduce((s, n) => s + (byName.get(n) ?? 0), 0);
        case 'ratio': {
          const den = byName.get(d.denominator) ?? 0;
          return den === 0 ? 0 : (byName.get(d.numerator) ?? 0) / den;
        }
        case 'session_seconds':
          return (w.last - w.start) / 1000;
      }
    });
    return { start: w.start, end: w.end, group: w.group, counters: [...w.counters], derived, updateCount: w.emitted, isFinal };
  }
}
