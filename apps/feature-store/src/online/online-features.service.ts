import { Injectable } from '@nestjs/common';
import { featuresV1, millisToDuration, millisToTimestamp } from '@pulse/contracts';
import { grpcErrors, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import type { LoadedRegistry } from '../registry/loaded-registry';
import { RegistryCache } from '../registry/registry.cache';
import { decodeJoinKeys, entityKeyString } from './entity-key';
import { resolveSelection, type Selection } from './feature-selection';
import { OnlineStoreRepository } from './online-store.redis.repository';
import { decodeCell } from './value-codec';

const { FeatureStatus } = featuresV1;
const MAX_ROWS = 1000;

type FeatureResult = featuresV1.FeatureResult;

/**
 * GetOnlineFeatures: one pipelined round trip to Redis for all rows and views (one HMGET per row and
 * view). Each value carries its status: PRESENT, NULL_VALUE, NOT_FOUND, or EXPIRED when its view's event
 * time is older than the view's ttl, together with its event time and age.
 */
@Injectable()
export class OnlineFeaturesService {
  /** Resolved selections of the registry version being served, by selection text. */
  private selections = new WeakMap<LoadedRegistry, Map<string, Selection>>();
  private readonly served: Counter<'feature_view' | 'status'>;

  constructor(
    private readonly registry: RegistryCache,
    private readonly store: OnlineStoreRepository,
    metrics: ServiceMetrics,
  ) {
    this.served = new Counter({
      name: 'feature_store_online_values_total',
      help: 'Values answered by GetOnlineFeatures, by feature view and status (how often EXPIRED or NOT_FOUND is served)',
      labelNames: ['feature_view', 'status'],
      registers: [metrics.registry],
    });
  }

  async get(request: featuresV1.GetOnlineFeaturesRequest): Promise<featuresV1.GetOnlineFeaturesResponse> {
    const registry = this.registry.current;
    const rows = request.entityRows ?? [];
    if (rows.length === 0) throw grpcErrors.invalidArgument('entity_rows', 'at least one entity row is required');
    if (rows.length > MAX_ROWS) throw grpcErrors.invalidArgument('entity_rows', `${rows.length} rows exceed the limit of ${MAX_ROWS}`);
    const selection = this.selection(registry, request);
    const views = selection.byView.map((g) => g.view);

    const reads: { entityKey: string; fields: string[] }[] = [];
    rows.forEach((row, r) => {
      const keys = decodeJoinKeys(row?.joinKeys, views, `entity_rows[${r}].join_keys`);
      for (const group of selection.byView) reads.push({ entityKey: entityKeyString(group.view.joinKeys, keys), fields: group.fields });
    });
    let cells: (string | null)[][];
    try {
      cells = await this.store.readMany(reads);
    } catch (error) {
      throw grpcErrors.unavailable(`online store unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }

    const now = Date.now();
    const width = selection.refs.length;
    const outRows: featuresV1.OnlineFeatureRow[] = new Array(rows.length);
    // Per view: present, null, expired, not found — counted once per call.
    const tallies = selection.byView.map(() => [0, 0, 0, 0]);
    let read = 0;
    for (let r = 0; r < rows.length; r++) {
      const features: FeatureResult[] = new Array(width);
      for (let g = 0; g < selection.byView.length; g++) {
        const group = selection.byView[g];
        const tally = tallies[g];
        const values = cells[read++];
        const tsCell = values[0];
        if (tsCell === null) {
          for (const column of group.columns)
            features[column] = {
              value: undefined,
              status: FeatureStatus.FEATURE_STATUS_NOT_FOUND,
              eventTimestamp: undefined,
              age: undefined,
            };
          tally[3] += group.columns.length;
          continue;
        }
        const eventMs = Number(tsCell);
        const ageMs = now - eventMs;
        const eventTimestamp = millisToTimestamp(eventMs);
        const age = millisToDuration(ageMs);
        const ttl = group.view.def.ttlMs;
        const expired = ttl > 0 && ageMs > ttl;
        for (let i = 0; i < group.features.length; i++) {
          const cell = values[i + 1];
          const column = group.columns[i];
          if (cell === null) {
            features[column] = {
              value: undefined,
              status: FeatureStatus.FEATURE_STATUS_NOT_FOUND,
              eventTimestamp: undefined,
              age: undefined,
            };
            tally[3]++;
          } else if (expired) {
            features[column] = { value: undefined, status: FeatureStatus.FEATURE_STATUS_EXPIRED, eventTimestamp, age };
            tally[2]++;
          } else {
            const value = decodeCell(cell, group.features[i].valueType);
            if (value) {
              features[column] = { value, status: FeatureStatus.FEATURE_STATUS_PRESENT, eventTimestamp, age };
              tally[0]++;
            } else {
              features[column] = { value: undefined, status: FeatureStatus.FEATURE_STATUS_NULL_VALUE, eventTimestamp, age };
              tally[1]++;
            }
          }
        }
      }
      outRows[r] = { joinKeys: (rows[r].joinKeys ?? {}) as featuresV1.OnlineFeatureRow['joinKeys'], features };
    }
    selection.byView.forEach((group, g) => {
      const [present, nulls, expired, notFound] = tallies[g];
      const view = group.view.def.name;
      if (present) this.served.inc({ feature_view: view, status: 'PRESENT' }, present);
      if (nulls) this.served.inc({ feature_view: view, status: 'NULL_VALUE' }, nulls);
      if (expired) this.served.inc({ feature_view: view, status: 'EXPIRED' }, expired);
      if (notFound) this.served.inc({ feature_view: view, status: 'NOT_FOUND' }, notFound);
    });
    return { featureRefs: selection.refs, rows: outRows };
  }

  private selection(registry: LoadedRegistry, request: featuresV1.GetOnlineFeaturesRequest): Selection {
    const key = request.featureService ? `s:${request.featureService}` : `f:${(request.features?.refs ?? []).join(',')}`;
    let byKey = this.selections.get(registry);
    if (!byKey) {
      byKey = new Map();
      this.selections.set(registry, byKey);
    }
    let selection = byKey.get(key);
    if (!selection) {
      selection = resolveSelection(registry, request, true);
      if (byKey.size < 1000) byKey.set(key, selection);
    }
    return selection;
  }
}
