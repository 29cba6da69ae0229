import type { Definitions, EntityDef, FeatureServiceDef, FeatureViewDef } from './definitions';

export type ObjectKind = 'entity' | 'feature_view' | 'feature_service';

/** One object that `apply` would add, change or remove. */
export interface Change {
  kind: ObjectKind;
  name: string;
  op: 'add' | 'update' | 'remove';
  /** What differs, one line each (`ttl: 1h -> 2h`). */
  details: string[];
  /** Why readers of the current registry would break (empty when none); `apply` refuses these without --force. */
  breaking: string[];
}

export interface Plan {
  changes: Change[];
  /** True when the repo equals the current registry: `apply` stores nothing. */
  unchanged: boolean;
  breaking: Change[];
}

/**
 * Compares the repo's definitions with the registry's current ones. A change breaks readers when a model
 * or an online reader of the current registry would get something else than it was built for: the type of
 * a served feature changes (served = the view is online or a feature service selects the feature), a
 * served feature, view or feature service disappears, or the join keys that address a served view change.
 */
export function planChanges(current: Definitions | undefined, next: Definitions): Plan {
  const changes: Change[] = [
    ...diffBy('entity', current?.entities ?? [], next.entities, (a, b) => diffEntity(a, b, current)),
    ...diffBy('feature_view', current?.featureViews ?? [], next.featureViews, (a, b) => diffView(a, b, current)),
    ...diffBy('feature_service', current?.featureServices ?? [], next.featureServices, diffService),
  ];
  for (const c of changes) {
    if (c.op !== 'remove') continue;
    if (c.kind === 'feature_view') {
      const view = current?.featureViews.find((v) => v.name === c.name);
      if (view && isServedView(view, current)) c.breaking.push(`served feature view ${c.name} is removed`);
    }
    if (c.kind === 'feature_service') c.breaking.push(`feature service ${c.name} is removed; models reading it break`);
  }
  return { changes, unchanged: changes.length === 0, breaking: changes.filter((c) => c.breaking.length > 0) };
}

/** Plain-text plan, Terraform/Feast style: `+` add, `~` update, `-` remove, `!` breaking. */
export function formatPlan(plan: Plan, project: string, fromVersion: number): string {
  if (plan.unchanged) return `project ${project}: no changes (registry version ${fromVersion} matches the repo)\n`;
  const sign = { add: '+', update: '~', remove: '-' } as const;
  const lines = [`project ${project}: ${plan.changes.length} change(s) against registry version ${fromVersion}`];
  for (const c of plan.changes) {
    lines.push(`  ${sign[c.op]} ${c.kind} ${c.name}`);
    for (const d of c.details) lines.push(`      ${d}`);
    for (const b of c.breaking) lines.push(`      ! breaking: ${b}`);
  }
  if (plan.breaking.length > 0) lines.push(`${plan.breaking.length} breaking change(s): apply refuses them without --force`);
  return `${lines.join('\n')}\n`;
}

function diffBy<T extends { name: string }>(
  kind: ObjectKind,
  before: readonly T[],
  after: readonly T[],
  diff: (a: T, b: T) => { details: string[]; breaking: string[] },
): Change[] {
  const old = new Map(before.map((o) => [o.name, o]));
  const now = new Map(after.map((o) => [o.name, o]));
  const out: Change[] = [];
  for (const o of after) {
    const prev = old.get(o.name);
    if (!prev) out.push({ kind, name: o.name, op: 'add', details: [], breaking: [] });
    else if (canonicalJson(prev) !== canonicalJson(o)) out.push({ kind, name: o.name, op: 'update', ...diff(prev, o) });
  }
  for (const o of before) if (!now.has(o.name)) out.push({ kind, name: o.name, op: 'remove', details: [], breaking: [] });
  return out;
}

function diffEntity(a: EntityDef, b: EntityDef, current: Definitions | undefined) {
  const details = fieldDiffs(a, b, ['joinKey', 'valueType', 'description', 'owner', 'tags']);
  const breaking: string[] = [];
  const served = (current?.featureViews ?? []).filter((v) => v.entities.includes(a.name) && isServedView(v, current));
  if (served.length > 0 && (a.joinKey !== b.joinKey || a.valueType !== b.valueType)) {
    breaking.push(
      `join key of entity ${a.name} changes (${a.joinKey}: ${a.valueType} -> ${b.joinKey}: ${b.valueType}) under served view(s) ${served.map((v) => v.name).join(', ')}`,
    );
  }
  return { details, breaking };
}

function diffView(a: FeatureViewDef, b: FeatureViewDef, current: Definitions | undefined) {
  const details = fieldDiffs(a, b, ['entities', 'ttlMs', 'source', 'online', 'owner', 'description', 'tags']);
  const breaking: string[] = [];
  const viewServed = isServedView(a, current);
  if (viewServed && canonicalJson(a.entities) !== canonicalJson(b.entities)) breaking.push(`entities of served view ${a.name} change`);
  const after = new Map(b.features.map((f) => [f.name, f]));
  for (const f of a.features) {
    const g = after.get(f.name);
    const served = a.online || isSelectedByService(a.name, f.name, current);
    if (!g) {
      details.push(`feature ${f.name} removed`);
      if (served) breaking.push(`served feature ${a.name}:${f.name} is removed`);
    } else if (g.valueType !== f.valueType) {
      details.push(`feature ${f.name}: type ${f.valueType} -> ${g.valueType}`);
      if (served) breaking.push(`type of served feature ${a.name}:${f.name} changes ${f.valueType} -> ${g.valueType}`);
    } else if (canonicalJson(f) !== canonicalJson(g)) {
      details.push(`feature ${f.name}: description or tags changed`);
    }
  }
  const before = new Set(a.features.map((f) => f.name));
  for (const g of b.features) if (!before.has(g.name)) details.push(`feature ${g.name}: added (${g.valueType})`);
  return { details, breaking };
}

function diffService(a: FeatureServiceDef, b: FeatureServiceDef) {
  const details = fieldDiffs(a, b, ['projections', 'owner', 'description', 'tags']);
  const breaking: string[] = [];
  for (const p of a.projections) {
    const q = b.projections.find((x) => x.featureView === p.featureView);
    if (!q) breaking.push(`feature service ${a.name} no longer selects view ${p.featureView}`);
    else if (q.features.length > 0) {
      const lost = (p.features.length > 0 ? p.features : ['(all)']).filter((f) => !q.features.includes(f));
      if (lost.length > 0)
        breaking.push(`feature service ${a.name} no longer selects ${lost.map((f) => `${p.featureView}:${f}`).join(', ')}`);
    }
  }
  return { details, breaking };
}

function isServedView(view: FeatureViewDef, current: Definitions | undefined): boolean {
  return view.online || (current?.featureServices ?? []).some((s) => s.projections.some((p) => p.featureView === view.name));
}

function isSelectedByService(view: string, feature: string, current: Definitions | undefined): boolean {
  return (current?.featureServices ?? []).some((s) =>
    s.projections.some((p) => p.featureView === view && (p.features.length === 0 || p.features.includes(feature))),
  );
}

function fieldDiffs<T extends object>(a: T, b: T, keys: (keyof T & string)[]): string[] {
  const out: string[] = [];
  for (const k of keys) {
    const x = canonicalJson(a[k]);
    const y = canonicalJson(b[k]);
    if (x !== y) out.push(`${k}: ${x} -> ${y}`);
  }
  return out;
}

/** JSON with object keys sorted at every level, so definitions compare equal whatever stored them (jsonb reorders keys). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as Record<string, unknown>)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}
