import { Inject, Injectable } from '@nestjs/common';
import { millisToDuration, millisToTimestamp, type storageV1 } from '@pulse/contracts';
import { ERASURE_LIST, type ErasureList, grpcErrors, LOGGER, type Logger, ServiceMetrics } from '@pulse/platform';
import { Counter, Gauge } from 'prom-client';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CdcRowVersionsRepository } from '../cdc/cdc-row-versions.cassandra.repository';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { type Edge, GraphRepository } from '../graph/graph.cassandra.repository';
import { GraphService } from '../graph/graph.service';
import { forEachConcurrently } from '../shared/concurrency';
import { GRAPH_COUNTERS_LEASE, type HeldLease, MaintenanceLeases } from '../shared/maintenance-lease.cassandra.repository';
import { AppDbFollowsReader } from './app-db-follows.pg.reader';

const { name: LEASE, ttlSeconds: LEASE_TTL_SECONDS, renewEveryMs: RENEW_EVERY_MS } = GRAPH_COUNTERS_LEASE;
const CONCURRENCY = 16;

type Counts = { followers: number; following: number };
type Finding = 'follower_side_missing' | 'follower_side_orphaned' | 'counter_off' | 'app_db_edge_missing' | 'app_db_edge_stale';

/**
 * Brings the follow graph back in step, as a scheduled pass and by RPC (ReconcileGraph):
 * 1. every edge of following_by_user (the source of truth) has its follower side, else it is written back;
 * 2. every follower side has its edge, else it is deleted (an Unfollow that died half-way);
 * 3. every user's counters equal their rows, else they move by the difference;
 * 4. with the app database configured, every edge of its follows table is in Cassandra, and every edge that came
 *    from there (its row version recorded by the CDC applier) and is gone there is gone here too.
 * Scans read at LOCAL_QUORUM; a difference is confirmed by a LOCAL_SERIAL read of the edge (and, for the app
 * database, against the table as it is now) before anything is written, so writes racing the pass are not undone.
 * Counter moves are by difference, so one pass at a time runs across replicas (a lease in Cassandra).
 */
@Injectable()
export class GraphReconciler {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly findings: Counter<'finding' | 'dry_run'>;
  private readonly lastSuccess: Gauge;

  constructor(
    private readonly graph: GraphService,
    private readonly edges: GraphRepository,
    private readonly versions: CdcRowVersionsRepository,
    private readonly leases: MaintenanceLeases,
    @Inject(ERASURE_LIST) private readonly erased: ErasureList,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: ServiceMetrics,
  ) {
    this.findings = new Counter({
      name: 'storage_graph_reconcile_findings_total',
      help: 'Differences the graph reconciliation found (and repaired unless dry_run), by kind',
      labelNames: ['finding', 'dry_run'],
      registers: [metrics.registry],
    });
    this.lastSuccess = new Gauge({
      name: 'storage_graph_reconcile_last_success_timestamp_seconds',
      help: 'When the last graph reconciliation pass of this replica finished',
      registers: [metrics.registry],
    });
  }

  async reconcile(options: { dryRun: boolean; signal?: AbortSignal }): Promise<storageV1.GraphReconciliation> {
    const lease = await this.leases.acquire(LEASE, this.owner, LEASE_TTL_SECONDS);
    if (!('renew' in lease)) {
      throw grpcErrors.failedPrecondition(`a graph reconciliation is running (lease held by ${lease.heldBy || 'another replica'})`);
    }
    const started = Date.now();
    const deps = { graph: this.graph, edges: this.edges, versions: this.versions, erased: this.erased, config: this.config };
    const pass = new Pass(lease, options, deps, (finding) => this.findings.inc({ finding, dry_run: String(options.dryRun) }));
    try {
      const report = await pass.run();
      report.startedAt = millisToTimestamp(started);
      report.took = millisToDuration(Date.now() - started);
      this.lastSuccess.set(Date.now() / 1000);
      this.logger.info(
        { reconciliation: { ...report, startedAt: undefined, took: undefined }, ms: Date.now() - started },
        'graph reconciled',
      );
      return report;
    } finally {
      await lease.release().catch((err: unknown) => this.logger.warn({ err }, 'could not release the reconciliation lease'));
    }
  }
}

interface PassDeps {
  graph: GraphService;
  edges: GraphRepository;
  versions: CdcRowVersionsRepository;
  erased: ErasureList;
  config: StorageConfig;
}

/** One pass: its report, the counts it expects from the edges, and the lease kept alive while it runs. */
class Pass {
  private readonly report: storageV1.GraphReconciliation = {
    edgesChecked: 0,
    followerRowsChecked: 0,
    usersChecked: 0,
    followerSidesMissing: 0,
    followerSidesOrphaned: 0,
    countersOff: 0,
    appDbCompared: false,
    appDbEdgesChecked: 0,
    appDbEdgesMissing: 0,
    appDbEdgesStale: 0,
    dryRun: false,
    startedAt: undefined,
    took: undefined,
  };
  private readonly expected = new Map<string, Counts>();
  private renewedAt = Date.now();
  private readonly dryRun: boolean;

  constructor(
    private readonly lease: HeldLease,
    private readonly options: { dryRun: boolean; signal?: AbortSignal },
    private readonly deps: PassDeps,
    private readonly found: (finding: Finding) => void,
  ) {
    this.dryRun = options.dryRun;
    this.report.dryRun = options.dryRun;
  }

  async run(): Promise<storageV1.GraphReconciliation> {
    await this.followerSides();
    await this.orphans();
    await this.counters();
    if (this.deps.config.STORAGE_APP_DB_URL) await this.appDb(this.deps.config.STORAGE_APP_DB_URL);
    return this.report;
  }

  /** 1. Each edge has its follower side; the edges' counts per user are gathered on the way. */
  private async followerSides(): Promise<void> {
    const { edges, erased } = this.deps;
    for await (const page of edges.scanFollowing()) {
      await this.checkpoint();
      for (const e of page) {
        this.count(e.followerId).following++;
        this.count(e.followeeId).followers++;
      }
      this.report.edgesChecked += page.length;
      await forEachConcurrently(page, CONCURRENCY, async (e) => {
        if (erased.has(e.followerId) || erased.has(e.followeeId)) return; // the erasure removes both sides
        if (await edges.hasFollowerSide(e)) return;
        const now = await edges.following(e.followerId, e.followeeId, true);
        if (!now || now.followedAt.getTime() !== e.followedAt.getTime()) return; // unfollowed (or re-followed) since
        this.found('follower_side_missing');
        this.report.followerSidesMissing++;
        if (this.dryRun) return;
        await edges.writeFollowerSide(now);
        // An Unfollow between the read and the write deleted the side before it was written back: undo it.
        if (!(await edges.following(e.followerId, e.followeeId, true))) await edges.deleteFollowerSide(now);
      });
    }
  }

  /** 2. Each follower side has its edge (with the same time), else it is left over from an Unfollow that died. */
  private async orphans(): Promise<void> {
    const { edges } = this.deps;
    const sameEdge = (e: Edge, at: Edge | undefined) => at !== undefined && at.followedAt.getTime() === e.followedAt.getTime();
    for await (const page of edges.scanFollowerSides()) {
      await this.checkpoint();
      this.report.followerRowsChecked += page.length;
      await forEachConcurrently(page, CONCURRENCY, async (side) => {
        if (sameEdge(side, await edges.following(side.followerId, side.followeeId))) return;
        if (sameEdge(side, await edges.following(side.followerId, side.followeeId, true))) return;
        this.found('follower_side_orphaned');
        this.report.followerSidesOrphaned++;
        if (!this.dryRun) await edges.deleteFollowerSide(side);
      });
    }
  }

  /**
   * 3. Counters: users with rows and users with counters. A difference from the scan's counts (which moved while
   * the scan ran) is confirmed by recounting the user's rows at once; only then the counters move.
   */
  private async counters(): Promise<void> {
    const { edges, graph } = this.deps;
    const users = new Set(this.expected.keys());
    const suspects: string[] = [];
    for await (const page of edges.scanCounts()) {
      await this.checkpoint();
      for (const c of page) {
        users.add(c.userId);
        const want = this.expected.get(c.userId) ?? { followers: 0, following: 0 };
        if (want.followers !== c.followers || want.following !== c.following) suspects.push(c.userId);
        this.expected.delete(c.userId);
      }
    }
    // Users with rows but no counters row at all.
    for (const [userId, want] of this.expected) if (want.followers !== 0 || want.following !== 0) suspects.push(userId);
    this.report.usersChecked = users.size;
    await forEachConcurrently(suspects, CONCURRENCY, async (userId) => {
      await this.checkpoint();
      if (!(await graph.repairCounts(userId, { dryRun: this.dryRun })).moved) return;
      this.found('counter_off');
      this.report.countersOff++;
    });
  }

  /**
   * 4. The app database: its edges missing in Cassandra are written (unless the CDC applier has recorded a delete
   * newer than the snapshot), and edges it deleted whose delete never reached Cassandra are removed, once the table
   * as it is now confirms the row is gone. Edges of erased users are left alone.
   */
  private async appDb(url: string): Promise<void> {
    const { graph, edges, versions, erased, config } = this.deps;
    const sourceTable = `${config.STORAGE_CDC_SCHEMA}.follows`;
    const reader = new AppDbFollowsReader(url, config.STORAGE_CDC_SCHEMA);
    const present = new Set<string>();
    try {
      await reader.open();
      this.report.appDbCompared = true;
      for await (const page of reader.edges()) {
        await this.checkpoint();
        this.report.appDbEdgesChecked += page.length;
        await forEachConcurrently(page, CONCURRENCY, async (row) => {
          const key = `${row.followerId}:${row.followeeId}`;
          present.add(key);
          if (erased.has(row.followerId) || erased.has(row.followeeId)) return;
          if (await edges.following(row.followerId, row.followeeId)) return;
          const version = await versions.get(sourceTable, key);
          if (version?.deleted && version.lsn >= reader.lsn) return; // deleted after the snapshot
          if (await edges.following(row.followerId, row.followeeId, true)) return;
          this.found('app_db_edge_missing');
          this.report.appDbEdgesMissing++;
          if (!this.dryRun) await graph.follow(row.followerId, row.followeeId, { followedAt: row.createdAt, enforceLimit: false });
        });
      }
      for await (const page of versions.scan(sourceTable)) {
        await this.checkpoint();
        const stale = page.filter((v) => !v.deleted && v.lsn < reader.lsn && !present.has(v.rowKey));
        await forEachConcurrently(stale, CONCURRENCY, async (v) => {
          const [followerId, followeeId] = v.rowKey.split(':');
          if (!followerId || !followeeId || erased.has(followerId) || erased.has(followeeId)) return;
          if (await reader.exists(followerId, followeeId)) return; // inserted again since the snapshot
          if (!(await edges.following(followerId, followeeId, true))) return;
          this.found('app_db_edge_stale');
          this.report.appDbEdgesStale++;
          if (this.dryRun) return;
          // The delete is recorded at the row's own version: a late delete is still admitted, a newer insert wins.
          if (await versions.admit(sourceTable, v.rowKey, v.lsn, true)) await graph.unfollow(followerId, followeeId);
        });
      }
    } finally {
      await reader.close();
    }
  }

  private count(userId: string): Counts {
    let c = this.expected.get(userId);
    if (!c) this.expected.set(userId, (c = { followers: 0, following: 0 }));
    return c;
  }

  /** Between pages: stop when asked to, and keep the lease (a pass that lost it stops: another may be running). */
  private async checkpoint(): Promise<void> {
    if (this.options.signal?.aborted) throw new Error('the reconciliation was stopped');
    if (Date.now() - this.renewedAt < RENEW_EVERY_MS) return;
    if (!(await this.lease.renew())) throw new Error('the reconciliation lost its lease; another pass may be running');
    this.renewedAt = Date.now();
  }
}
