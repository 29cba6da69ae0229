import { logsV1, millisToTimestamp } from '@pulse/contracts';

/** The time windows the page offers, as `since` choices. */
export const WINDOWS: Record<string, number> = {
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '24h': 86_400_000,
  '7d': 604_800_000,
};

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** What the log page's form asks for (its query string), as typed. */
export interface LogFilters {
  service: string;
  level: string;
  window: string;
  text: string;
  trace: string;
}

/** The filters of a query string; unknown choices fall back to the defaults (every service, every level, last hour). */
export function logFilters(query: Record<string, unknown>): LogFilters {
  const str = (key: string, max: number) =>
    String(query[key] ?? '')
      .slice(0, max)
      .trim();
  const level = str('level', 8);
  const window = str('window', 4);
  return {
    service: str('service', 64),
    level: (LEVELS as readonly string[]).includes(level) ? level : '',
    window: window in WINDOWS ? window : '1h',
    text: str('text', 500),
    trace: str('trace', 32).toLowerCase(),
  };
}

/** The SearchLogs request of the filters, at `now`. */
export function searchRequest(filters: LogFilters, now = Date.now(), limit = 200): logsV1.SearchLogsRequest {
  return {
    services: filters.service ? [filters.service] : [],
    minLevel: filters.level,
    text: filters.text,
    traceId: filters.trace,
    since: millisToTimestamp(now - WINDOWS[filters.window]),
    until: millisToTimestamp(now + 1000),
    limit,
  };
}

/** The query string of filters (the fragment URL of the results panel, links to a trace's lines). */
export function queryString(filters: Partial<LogFilters>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  return params.toString();
}
