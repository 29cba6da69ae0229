import { grpcErrors } from '@pulse/platform';
import type { ServedView } from '../registry/loaded-registry';
import { plainFromProto, type PlainValue } from './value-codec';

const JOIN_KEY_TYPES = new Set(['int32', 'int64', 'string', 'bool']);

/**
 * The entity key string of a view's row: its join keys sorted by name as `k=v` joined by `|`, values
 * URI-encoded so no value can forge a separator. Views keyed by the same entities share one hash.
 */
export function entityKeyString(joinKeys: readonly string[], values: ReadonlyMap<string, PlainValue>): string {
  let out = '';
  for (let i = 0; i < joinKeys.length; i++) {
    const k = joinKeys[i];
    const v = values.get(k);
    out += `${i === 0 ? '' : '|'}${k}=${typeof v === 'string' ? encodeURIComponent(v) : String(v)}`;
  }
  return out;
}

/**
 * Decodes a request row's join keys (map of FeatureValue) into plain values, checking those the views
 * need: present, not null, of the entity's declared type. `field` names the row in errors.
 */
export function decodeJoinKeys(raw: unknown, views: Iterable<ServedView>, field: string): Map<string, PlainValue> {
  const given = raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const out = new Map<string, PlainValue>();
  const names = Object.keys(given);
  if (names.length === 0) throw grpcErrors.invalidArgument(field, 'join_keys is empty');
  if (names.length > 5) throw grpcErrors.invalidArgument(field, `${names.length} join keys (at most 5)`);
  for (const view of views) {
    for (const key of view.joinKeys) {
      if (out.has(key)) continue;
      const type = view.joinKeyTypes.get(key) ?? 'string';
      if (!(key in given))
        throw grpcErrors.invalidArgument(`${field}.${key}`, `join key ${key} is required by feature view ${view.def.name}`);
      const value = plainFromProto(given[key], type);
      if (value === null) throw grpcErrors.invalidArgument(`${field}.${key}`, 'join key is null');
      if (typeof value === 'object' && value !== null && 'error' in value)
        throw grpcErrors.invalidArgument(`${field}.${key}`, `join key ${value.error}`);
      if (!JOIN_KEY_TYPES.has(type)) throw grpcErrors.invalidArgument(`${field}.${key}`, `join keys of type ${type} are not supported`);
      if (type === 'string' && (value as string).length > 256)
        throw grpcErrors.invalidArgument(`${field}.${key}`, 'exceeds 256 characters');
      out.set(key, value as PlainValue);
    }
  }
  return out;
}
