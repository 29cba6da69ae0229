import type { Definitions, EntityDef, FeatureDef, FeatureServiceDef, FeatureViewDef } from './definitions';
import type { StoredRegistry } from './registry.pg.repository';

/** A feature view with what serving needs precomputed. */
export interface ServedView {
  def: FeatureViewDef;
  /** Join keys of the view's entities, sorted: the online key's components. */
  joinKeys: string[];
  /** Declared type of each join key. */
  joinKeyTypes: Map<string, EntityDef['valueType']>;
  features: Map<string, FeatureDef>;
  /** Redis hash field of the view's event time. */
  timestampField: string;
}

/**
 * One registry version, indexed for reads. Immutable: the cache swaps the whole object when a new
 * version arrives, so a read sees one version from start to end.
 */
export class LoadedRegistry {
  readonly views = new Map<string, ServedView>();
  readonly services = new Map<string, FeatureServiceDef>();
  readonly entities = new Map<string, EntityDef>();
  /** Views by push source name. */
  readonly pushSources = new Map<string, ServedView[]>();
  /** Views by Kafka topic of their source. */
  readonly topics = new Map<string, ServedView[]>();

  constructor(
    readonly project: string,
    readonly version: number,
    readonly definitions: Definitions,
    readonly objectTimes: StoredRegistry['objectTimes'],
    readonly appliedAt: number,
  ) {
    for (const e of definitions.entities) this.entities.set(e.name, e);
    for (const s of definitions.featureServices) this.services.set(s.name, s);
    for (const v of definitions.featureViews) {
      const joinKeyTypes = new Map<string, EntityDef['valueType']>();
      for (const name of v.entities) {
        const e = this.entities.get(name);
        if (e) joinKeyTypes.set(e.joinKey, e.valueType);
      }
      const served: ServedView = {
        def: v,
        joinKeys: [...joinKeyTypes.keys()].sort(),
        joinKeyTypes,
        features: new Map(v.features.map((f) => [f.name, f])),
        timestampField: `_ts:${v.name}`,
      };
      this.views.set(v.name, served);
      if (v.source.type === 'push') this.pushSources.set(v.source.name, [...(this.pushSources.get(v.source.name) ?? []), served]);
      if (v.source.type === 'kafka') this.topics.set(v.source.location, [...(this.topics.get(v.source.location) ?? []), served]);
    }
  }

  static empty(project: string): LoadedRegistry {
    return new LoadedRegistry(project, 0, { project, entities: [], featureViews: [], featureServices: [] }, {}, 0);
  }

  static from(stored: StoredRegistry): LoadedRegistry {
    return new LoadedRegistry(stored.project, stored.version, stored.definitions, stored.objectTimes, stored.appliedAt);
  }
}
