import { featuresV1, millisToDuration, millisToTimestamp } from '@pulse/contracts';
import type { EntityDef, FeatureServiceDef, FeatureViewDef, SourceKind, ValueTypeName } from './definitions';
import type { LoadedRegistry } from './loaded-registry';

const { SourceType, ValueType } = featuresV1;

const SOURCE_TYPES: Record<SourceKind, featuresV1.SourceType> = {
  delta: SourceType.SOURCE_TYPE_DELTA,
  file: SourceType.SOURCE_TYPE_FILE,
  kafka: SourceType.SOURCE_TYPE_KAFKA,
  push: SourceType.SOURCE_TYPE_PUSH,
};

/** ValueType enum of a declared type name. */
export function valueTypeOf(name: ValueTypeName): featuresV1.ValueType {
  return ValueType[`VALUE_TYPE_${name.toUpperCase()}` as keyof typeof ValueType] as featuresV1.ValueType;
}

function timestamp(ms: number | undefined) {
  return ms === undefined ? undefined : millisToTimestamp(ms);
}

export function entityProto(e: EntityDef): featuresV1.Entity {
  return {
    name: e.name,
    joinKey: e.joinKey,
    valueType: valueTypeOf(e.valueType),
    description: e.description,
    owner: e.owner,
    tags: e.tags,
  };
}

export function featureViewProto(v: FeatureViewDef, registry: LoadedRegistry, materializedUntilMs?: number): featuresV1.FeatureView {
  const times = registry.objectTimes[`feature_view/${v.name}`];
  return {
    name: v.name,
    entities: v.entities,
    features: v.features.map((f) => ({ name: f.name, valueType: valueTypeOf(f.valueType), description: f.description, tags: f.tags })),
    ttl: millisToDuration(v.ttlMs),
    source: {
      name: v.source.name,
      type: SOURCE_TYPES[v.source.type],
      location: v.source.location,
      timestampField: v.source.timestampField,
      createdTimestampField: v.source.createdTimestampField,
    },
    online: v.online,
    owner: v.owner,
    description: v.description,
    tags: v.tags,
    createdAt: timestamp(times?.createdAt),
    updatedAt: timestamp(times?.updatedAt),
    materializedUntil: timestamp(materializedUntilMs),
  };
}

export function featureServiceProto(s: FeatureServiceDef, registry: LoadedRegistry): featuresV1.FeatureService {
  return {
    name: s.name,
    projections: s.projections.map((p) => ({ featureView: p.featureView, features: p.features })),
    owner: s.owner,
    description: s.description,
    tags: s.tags,
    createdAt: timestamp(registry.objectTimes[`feature_service/${s.name}`]?.createdAt),
  };
}

export function registryProto(registry: LoadedRegistry, watermarks: ReadonlyMap<string, number>): featuresV1.Registry {
  const d = registry.definitions;
  return {
    project: registry.project,
    version: registry.version,
    lastUpdatedAt: timestamp(registry.version === 0 ? undefined : registry.appliedAt),
    entities: d.entities.map(entityProto),
    featureViews: d.featureViews.map((v) => featureViewProto(v, registry, watermarks.get(v.name))),
    featureServices: d.featureServices.map((s) => featureServiceProto(s, registry)),
  };
}
