import { Inject, Injectable } from '@nestjs/common';
import { featuresV1, timestampToMillis } from '@pulse/contracts';
import { grpcErrors, ServiceMetrics } from '@pulse/platform';
import { Counter } from 'prom-client';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import { OfflineStore, type OfflineRow } from '../offline/offline-store';
import type { ServedView } from '../registry/loaded-registry';
import { RegistryCache } from '../registry/registry.cache';
import { decodeJoinKeys } from './entity-key';
import { OnlineStoreRepository, type OnlineWrite, WriteOutcome } from './online-store.redis.repository';
import { onlineWrite } from './online-writes';
import { plainFromProto, type PlainValue } from './value-codec';

const { PushMode } = featuresV1;
const MAX_ROWS = 1000;
const MAX_FEATURES = 500;

interface DecodedRow {
  keys: Map<string, PlainValue>;
  values: Map<string, PlainValue>;
  eventTimeMs: number;
}

/**
 * Push: rows straight to the online store, the offline store (the view's Delta batch source) or both.
 * Every row must carry all join keys and every feature of the target views, typed as declared; the
 * whole request is checked before anything is written. Online, a row older than what the store holds
 * for that view and entity is not written (it would regress a newer value); it is not counted.
 */
@Injectable()
export class PushService {
  private readonly rowsPushed: Counter<'store'>;

  constructor(
    @Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig,
    private readonly registry: RegistryCache,
    private readonly store: OnlineStoreRepository,
    private readonly offline: OfflineStore,
    metrics: ServiceMetrics,
  ) {
    this.rowsPushed = new Counter({
      name: 'feature_store_push_rows_total',
      help: 'Rows written by Push, by store',
      labelNames: ['store'],
      registers: [metrics.registry],
    });
  }

  async push(request: featuresV1.PushRequest): Promise<featuresV1.PushResponse> {
    const registry = this.registry.current;
    let views: ServedView[];
    if (request.pushSource) {
      views = registry.pushSources.get(request.pushSource) ?? [];
      if (views.length === 0) throw grpcErrors.notFound(`push source "${request.pushSource}"`);
    } else if (request.featureView) {
      const view = registry.views.get(request.featureView);
      if (!view) throw grpcErrors.notFound(`feature view "${request.featureView}"`);
      views = [view];
    } else {
      throw grpcErrors.invalidArgument('target', 'set push_source or feature_view');
    }
    const mode = request.mode || PushMode.PUSH_MODE_ONLINE;
    if (!Object.values(PushMode).includes(mode)) throw grpcErrors.invalidArgument('mode', `unknown push mode ${mode}`);
    const toOnline = mode === PushMode.PUSH_MODE_ONLINE || mode === PushMode.PUSH_MODE_ONLINE_AND_OFFLINE;
    const toOffline = mode === PushMode.PUSH_MODE_OFFLINE || mode === PushMode.PUSH_MODE_ONLINE_AND_OFFLINE;
    if (toOnline) {
      const offlineOnly = views.find((v) => !v.def.online);
      if (offlineOnly)
        throw grpcErrors.failedPrecondition(
          `feature view ${offlineOnly.def.name} is not served online (online: false); push with mode OFFLINE`,
        );
    }
    if (toOffline) {
      const noBatch = views.find((v) => v.def.source.batch?.type !== 'delta');
      if (noBatch)
        throw grpcErrors.failedPrecondition(`feature view ${noBatch.def.name} has no Delta batch source to push offline rows to`);
    }
    const rows = this.decodeRows(request.rows ?? [], views);

    let onlineRows = 0;
    if (toOnline) {
      const writes: OnlineWrite[] = [];
      for (const row of rows) {
        for (const view of views)
          writes.push(onlineWrite(view, row.keys, row.eventTimeMs, row.values, this.config.FEATURE_STORE_EXPIRED_RETENTION));
      }
      let outcomes: WriteOutcome[];
      try {
        outcomes = await this.store.writeMany(writes);
      } catch (error) {
        throw grpcErrors.unavailable(`online store unavailable: ${error instanceof Error ? error.message : String(error)}`);
      }
      // A row counts once it reached the online store for every target view (written or already there).
      for (let r = 0; r < rows.length; r++) {
        let ok = true;
        for (let v = 0; v < views.length; v++) if (outcomes[r * views.length + v] === WriteOutcome.Stale) ok = false;
        if (ok) onlineRows++;
      }
      this.rowsPushed.inc({ store: 'online' }, onlineRows);
    }
    let offlineRows = 0;
    if (toOffline) {
      const createdMs = Date.now();
      const offlineRowsOfRequest: OfflineRow[] = rows.map((r) => ({
        keys: r.keys,
        values: r.values,
        eventTimeMs: r.eventTimeMs,
        createdTimeMs: createdMs,
      }));
      // The views of one push source share one batch source: one append.
      await this.offline.append(views, offlineRowsOfRequest);
      offlineRows = rows.length;
      this.rowsPushed.inc({ store: 'offline' }, offlineRows);
    }
    return { onlineRows, offlineRows };
  }

  private decodeRows(raw: readonly featuresV1.PushRow[], views: readonly ServedView[]): DecodedRow[] {
    if (raw.length === 0) throw grpcErrors.invalidArgument('rows', 'at least one row is required');
    if (raw.length > MAX_ROWS) throw grpcErrors.invalidArgument('rows', `${raw.length} rows exceed the limit of ${MAX_ROWS}`);
    const features = new Map<string, ServedView['def']['features'][number]>();
    for (const v of views) for (const f of v.def.features) features.set(f.name, f);
    const maxEventMs = Date.now() + this.config.FEATURE_STORE_MAX_FUTURE_SKEW;
    return raw.map((row, r) => {
      const field = `rows[${r}]`;
      const keys = decodeJoinKeys(row?.joinKeys, views, `${field}.join_keys`);
      const given = (row?.features ?? {}) as Record<string, unknown>;
      const names = Object.keys(given);
      if (names.length === 0) throw grpcErrors.invalidArgument(`${field}.features`, 'at least one feature is required');
      if (names.length > MAX_FEATURES)
        throw grpcErrors.invalidArgument(`${field}.features`, `${names.length} features exceed the limit of ${MAX_FEATURES}`);
      const values = new Map<string, PlainValue>();
      for (const name of names) {
        const f = features.get(name);
        if (!f)
          throw grpcErrors.invalidArgument(
            `${field}.features.${name}`,
            `no feature "${name}" in ${views.map((v) => v.def.name).join(', ')}`,
          );
        const value = plainFromProto(given[name], f.valueType);
        if (value !== null && typeof value === 'object' && 'error' in value)
          throw grpcErrors.invalidArgument(`${field}.features.${name}`, `value ${value.error}`);
        values.set(name, value as PlainValue);
      }
      for (const name of features.keys()) {
        if (!values.has(name))
          throw grpcErrors.invalidArgument(
            `${field}.features.${name}`,
            'missing; a row carries every feature of the target (an unset value is null)',
          );
      }
      const ts = row?.eventTimestamp;
      if (!ts) throw grpcErrors.invalidArgument(`${field}.event_timestamp`, 'is required');
      const eventTimeMs = timestampToMillis(ts);
      if (!Number.isFinite(eventTimeMs) || eventTimeMs < 0)
        throw grpcErrors.invalidArgument(`${field}.event_timestamp`, 'is not a valid time');
      if (eventTimeMs > maxEventMs) {
        throw grpcErrors.invalidArgument(
          `${field}.event_timestamp`,
          `is ${Math.round((eventTimeMs - Date.now()) / 1000)} s in the future (limit ${this.config.FEATURE_STORE_MAX_FUTURE_SKEW / 1000} s)`,
        );
      }
      return { keys, values, eventTimeMs };
    });
  }
}
