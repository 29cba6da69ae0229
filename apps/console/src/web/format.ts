import { type ProtoTimestamp, timestampToMillis } from '@pulse/contracts';

/** `2024-06-01 10:00:00 UTC` of a protobuf Timestamp; `—` for none. */
export function when(ts: ProtoTimestamp | null | undefined): string {
  if (!ts || (ts.seconds === 0 && ts.nanos === 0)) return '—';
  return `${new Date(timestampToMillis(ts))
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')}`;
}

/** `3 s ago`, `5 min ago`, `2 h ago`, `4 d ago` of a past time in ms. */
export function ago(ms: number, now = Date.now()): string {
  return `${duration(Math.max(0, now - ms))} ago`;
}

/** A duration in ms as `850 ms`, `12 s`, `5 min`, `2.5 h`, `3 d`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Number((ms / 3_600_000).toFixed(1))} h`;
  return `${Number((ms / 86_400_000).toFixed(1))} d`;
}

/** Bytes as `512 B`, `1.5 KiB`, `20.0 MiB`. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A number with thousands separators, at most 4 decimals. */
export function num(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 4 });
}

/** The name of an enum value without its prefix: `STREAM_STATE_RUNNING` → `RUNNING`. */
export function enumName(names: Record<number, string>, value: number, prefix: string): string {
  const name = names[value] ?? String(value);
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
