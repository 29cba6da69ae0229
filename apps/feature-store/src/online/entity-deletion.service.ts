import { Injectable } from '@nestjs/common';
import type { featuresV1 } from '@pulse/contracts';
import { grpcErrors } from '@pulse/platform';
import { RegistryCache } from '../registry/registry.cache';
import { OnlineStoreRepository } from './online-store.redis.repository';

/** Characters special to Redis' glob MATCH, escaped in the literal parts of a pattern. */
const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * DeleteEntity: the online rows of one entity value in every feature view keyed by that entity, the erasure of a
 * user's features (Feast has no such call). A view keyed by that entity alone has one hash per value, deleted by
 * key; a view keyed by it and others has one hash per combination, found by a SCAN of the pattern with the other
 * values left open (values are URI-encoded in keys, so a value cannot forge a separator).
 */
@Injectable()
export class EntityDeletionService {
  constructor(
    private readonly registry: RegistryCache,
    private readonly store: OnlineStoreRepository,
  ) {}

  async delete(request: featuresV1.DeleteEntityRequest): Promise<featuresV1.DeleteEntityResponse> {
    const registry = this.registry.current;
    if (!request.entity) throw grpcErrors.invalidArgument('entity', 'is required');
    if (!request.key) throw grpcErrors.invalidArgument('key', 'is required');
    const entity = registry.entities.get(request.entity);
    if (!entity) throw grpcErrors.notFound(`entity "${request.entity}"`);
    const numeric = entity.valueType === 'int32' || entity.valueType === 'int64';
    if (numeric && !/^-?\d+$/.test(request.key)) throw grpcErrors.invalidArgument('key', `entity ${entity.name} is keyed by integers`);
    const value = numeric ? String(Number(request.key)) : encodeURIComponent(request.key);
    const views = [...registry.views.values()].filter((v) => v.joinKeys.includes(entity.joinKey));
    const exact = new Set<string>();
    const patterns = new Set<string>();
    for (const view of views) {
      if (view.joinKeys.length === 1) exact.add(`${entity.joinKey}=${value}`);
      else patterns.add(view.joinKeys.map((k) => (k === entity.joinKey ? `${k}=${escapeGlob(value)}` : `${k}=*`)).join('|'));
    }
    const rowsDeleted = await this.store.deleteEntities([...exact], [...patterns]);
    return { rowsDeleted, featureViews: views.map((v) => v.def.name).sort() };
  }
}
