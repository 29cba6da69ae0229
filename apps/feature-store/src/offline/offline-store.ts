import { Inject, Injectable } from '@nestjs/common';
import { grpcErrors } from '@pulse/platform';
import { FEATURE_STORE_CONFIG, type FeatureStoreConfig } from '../config/feature-store.config';
import type { PlainValue } from '../online/value-codec';
import type { ServedView } from '../registry/loaded-registry';
import { fileRelation, lakePath } from './lake-paths';

/** One row for a view's offline table. */
export interface OfflineRow {
  keys: ReadonlyMap<string, PlainValue>;
  values: ReadonlyMap<string, PlainValue>;
  eventTimeMs: number;
  createdTimeMs: number;
}

/** The offline store: each view's batch source under the lake root, as DuckDB reads it. */
@Injectable()
export class OfflineStore {
  constructor(@Inject(FEATURE_STORE_CONFIG) private readonly config: FeatureStoreConfig) {}

  /** DuckDB table expression over the view's offline rows. */
  async relation(view: ServedView): Promise<string> {
    const batch = view.def.source.batch;
    if (!batch) throw new Error(`feature view ${view.def.name} has no offline source`);
    if (batch.type === 'file') return fileRelation(lakePath(this.config.FEATURE_STORE_LAKE_ROOT, batch.location, 'location'));
    throw new Error(`feature view ${view.def.name}: Delta sources are not readable in this build`);
  }

  async append(view: ServedView, rows: readonly OfflineRow[]): Promise<void> {
    void rows;
    throw grpcErrors.unimplemented(`offline writes (feature view ${view.def.name}) are not available in this build`);
  }
}
