import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { millisToTimestamp, recsV1 } from '@pulse/contracts';
import { grpcErrors, HealthRegistry, type Logger, LOGGER, ServiceMetrics } from '@pulse/platform';
import { Counter, Gauge } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { topK } from '../eval/metrics';
import { RecommendPipeline } from '../candidates/recommend-pipeline';
import { ItemSet } from '../candidates/item-set';
import { RECOMMENDER_CONFIG, type RecommenderConfig } from '../config/recommender.config';
import { type ExperimentAssignment, RunningExperiments } from '../experiments/running-experiments';
import { ServedPublisher } from '../feedback/served.kafka.publisher';
import { ModelPromotionsPublisher } from './model-promotions.kafka.publisher';
import {
  invalidModelVersion,
  type LoadedModel,
  type ModelRecord,
  ModelNotFoundError,
  ModelRegistry,
  NothingToRollBackError,
  type PromotionState,
} from '../registry/model-registry';

const { Strategy } = recsV1;
type RecommendedItem = recsV1.RecommendedItem;

/** Field limits from the contract (proto/pulse/recs/v1). */
const MAX_ID = 128;
const MAX_EXCLUDE = 1000;
const MAX_CONTEXT = 20;
const MAX_CONDITIONS = 10;
/** How long a replaced model stays usable for requests that started before the swap. */
const RETIRE_AFTER_MS = 30_000;

/**
 * Serves the promoted model: recommendations for users, similar items, ranking of candidates, and the
 * registry (list, get, promote, rollback). A promotion loads the new version beside the serving one and
 * swaps a reference: requests in flight finish on the version they started with, none is dropped. Other
 * replicas hear of a promotion on pulse.recs.model.v1 (ModelPromotionsKafkaConsumer) and, slower, by
 * watching the registry's state file (RECS_REGISTRY_POLL).
 */
@Injectable()
export class RecsService implements OnModuleInit, OnApplicationShutdown {
  readonly registry: ModelRegistry;
  private serving?: LoadedModel;
  /** Versions served on request (`model_version`), loaded once. */
  private readonly pinned = new Map<string, Promise<LoadedModel>>();
  private stamp = -1;
  private timer?: NodeJS.Timeout;
  private swapping: Promise<void> = Promise.resolve();
  private readonly lists: Counter<'rpc' | 'strategy'>;
  private readonly servingInfo: Gauge<'version' | 'algorithm'>;

  constructor(
    @Inject(RECOMMENDER_CONFIG) private readonly config: RecommenderConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly pipeline: RecommendPipeline,
    private readonly served: ServedPublisher,
    private readonly experiments: RunningExperiments,
    private readonly promotions: ModelPromotionsPublisher,
    health: HealthRegistry,
    metrics: ServiceMetrics,
  ) {
    this.registry = new ModelRegistry(config.RECS_MODELS_DIR);
    this.lists = new Counter({
      name: 'recs_lists_total',
      help: 'Lists answered, by RPC and strategy (how often the popularity fallback serves)',
      labelNames: ['rpc', 'strategy'],
      registers: [metrics.registry],
    });
    this.servingInfo = new Gauge({
      name: 'recs_serving_model_info',
      help: 'The model version this replica serves (value 1)',
      labelNames: ['version', 'algorithm'],
      registers: [metrics.registry],
    });
    health.register('model-registry', async () => {
      this.registry.state();
    });
  }

  async onModuleInit(): Promise<void> {
    await this.syncPromoted();
    if (this.config.RECS_REGISTRY_POLL > 0) {
      this.timer = setInterval(
        () => void this.syncPromoted().catch((error: unknown) => this.logger.error({ err: error }, 'reloading the promoted model failed')),
        this.config.RECS_REGISTRY_POLL,
      );
      this.timer.unref();
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The version serving now, if any. */
  get servingVersion(): string | undefined {
    return this.serving?.record.version;
  }

  /**
   * Loads the promoted version when the registry's state changed since the last look; `force` reads the
   * state even when its modification time did not change (a promotion event: a shared volume may serve a
   * cached modification time for a while).
   */
  syncPromoted(force = false): Promise<void> {
    this.swapping = this.swapping.then(async () => {
      const stamp = this.registry.stateStamp();
      if (stamp === this.stamp && !force) return;
      this.stamp = stamp;
      const promoted = this.registry.state().promoted;
      if (!promoted || promoted === this.serving?.record.version) return;
      const started = performance.now();
      const next = await this.registry.load(promoted);
      const previous = this.serving;
      this.serving = next;
      this.servingInfo.reset();
      this.servingInfo.set({ version: next.record.version, algorithm: next.record.algorithm }, 1);
      this.logger.info(
        { version: promoted, previous: previous?.record.version, ms: Math.round(performance.now() - started) },
        'serving model version',
      );
      // A request that picked the previous model just before the swap may still be between its await and
      // its (synchronous) scoring: release the previous model's tensors only after a grace period.
      if (previous && !this.pinned.has(previous.record.version)) setTimeout(() => previous.model.dispose(), RETIRE_AFTER_MS).unref();
    });
    return this.swapping;
  }

  private async modelFor(version: string): Promise<LoadedModel | undefined> {
    if (!version) return this.serving;
    if (version === this.serving?.record.version) return this.serving;
    const problem = invalidModelVersion(version);
    if (problem) throw grpcErrors.invalidArgument('model_version', problem);
    if (!this.registry.get(version)) throw grpcErrors.notFound(`model version ${version}`);
    let loading = this.pinned.get(version);
    if (!loading) {
      loading = this.registry.load(version);
      this.pinned.set(version, loading);
    }
    return loading;
  }

  async recommend(request: recsV1.RecommendRequest): Promise<recsV1.RecommendResponse> {
    const { response, experiment } = await this.recommendList(request);
    this.counted('Recommend', response);
    this.publishServed(response, { userId: request.userId, context: request.context, degraded: response.degraded, experiment });
    return response;
  }

  async recommendSimilar(request: recsV1.RecommendSimilarRequest): Promise<recsV1.RecommendSimilarResponse> {
    const response = this.counted('RecommendSimilar', await this.similarList(request));
    this.publishServed(response, { userId: request.userId, seedItemId: request.itemId });
    return response;
  }

  async rankItems(request: recsV1.RankItemsRequest): Promise<recsV1.RankItemsResponse> {
    const response = this.counted('RankItems', await this.rankList(request));
    this.publishServed(response, { userId: request.userId, context: request.context });
    return response;
  }

  /** The list on pulse.recs.served.v1, so activity carrying its recommendation_id can be attributed. */
  private publishServed(
    list: { recommendationId: string; items: RecommendedItem[]; modelVersion: string; strategy: recsV1.Strategy },
    about: {
      userId?: string;
      seedItemId?: string;
      context?: Record<string, string>;
      degraded?: recsV1.DegradedSource[];
      experiment?: { id: string; variant: string };
    },
  ): void {
    this.served.publish({
      recommendationId: list.recommendationId,
      userId: about.userId ?? '',
      seedItemId: about.seedItemId ?? '',
      items: list.items,
      modelVersion: list.modelVersion,
      strategy: list.strategy,
      context: about.context ?? {},
      experimentId: about.experiment?.id ?? '',
      variant: about.experiment?.variant ?? '',
      degraded: about.degraded ?? [],
    });
  }

  private counted<T extends { strategy: recsV1.Strategy }>(rpc: string, response: T): T {
    this.lists.inc({ rpc, strategy: Strategy[response.strategy] ?? String(response.strategy) });
    return response;
  }

  /**
   * A user's list. An explicit `model_version` is served as asked (evaluation traffic, no experiment); otherwise a
   * user assigned to a running experiment gets their variant's model version, the default pipeline, or the
   * popularity list, and the list carries the experiment and variant.
   */
  private async recommendList(
    request: recsV1.RecommendRequest,
  ): Promise<{ response: recsV1.RecommendResponse; experiment?: { id: string; variant: string } }> {
    validateId('user_id', request.userId);
    const k = this.numResults(request.numResults);
    const filter = validateFilter(request.filter, 'filter');
    validateContext(request.context);
    const assignment = request.modelVersion ? undefined : this.experiments.assign(request.userId);
    const experiment = assignment && { id: assignment.experimentId, variant: assignment.variant };
    const loaded = await this.modelForList(request.modelVersion, assignment);
    const recommendationId = randomUUID();
    const skip = loaded && this.candidateFilter(loaded, filter, request.excludeSeen ? loaded.users.get(request.userId) : undefined);
    if (assignment?.treatment.kind === 'popular') {
      return {
        experiment,
        response: {
          items: loaded ? this.ranked(loaded, loaded.popularity, k, skip) : [],
          recommendationId,
          modelVersion: loaded?.record.version ?? '',
          strategy: Strategy.STRATEGY_POPULAR_FALLBACK,
          degraded: [],
          fallbackReason: `experiment ${assignment.experimentId}: variant ${assignment.variant} serves the popularity list`,
        },
      };
    }
    const excluded = new Set(filter.excludeItemIds);
    const includes = filter.conditions.some((c) => c.include);
    const result = await this.pipeline.recommend({
      userId: request.userId,
      k,
      excludeSeen: request.excludeSeen,
      loaded,
      skipItems: skip,
      // A post the model does not know has no attributes: an include condition cannot match it.
      keepOther: (id) => !excluded.has(id) && !includes,
    });
    return {
      experiment,
      response: {
        items: result.items,
        recommendationId,
        modelVersion: loaded?.record.version ?? '',
        strategy: result.strategy,
        degraded: result.degraded,
        fallbackReason: result.fallbackReason,
      },
    };
  }

  /** The model of a list: the requested version, the assigned variant's (the promoted one if it is gone), or the promoted one. */
  private async modelForList(requested: string, assignment: ExperimentAssignment | undefined): Promise<LoadedModel | undefined> {
    if (requested || assignment?.treatment.kind !== 'model') return this.modelFor(requested);
    try {
      return await this.modelFor(assignment.treatment.version);
    } catch (error) {
      this.logger.warn(
        { err: error, experiment: assignment.experimentId, variant: assignment.variant },
        "the variant's model version cannot be served; serving the promoted one",
      );
      return this.serving;
    }
  }

  private async similarList(request: recsV1.RecommendSimilarRequest): Promise<recsV1.RecommendSimilarResponse> {
    validateId('item_id', request.itemId);
    if (request.userId) validateId('user_id', request.userId);
    const k = this.numResults(request.numResults);
    const filter = validateFilter(request.filter, 'filter');
    const loaded = this.serving;
    const recommendationId = randomUUID();
    if (!loaded) return { items: [], recommendationId, modelVersion: '', strategy: Strategy.STRATEGY_POPULAR_FALLBACK };
    const user = request.excludeSeen && request.userId ? loaded.users.get(request.userId) : undefined;
    const seed = loaded.items.get(request.itemId);
    const skip = this.candidateFilter(loaded, filter, user, seed);
    if (seed === undefined) {
      return {
        items: this.ranked(loaded, loaded.popularity, k, skip),
        recommendationId,
        modelVersion: loaded.record.version,
        strategy: Strategy.STRATEGY_POPULAR_FALLBACK,
      };
    }
    // Deep enough that k items are left whatever the filter drops.
    const similar = loaded.model.similarItems(seed, Math.min(k + (skip?.count() ?? 0), loaded.items.size));
    const items: RecommendedItem[] = [];
    for (let n = 0; n < similar.items.length && items.length < k; n++) {
      const i = similar.items[n];
      if (skip?.has(i)) continue;
      items.push({ itemId: loaded.items.id(i), score: similar.scores[n], rank: items.length + 1, sources: [] });
    }
    return { items, recommendationId, modelVersion: loaded.record.version, strategy: Strategy.STRATEGY_ITEM_SIMILARITY };
  }

  private async rankList(request: recsV1.RankItemsRequest): Promise<recsV1.RankItemsResponse> {
    validateId('user_id', request.userId);
    validateContext(request.context);
    const ids = request.itemIds ?? [];
    if (ids.length < 1 || ids.length > 500) throw grpcErrors.invalidArgument('item_ids', 'between 1 and 500 item ids are required');
    if (new Set(ids).size !== ids.length) throw grpcErrors.invalidArgument('item_ids', 'item ids must be distinct');
    ids.forEach((id, n) => validateId(`item_ids[${n}]`, id));
    const loaded = this.serving;
    const recommendationId = randomUUID();
    if (!loaded) {
      return {
        items: ids.map((itemId, n) => ({ itemId, score: 0, rank: n + 1, sources: [] })),
        recommendationId,
        modelVersion: '',
        strategy: Strategy.STRATEGY_POPULAR_FALLBACK,
      };
    }
    const user = loaded.users.get(request.userId);
    const scores = user === undefined ? loaded.popularity : loaded.model.scoreUser(user);
    const known = ids
      .map((id) => ({ id, index: loaded.items.get(id) }))
      .filter((x): x is { id: string; index: number } => x.index !== undefined);
    known.sort((a, b) => scores[b.index] - scores[a.index]);
    const unknown = ids.filter((id) => loaded.items.get(id) === undefined);
    const items = [...known.map((x) => ({ itemId: x.id, score: scores[x.index] })), ...unknown.map((itemId) => ({ itemId, score: 0 }))].map(
      (x, n) => ({ ...x, rank: n + 1, sources: [] }),
    );
    return {
      items,
      recommendationId,
      modelVersion: loaded.record.version,
      strategy: user === undefined ? Strategy.STRATEGY_POPULAR_FALLBACK : Strategy.STRATEGY_PERSONALIZED,
    };
  }

  getModel(version: string): recsV1.ModelVersion {
    const state = this.registry.state();
    const wanted = version || state.promoted;
    if (!wanted) throw grpcErrors.notFound('promoted model version (none is promoted)');
    const problem = invalidModelVersion(wanted);
    if (problem) throw grpcErrors.invalidArgument('version', problem);
    const record = this.registry.get(wanted);
    if (!record) throw grpcErrors.notFound(`model version ${wanted}`);
    return this.toProto(record, state);
  }

  listModels(pageSize: number, pageToken: string): recsV1.ListModelsResponse {
    if (pageSize < 0 || pageSize > 100) throw grpcErrors.invalidArgument('page_size', 'must be between 0 and 100');
    const size = pageSize || 20;
    let offset = 0;
    if (pageToken) {
      offset = Number(Buffer.from(pageToken, 'base64url').toString('utf8'));
      if (!Number.isInteger(offset) || offset < 0) throw grpcErrors.invalidArgument('page_token', 'not a token returned by ListModels');
    }
    const all = this.registry.list();
    const state = this.registry.state();
    const models = all.slice(offset, offset + size).map((r) => this.toProto(r, state));
    const next = offset + size < all.length ? Buffer.from(String(offset + size)).toString('base64url') : '';
    return { models, nextPageToken: next };
  }

  async promote(version: string, reason: string): Promise<recsV1.PromoteModelResponse> {
    if (!version) throw grpcErrors.invalidArgument('version', 'is required');
    if (reason.length > 512) throw grpcErrors.invalidArgument('reason', 'at most 512 characters');
    const problem = invalidModelVersion(version);
    if (problem) throw grpcErrors.invalidArgument('version', problem);
    try {
      const { record, previous, at } = this.registry.promote(version, reason);
      await this.syncPromoted();
      if (previous !== version) this.promotions.publish({ version, previous, rollback: false, reason, at });
      return { model: this.toProto(record), previousVersion: previous ?? '' };
    } catch (error) {
      if (error instanceof ModelNotFoundError) throw grpcErrors.notFound(`model version ${version}`);
      throw error;
    }
  }

  async rollback(reason: string): Promise<recsV1.RollbackModelResponse> {
    if (reason.length > 512) throw grpcErrors.invalidArgument('reason', 'at most 512 characters');
    try {
      const { record, rolledBack, at } = this.registry.rollback(reason);
      await this.syncPromoted();
      this.promotions.publish({ version: record.version, previous: rolledBack, rollback: true, reason, at });
      return { model: this.toProto(record), rolledBackVersion: rolledBack };
    } catch (error) {
      if (error instanceof NothingToRollBackError) throw grpcErrors.failedPrecondition(error.message);
      if (error instanceof ModelNotFoundError) throw grpcErrors.notFound(error.message);
      throw error;
    }
  }

  /** `state`: the promotion state, read once per request (ListModels converts up to 100 records). */
  private toProto(record: ModelRecord, state: PromotionState = this.registry.state()): recsV1.ModelVersion {
    const ts = (iso: string | undefined) => (iso ? millisToTimestamp(Date.parse(iso)) : undefined);
    return {
      version: record.version,
      algorithm: record.algorithm,
      createdAt: ts(record.createdAt),
      metrics: record.metrics,
      promoted: state.promoted === record.version,
      promotedAt: ts(state.promotedAt[record.version]),
      dataFingerprint: record.dataFingerprint,
      dataCutoff: ts(record.dataCutoff),
      hyperparameters: record.hyperparameters,
      dataSource: record.dataSource ?? 'files',
      tableVersions: record.tableVersions ?? {},
      gate: record.gate && {
        outcome: record.gate.outcome === 'promoted' ? recsV1.GateOutcome.GATE_OUTCOME_PROMOTED : recsV1.GateOutcome.GATE_OUTCOME_REFUSED,
        reason: record.gate.reason,
        metric: record.gate.metric,
        candidateValue: record.gate.candidateValue,
        promotedValue: record.gate.promotedValue,
        promotedVersion: record.gate.promotedVersion,
        baselineValue: record.gate.baselineValue,
        margin: record.gate.margin,
        decidedAt: ts(record.gate.decidedAt),
      },
    };
  }

  private numResults(n: number): number {
    if (n > 500 || n > this.config.RECS_MAX_RESULTS)
      throw grpcErrors.invalidArgument('num_results', `must be between 0 and ${Math.min(500, this.config.RECS_MAX_RESULTS)}`);
    return n === 0 ? 10 : n;
  }

  /**
   * The model items a request leaves out, united in one set: its excluded ids, what the user rated in training
   * (`seenBy`, with exclude_seen), the seed of a similar-items list, and every item failing an attribute condition
   * (every include must match, no exclude may). Undefined when nothing is left out.
   */
  private candidateFilter(loaded: LoadedModel, filter: CandidateFilter, seenBy: number | undefined, seed?: number): ItemSet | undefined {
    const conditions = filter.conditions.map((c) => {
      const byValue = loaded.attributes.get(c.attribute);
      if (!byValue) {
        const known = [...loaded.attributes.keys()];
        throw grpcErrors.invalidArgument(
          `${c.path}.attribute`,
          `unknown item attribute "${c.attribute}"${known.length ? ` (this model knows ${known.join(', ')})` : ' (this model has no item attributes)'}`,
        );
      }
      return { byValue, values: c.values, include: c.include };
    });
    const excluded: number[] = [];
    for (const id of filter.excludeItemIds) {
      const i = loaded.items.get(id);
      if (i !== undefined) excluded.push(i);
    }
    const seen =
      seenBy !== undefined && seenBy + 1 < loaded.seen.offsets.length
        ? loaded.seen.items.subarray(loaded.seen.offsets[seenBy], loaded.seen.offsets[seenBy + 1])
        : undefined;
    if (excluded.length === 0 && !seen?.length && seed === undefined && conditions.length === 0) return undefined;
    const skip = new ItemSet(loaded.items.size).addAll(excluded);
    if (seen) skip.addAll(seen);
    if (seed !== undefined) skip.add(seed);
    for (const c of conditions) {
      const matching = new ItemSet(loaded.items.size);
      for (const value of c.values) matching.addAll(c.byValue.get(value) ?? []);
      if (c.include) skip.unionComplement(matching);
      else skip.union(matching);
    }
    return skip;
  }

  private ranked(loaded: LoadedModel, scores: Float32Array, k: number, skip: ItemSet | undefined): RecommendedItem[] {
    return topK(scores, k, skip?.has).map((i, n) => ({ itemId: loaded.items.id(i), score: scores[i], rank: n + 1, sources: [] }));
  }
}

/** A request's candidate filter, checked for shape; attribute names are checked against the serving model. */
interface CandidateFilter {
  excludeItemIds: string[];
  conditions: { path: string; attribute: string; values: Set<string>; include: boolean }[];
}

function validateFilter(filter: recsV1.Filter | undefined, field: string): CandidateFilter {
  if (!filter) return { excludeItemIds: [], conditions: [] };
  const excludeItemIds = filter.excludeItemIds ?? [];
  if (excludeItemIds.length > MAX_EXCLUDE) throw grpcErrors.invalidArgument(`${field}.exclude_item_ids`, `at most ${MAX_EXCLUDE} ids`);
  const conditions: CandidateFilter['conditions'] = [];
  for (const [kind, list] of [
    ['include', filter.include ?? []],
    ['exclude', filter.exclude ?? []],
  ] as const) {
    if (list.length > MAX_CONDITIONS) throw grpcErrors.invalidArgument(`${field}.${kind}`, `at most ${MAX_CONDITIONS} conditions`);
    list.forEach((c, n) => {
      const path = `${field}.${kind}[${n}]`;
      if (!c.attribute || c.attribute.length > 64) throw grpcErrors.invalidArgument(`${path}.attribute`, '1 to 64 characters');
      const values = c.values ?? [];
      if (values.length < 1 || values.length > 100) throw grpcErrors.invalidArgument(`${path}.values`, '1 to 100 values');
      conditions.push({ path, attribute: c.attribute, values: new Set(values), include: kind === 'include' });
    });
  }
  return { excludeItemIds, conditions };
}

/** A required id of a request: present and at most 128 characters. */
export function validateId(field: string, id: string | undefined): void {
  if (!id) throw grpcErrors.invalidArgument(field, 'is required');
  if (id.length > MAX_ID) throw grpcErrors.invalidArgument(field, `at most ${MAX_ID} characters`);
}

function validateContext(context: Record<string, string> | undefined): void {
  const entries = Object.entries(context ?? {});
  if (entries.length > MAX_CONTEXT) throw grpcErrors.invalidArgument('context', `at most ${MAX_CONTEXT} entries`);
  for (const [key, value] of entries) {
    if (key.length > 64) throw grpcErrors.invalidArgument(`context[${key.slice(0, 16)}]`, 'keys are at most 64 characters');
    if (value.length > 256) throw grpcErrors.invalidArgument(`context[${key}]`, 'values are at most 256 characters');
  }
}
