import { grpcErrors } from '@pulse/platform';
import type { FeatureDef } from '../registry/definitions';
import type { LoadedRegistry, ServedView } from '../registry/loaded-registry';

/** The features of one view within a selection, with their output columns. */
export interface ViewSelection {
  view: ServedView;
  features: FeatureDef[];
  /** Output column of each feature. */
  columns: number[];
  /** Redis fields to read: the view's timestamp field, then one per feature. */
  fields: string[];
}

/** A resolved selection: output refs in order and the reads grouped by view. */
export interface Selection {
  refs: string[];
  byView: ViewSelection[];
}

const MAX_REFS = 500;

/**
 * Resolves `features.refs` or `feature_service` against a registry. Unknown views, features or services
 * are NOT_FOUND; a malformed or duplicate ref INVALID_ARGUMENT. `requireOnline` refuses views that are
 * not served online (online reads); offline retrieval may select any view.
 */
export function resolveSelection(
  registry: LoadedRegistry,
  selection: { features?: { refs?: string[] } | null; featureService?: string },
  requireOnline: boolean,
): Selection {
  const pairs: [string, string][] = [];
  if (selection.featureService) {
    const service = registry.services.get(selection.featureService);
    if (!service) throw grpcErrors.notFound(`feature service "${selection.featureService}"`);
    for (const p of service.projections) {
      const view = registry.views.get(p.featureView);
      if (!view) throw grpcErrors.notFound(`feature view "${p.featureView}" of feature service ${service.name}`);
      const names = p.features.length > 0 ? p.features : view.def.features.map((f) => f.name);
      for (const f of names) pairs.push([p.featureView, f]);
    }
  } else {
    const refs = selection.features?.refs ?? [];
    if (refs.length === 0) throw grpcErrors.invalidArgument('features.refs', 'select at least one feature, or a feature_service');
    if (refs.length > MAX_REFS) throw grpcErrors.invalidArgument('features.refs', `${refs.length} refs exceed the limit of ${MAX_REFS}`);
    const seen = new Set<string>();
    refs.forEach((ref, i) => {
      const colon = ref.indexOf(':');
      if (colon <= 0 || colon === ref.length - 1 || ref.indexOf(':', colon + 1) !== -1) {
        throw grpcErrors.invalidArgument(`features.refs[${i}]`, `"${ref}" is not of the form feature_view:feature`);
      }
      if (seen.has(ref)) throw grpcErrors.invalidArgument(`features.refs[${i}]`, `"${ref}" is selected twice`);
      seen.add(ref);
      pairs.push([ref.slice(0, colon), ref.slice(colon + 1)]);
    });
  }
  const byName = new Map<string, ViewSelection>();
  const refs: string[] = [];
  pairs.forEach(([viewName, featureName], column) => {
    const view = registry.views.get(viewName);
    if (!view) throw grpcErrors.notFound(`feature view "${viewName}"`);
    const feature = view.features.get(featureName);
    if (!feature) throw grpcErrors.notFound(`feature "${featureName}" of feature view ${viewName}`);
    if (requireOnline && !view.def.online)
      throw grpcErrors.failedPrecondition(`feature view ${viewName} is not served online (online: false)`);
    let group = byName.get(viewName);
    if (!group) {
      group = { view, features: [], columns: [], fields: [view.timestampField] };
      byName.set(viewName, group);
    }
    group.features.push(feature);
    group.columns.push(column);
    group.fields.push(`${viewName}:${featureName}`);
    refs.push(`${viewName}:${featureName}`);
  });
  return { refs, byView: [...byName.values()] };
}
