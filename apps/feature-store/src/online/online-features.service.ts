import { Injectable } from '@nestjs/common';
import type { featuresV1 } from '@pulse/contracts';
import { encodedResponse, grpcErrors, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import type { LoadedRegistry } from '../registry/loaded-registry';
import { RegistryCache } from '../registry/registry.cache';
import { decodeJoinKeys, entityKeyString } from './entity-key';
import { resolveSelection } from './feature-selection';
import {
  type EncodedSelection,
  encodeSelection,
  encodeTimeFields,
  OnlineResponseWriter,
  type Tallies,
  type ViewRead,
} from './online-response.writer';
import { OnlineStoreRepository } from './online-store.redis.repository';

const MAX_ROWS = 1000;
const NOT_FOUND = new Uint8Array(0);

/**
 * GetOnlineFeatures: one pipelined round trip to Redis for all rows and views (one HMGET per row and
 * view). Each value carries its status: PRESENT, NULL_VALUE, NOT_FOUND, or EXPIRED when its view's event
 * time is older than the view's ttl, together with its event time and age. The response is written in wire
 * format as it is read (OnlineResponseWriter), not built as objects and converted by the transport.
 */
@Injectable()
export class OnlineFeaturesService {
  /** Resolved selections of the registry version being served, by selection text. */
  private selections = new WeakMap<LoadedRegistry, Map<string, EncodedSelection>>();
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
    const encoded = this.selection(registry, request);
    const selection = encoded.selection;
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
    const tallies: Tallies = selection.byView.map(() => [0, 0, 0, 0]);
    const writer = new OnlineResponseWriter(encoded, tallies);
    const groups = selection.byView.length;
    const viewReads: ViewRead[] = new Array(groups);
    let next = 0;
    for (let r = 0; r < rows.length; r++) {
      for (let g = 0; g < groups; g++) {
        const values = cells[next++];
        const tsCell = values[0];
        if (tsCell === null) {
          viewReads[g] = { cells: values, timeFields: NOT_FOUND, expired: false };
          continue;
        }
        const eventMs = Number(tsCell);
        const ageMs = now - eventMs;
        const ttl = selection.byView[g].view.def.ttlMs;
        viewReads[g] = { cells: values, timeFields: encodeTimeFields(eventMs, ageMs), expired: ttl > 0 && ageMs > ttl };
      }
      writer.row(rows[r].joinKeys ?? {}, viewReads);
    }
    selection.byView.forEach((group, g) => {
      const [present, nulls, expired, notFound] = tallies[g];
      const view = group.view.def.name;
      if (present) this.served.inc({ feature_view: view, status: 'PRESENT' }, present);
      if (nulls) this.served.inc({ feature_view: view, status: 'NULL_VALUE' }, nulls);
      if (expired) this.served.inc({ feature_view: view, status: 'EXPIRED' }, expired);
      if (notFound) this.served.inc({ feature_view: view, status: 'NOT_FOUND' }, notFound);
    });
    return encodedResponse<featuresV1.GetOnlineFeaturesResponse>(writer.finish());
  }

  private selection(registry: LoadedRegistry, request: featuresV1.GetOnlineFeaturesRequest): EncodedSelection {
    const key = request.featureService ? `s:${request.featureService}` : `f:${(request.features?.refs ?? []).join(',')}`;
    let byKey = this.selections.get(registry);
    if (!byKey) {
      byKey = new Map();
      this.selections.set(registry, byKey);
    }
    let selection = byKey.get(key);
    if (!selection) {
      selection = encodeSelection(resolveSelection(registry, request, true));
      if (byKey.size < 1000) byKey.set(key, selection);
    }
    return selection;
  }
}
