import { createHmac } from 'node:crypto';

/** Field names that hold a person's id in Pulse's log lines (any letter case, with or without `_`). */
const PERSONAL = /^(user|actor|author|follower|followee|target_?user|viewer|principal|subject)_?id$|^email$/i;

/**
 * Replaces the values of personal fields (user ids, emails: see PERSONAL) with `h:` + a keyed hash (HMAC-SHA-256, 16
 * hex digits), at the top level and one level down, so that shipped log lines can still be grouped by person without
 * carrying who it is. The same id gives the same hash with the same key.
 */
export function hashPersonalFields(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record)) {
    if (PERSONAL.test(name) && value !== null && value !== undefined && typeof value !== 'object') out[name] = hashId(String(value), key);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      const inner: Record<string, unknown> = {};
      for (const [n, v] of Object.entries(value))
        inner[n] = PERSONAL.test(n) && v !== null && typeof v !== 'object' ? hashId(String(v), key) : v;
      out[name] = inner;
    } else out[name] = value;
  }
  return out;
}

/** Whether a field name holds a person's id (see PERSONAL). */
export function isPersonalField(name: string): boolean {
  return PERSONAL.test(name);
}

export function hashId(id: string, key: string): string {
  return `h:${createHmac('sha256', key).update(id).digest('hex').slice(0, 16)}`;
}
