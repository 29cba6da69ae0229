import type { ServedView } from '../registry/loaded-registry';
import { entityKeyString } from './entity-key';
import type { OnlineWrite } from './online-store.redis.repository';
import { encodeCell, type PlainValue } from './value-codec';

/**
 * One entity's row of one view as an online write: every feature of the view with its value (null when
 * absent), the view's event time, and the key's expiry (event time + ttl + how long expired values stay
 * answerable as EXPIRED; never for a view without ttl).
 */
export function onlineWrite(
  view: ServedView,
  keys: ReadonlyMap<string, PlainValue>,
  eventTimeMs: number,
  values: ReadonlyMap<string, PlainValue>,
  expiredRetentionMs: number,
): OnlineWrite {
  const cells: string[] = [];
  for (const f of view.def.features) {
    cells.push(`${view.def.name}:${f.name}`, encodeCell(values.get(f.name) ?? null, f.valueType));
  }
  const ttl = view.def.ttlMs;
  return {
    entityKey: entityKeyString(view.joinKeys, keys),
    timestampField: view.timestampField,
    eventTimeMs,
    expireAtMs: ttl > 0 ? eventTimeMs + ttl + expiredRetentionMs : 0,
    cells,
  };
}
