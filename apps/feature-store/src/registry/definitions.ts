import { parseDuration } from '@pulse/platform';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Declared types of features and join keys, as written in the definition files. */
export const VALUE_TYPES = [
  'int32',
  'int64',
  'float',
  'double',
  'string',
  'bool',
  'bytes',
  'timestamp',
  'int64_list',
  'float_list',
  'double_list',
  'string_list',
] as const;
export type ValueTypeName = (typeof VALUE_TYPES)[number];

export const NUMERIC_TYPES: readonly ValueTypeName[] = ['int32', 'int64', 'float', 'double'];

export type SourceKind = 'delta' | 'file' | 'kafka' | 'push';

/** Where offline rows of a view live: a Delta table or Parquet/CSV files, as a path under the lake root. */
export interface BatchSource {
  type: 'delta' | 'file';
  location: string;
  timestampField: string;
  /** Breaks ties between rows of one entity and event time; empty when the source has none. */
  createdTimestampField: string;
}

export interface SourceDef {
  name: string;
  type: SourceKind;
  /** delta/file: path under the lake root; kafka: the topic; push: empty. */
  location: string;
  timestampField: string;
  createdTimestampField: string;
  /** Offline rows of a kafka or push source (where Push with mode OFFLINE appends); the source itself for delta/file. */
  batch?: BatchSource;
}

export interface EntityDef {
  name: string;
  joinKey: string;
  valueType: ValueTypeName;
  description: string;
  owner: string;
  tags: Record<string, string>;
}

export interface FeatureDef {
  name: string;
  valueType: ValueTypeName;
  description: string;
  tags: Record<string, string>;
}

export interface FeatureViewDef {
  name: string;
  entities: string[];
  features: FeatureDef[];
  /** Milliseconds; 0 means values never expire. */
  ttlMs: number;
  source: SourceDef;
  online: boolean;
  owner: string;
  description: string;
  tags: Record<string, string>;
}

export interface FeatureServiceDef {
  name: string;
  projections: { featureView: string; features: string[] }[];
  owner: string;
  description: string;
  tags: Record<string, string>;
}

/** Everything a project declares, normalised (sorted by name) so equal repos serialise equally. */
export interface Definitions {
  project: string;
  entities: EntityDef[];
  featureViews: FeatureViewDef[];
  featureServices: FeatureServiceDef[];
}

/** A definition file or the whole repo breaks a rule; `problems` name the file and object. */
export class DefinitionError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid feature definitions:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DefinitionError';
  }
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const name = z.string().regex(NAME, 'lowercase letters, digits and _, starting with a letter, at most 63');
const tags = z.record(z.string(), z.string()).default({});
const text = z.string().default('');
const valueType = z.enum(VALUE_TYPES);
const lakePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a relative path under the lake root, without ".."');

const batchSchema = z.object({
  type: z.enum(['delta', 'file']),
  location: lakePath,
  timestamp_field: name,
  created_timestamp_field: z.union([name, z.literal('')]).default(''),
});

const sourceSchema = z.object({
  name: name,
  type: z.enum(['delta', 'file', 'kafka', 'push']),
  location: z.string().default(''),
  timestamp_field: z.string().default(''),
  created_timestamp_field: z.union([name, z.literal('')]).default(''),
  batch_source: batchSchema.optional(),
});

const fileSchema = z
  .object({
    project: name,
    entities: z
      .array(
        z.object({
          name: name,
          join_key: name,
          value_type: valueType.default('string'),
          description: text,
          owner: text,
          tags,
        }),
      )
      .default([]),
    feature_views: z
      .array(
        z.object({
          name: name,
          entities: z.array(name).min(1),
          ttl: z.string().default('0s'),
          online: z.boolean().default(true),
          owner: text,
          description: text,
          tags,
          source: sourceSchema,
          features: z.array(z.object({ name: name, type: valueType, description: text, tags })).min(1, 'at least one feature'),
        }),
      )
      .default([]),
    feature_services: z
      .array(
        z.object({
          name: name,
          owner: text,
          description: text,
          tags,
          features: z.array(z.object({ feature_view: name, features: z.array(name).default([]) })).min(1),
        }),
      )
      .default([]),
  })
  .strict();

const AGGREGATE_TOPIC = /^pulse\.aggregates\.([a-z][a-z0-9_]*)\.v1$/;

/** The aggregate name of a `pulse.aggregates.<name>.v1` topic, or undefined. */
export function aggregateName(topic: string): string | undefined {
  return AGGREGATE_TOPIC.exec(topic)?.[1];
}

/** Parses one definition file's text (YAML); `file` names it in errors. */
export function parseDefinitionFile(textContent: string, file: string): Definitions {
  let raw: unknown;
  try {
    raw = parseYaml(textContent);
  } catch (error) {
    throw new DefinitionError([`${file}: not valid YAML (${error instanceof Error ? error.message : String(error)})`]);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DefinitionError(parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const f = parsed.data;
  const problems: string[] = [];
  const featureViews: FeatureViewDef[] = f.feature_views.map((v) => {
    const ttlMs = parseDuration(v.ttl);
    if (ttlMs === undefined) problems.push(`${file}: feature view ${v.name}: ttl "${v.ttl}" is not a duration like 30m, 2h or 7d`);
    const s = v.source;
    const batch: BatchSource | undefined =
      s.type === 'delta' || s.type === 'file'
        ? { type: s.type, location: s.location, timestampField: s.timestamp_field, createdTimestampField: s.created_timestamp_field }
        : s.batch_source
          ? {
              type: s.batch_source.type,
              location: s.batch_source.location,
              timestampField: s.batch_source.timestamp_field,
              createdTimestampField: s.batch_source.created_timestamp_field,
            }
          : undefined;
    return {
      name: v.name,
      entities: [...v.entities],
      features: v.features.map((ft) => ({ name: ft.name, valueType: ft.type, description: ft.description, tags: sortKeys(ft.tags) })),
      ttlMs: ttlMs ?? 0,
      source: {
        name: s.name,
        type: s.type,
        location: s.location,
        timestampField: s.timestamp_field || (s.type === 'kafka' ? 'window_end' : s.type === 'push' ? 'event_timestamp' : ''),
        createdTimestampField: s.created_timestamp_field,
        ...(batch ? { batch } : {}),
      },
      online: v.online,
      owner: v.owner,
      description: v.description,
      tags: sortKeys(v.tags),
    };
  });
  if (problems.length > 0) throw new DefinitionError(problems);
  return {
    project: f.project,
    entities: f.entities.map((e) => ({
      name: e.name,
      joinKey: e.join_key,
      valueType: e.value_type,
      description: e.description,
      owner: e.owner,
      tags: sortKeys(e.tags),
    })),
    featureViews,
    featureServices: f.feature_services.map((s) => ({
      name: s.name,
      projections: s.features.map((p) => ({ featureView: p.feature_view, features: [...p.features] })),
      owner: s.owner,
      description: s.description,
      tags: sortKeys(s.tags),
    })),
  };
}

/** Reads every *.yaml / *.yml file under `dir` (recursively), merges them and checks the whole repo. */
export function loadDefinitionRepo(dir: string): Definitions {
  const files = listYaml(dir);
  if (files.length === 0) throw new DefinitionError([`${dir}: no *.yaml or *.yml definition files`]);
  const parts = files.map((file) => parseDefinitionFile(readFileSync(file, 'utf8'), relative(dir, file) || file));
  return mergeDefinitions(parts);
}

/** Merges the files of one repo: one project, names unique across files; then validates and sorts. */
export function mergeDefinitions(parts: readonly Definitions[]): Definitions {
  const projects = [...new Set(parts.map((p) => p.project))];
  if (projects.length !== 1)
    throw new DefinitionError([`the files declare ${projects.length} projects (${projects.join(', ')}); a repo has one`]);
  const merged: Definitions = {
    project: projects[0],
    entities: parts.flatMap((p) => p.entities),
    featureViews: parts.flatMap((p) => p.featureViews),
    featureServices: parts.flatMap((p) => p.featureServices),
  };
  validateDefinitions(merged);
  merged.entities.sort(byName);
  merged.featureViews.sort(byName);
  merged.featureServices.sort(byName);
  return merged;
}

/** Cross-object rules: unique names, references resolve, sources fit their views. Throws DefinitionError. */
export function validateDefinitions(d: Definitions): void {
  const problems: string[] = [];
  const dupes = (kind: string, names: string[]) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) problems.push(`${kind} "${n}" is declared more than once`);
      seen.add(n);
    }
  };
  dupes(
    'entity',
    d.entities.map((e) => e.name),
  );
  dupes(
    'feature view',
    d.featureViews.map((v) => v.name),
  );
  dupes(
    'feature service',
    d.featureServices.map((s) => s.name),
  );
  dupes(
    'join key',
    d.entities.map((e) => e.joinKey),
  );
  const entities = new Map(d.entities.map((e) => [e.name, e]));
  const views = new Map(d.featureViews.map((v) => [v.name, v]));
  const pushSources = new Map<string, FeatureViewDef[]>();

  for (const v of d.featureViews) {
    const where = `feature view ${v.name}`;
    dupes(
      `${where}: feature`,
      v.features.map((f) => f.name),
    );
    if (new Set(v.entities).size !== v.entities.length) problems.push(`${where}: an entity is listed twice`);
    const joinKeys = new Set<string>();
    for (const e of v.entities) {
      const entity = entities.get(e);
      if (!entity) problems.push(`${where}: unknown entity "${e}"`);
      else joinKeys.add(entity.joinKey);
    }
    for (const f of v.features) {
      if (joinKeys.has(f.name)) problems.push(`${where}: feature "${f.name}" has the name of a join key`);
      if (f.name === v.source.timestampField || f.name === v.source.createdTimestampField) {
        problems.push(`${where}: feature "${f.name}" has the name of a timestamp field`);
      }
    }
    const s = v.source;
    if (s.type === 'delta' || s.type === 'file') {
      if (!s.location || s.location.startsWith('/') || s.location.split('/').includes('..')) {
        problems.push(`${where}: source ${s.name}: location must be a relative path under the lake root`);
      }
      if (!NAME.test(s.timestampField)) problems.push(`${where}: source ${s.name}: timestamp_field is required`);
    }
    if (s.type === 'kafka') {
      if (!aggregateName(s.location))
        problems.push(`${where}: source ${s.name}: location must be an aggregates topic pulse.aggregates.<name>.v1`);
      if (s.timestampField !== 'window_end' && s.timestampField !== 'window_start') {
        problems.push(`${where}: source ${s.name}: timestamp_field of a kafka source is window_end or window_start`);
      }
      for (const f of v.features) {
        if (!NUMERIC_TYPES.includes(f.valueType))
          problems.push(`${where}: feature "${f.name}" of a kafka source must be numeric (aggregate metrics are numbers)`);
      }
    }
    if (s.type === 'push') {
      if (s.location) problems.push(`${where}: source ${s.name}: a push source has no location`);
      pushSources.set(s.name, [...(pushSources.get(s.name) ?? []), v]);
    }
    if (s.batch && (!NAME.test(s.batch.timestampField) || !s.batch.location)) {
      problems.push(`${where}: batch source needs a location and a timestamp_field`);
    }
  }
  for (const [source, vs] of pushSources) {
    const keys = new Set(vs.map((v) => [...v.entities].sort().join(',')));
    if (keys.size > 1) problems.push(`push source ${source}: its views are keyed by different entities (${[...keys].join(' / ')})`);
    const types = new Map<string, string>();
    for (const v of vs) {
      for (const f of v.features) {
        const prev = types.get(f.name);
        if (prev && prev !== f.valueType)
          problems.push(`push source ${source}: feature "${f.name}" has two types (${prev}, ${f.valueType})`);
        types.set(f.name, f.valueType);
      }
    }
  }
  const sources = new Map<string, FeatureViewDef>();
  for (const v of d.featureViews) {
    const other = sources.get(v.source.name);
    if (other && JSON.stringify(other.source) !== JSON.stringify(v.source)) {
      problems.push(`source "${v.source.name}" is declared differently by feature views ${other.name} and ${v.name}`);
    }
    if (!other) sources.set(v.source.name, v);
  }
  for (const s of d.featureServices) {
    const where = `feature service ${s.name}`;
    dupes(
      `${where}: feature view`,
      s.projections.map((p) => p.featureView),
    );
    for (const p of s.projections) {
      const view = views.get(p.featureView);
      if (!view) {
        problems.push(`${where}: unknown feature view "${p.featureView}"`);
        continue;
      }
      for (const f of p.features) {
        if (!view.features.some((vf) => vf.name === f)) problems.push(`${where}: feature view ${p.featureView} has no feature "${f}"`);
      }
    }
  }
  if (problems.length > 0) throw new DefinitionError(problems);
}

function listYaml(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw new DefinitionError([
      `${dir}: cannot read the definitions directory (${error instanceof Error ? error.message : String(error)})`,
    ]);
  }
  return names.flatMap((n) => {
    const path = join(dir, n);
    if (statSync(path).isDirectory()) return listYaml(path);
    return /\.ya?ml$/.test(n) ? [path] : [];
  });
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function sortKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  );
}
