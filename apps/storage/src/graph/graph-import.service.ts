import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { storageV1 } from '@pulse/contracts';
import { ERASURE_LIST, type ErasureList, grpcErrors, timestampField } from '@pulse/platform';
import { STORAGE_CONFIG, type StorageConfig } from '../config/storage.config';
import { checkUserId } from '../profiles/profile.validation';
import { tokenRanges } from '../shared/cassandra-paging';
import { forEachConcurrently, Slots } from '../shared/concurrency';
import { GRAPH_COUNTERS_LEASE, MaintenanceLeases } from '../shared/maintenance-lease.cassandra.repository';
import { dayOf } from '../shared/page-token';
import { type Edge, GraphRepository, IMPORT_INSERTS, type ImportRow } from './graph.cassandra.repository';

/** Most edges in one BulkImportFollows message, and most user ids in one RecountFollows. */
export const MAX_IMPORT_MESSAGE_EDGES = 10_000;
/** Most rows in one unlogged batch (one partition's rows; a bigger group is split). */
const MAX_BATCH_ROWS = 100;
/** Most users one stream recounts at its end; a bigger import defers the recount (RecountFollows). */
export const MAX_STREAM_RECOUNT_USERS = 1_000_000;
/** Users whose rows and counters one recount step reads together (IN lists of this many partitions). */
const RECOUNT_GROUP = 100;
/** How long a recount waits for another recount or reconciliation to finish (the end of an import stream: longer). */
const RECOUNT_LEASE_WAIT_MS = 30_000;
const STREAM_RECOUNT_LEASE_WAIT_MS = 10 * 60_000;
/** Flushes of a stream writing at once (one finishing while the next starts). */
const FLUSHES_IN_FLIGHT = 2;
/** Token ranges a scan of every edge is cut into, and how many are read at once. */
const SCAN_RANGES = 32;
const SCAN_RANGES_IN_FLIGHT = 8;
/** Counter updates a recount of named users has in flight (a recount of all users: STORAGE_IMPORT_CONCURRENCY). */
const MOVES_IN_FLIGHT = 16;
/** How many distinct edges a stream remembers to skip their repeats (about 100 bytes each). */
const EDGES_REMEMBERED = 1_000_000;
/** How many (followee, day) bucket rows a stream remembers having written, so each is written once. */
const BUCKETS_REMEMBERED = 1_000_000;

export interface ImportReport {
  edgesWritten: number;
  batchesWritten: number;
  usersRecounted: number;
  countersMoved: number;
  edgesDroppedErased: number;
  edgesRepeated: number;
}

/**
 * Bulk import of follow edges (migrations, backfills): the edges of a stream are gathered, grouped per partition of
 * each table (following_by_user by follower, followers_by_user by followee and day, the bucket index by followee) and
 * written as unlogged single-partition batches, STORAGE_IMPORT_CONCURRENCY in flight, while the next edges arrive.
 * No read and no LWT, unlike Follow: every row is an upsert of values the request fixes (its created_at included),
 * so an import given again writes the same rows. Counters are not moved per edge (a counter update cannot be
 * repeated safely) but recounted from the rows at the end, for every touched user.
 */
@Injectable()
export class GraphImportService {
  private readonly logger = new Logger(GraphImportService.name);
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}:recount`;

  constructor(
    private readonly graph: GraphRepository,
    private readonly leases: MaintenanceLeases,
    @Inject(STORAGE_CONFIG) private readonly config: StorageConfig,
    @Inject(ERASURE_LIST) private readonly erased: ErasureList,
  ) {}

  async import(messages: AsyncIterable<storageV1.BulkImportFollowsRequest>): Promise<ImportReport> {
    const started = performance.now();
    const touched = new Set<string>();
    const bucketsWritten = new Set<string>();
    // The edges of the stream so far: a repeat is skipped, so an edge is never written with two times (which would
    // leave two follower rows for one edge).
    const edgesSeen = new Set<string>();
    let edgesRepeated = 0;
    let pending: Edge[] = [];
    // Writes in flight across the stream's flushes: a flush starts writing as the one before it finishes, not after.
    const slots = new Slots(this.config.STORAGE_IMPORT_CONCURRENCY);
    const flushing: Promise<number>[] = [];
    let deferRecount: boolean | undefined;
    let edgesWritten = 0;
    let batchesWritten = 0;
    let edgesDroppedErased = 0;
    /** Waits for the oldest flush (all of them with `all`); a failed write fails the stream here. */
    const settle = async (all = false) => {
      while (flushing.length > (all ? 0 : FLUSHES_IN_FLIGHT - 1)) batchesWritten += await (flushing.shift() as Promise<number>);
    };
    let index = 0;
    let refused: unknown;
    for await (const message of messages) {
      deferRecount ??= !!message.deferRecount;
      try {
        const edges = checkMessage(message, index);
        if (!deferRecount) for (const edge of edges) touched.add(edge.followerId).add(edge.followeeId);
        if (touched.size > MAX_STREAM_RECOUNT_USERS) {
          throw grpcErrors.resourceExhausted(
            `message ${index}: the stream touched more than ${MAX_STREAM_RECOUNT_USERS} users, more than it recounts at its end; ` +
              'import with defer_recount and call RecountFollows for the users (the messages before this one are written)',
          );
        }
        for (const edge of edges) {
          if (this.erased.has(edge.followerId) || this.erased.has(edge.followeeId)) {
            edgesDroppedErased++;
            continue;
          }
          const key = `${edge.followerId}\u0000${edge.followeeId}`;
          if (edgesSeen.has(key)) {
            edgesRepeated++;
            continue;
          }
          if (edgesSeen.size >= EDGES_REMEMBERED) edgesSeen.clear();
          edgesSeen.add(key);
          pending.push(edge);
        }
      } catch (error) {
        refused = error;
        break;
      }
      index++;
      if (pending.length >= this.config.STORAGE_IMPORT_FLUSH_EDGES) {
        // Flushes overlap (the edges of one gathered while others write), FLUSHES_IN_FLIGHT at most: bounded memory.
        await settle();
        const batch = pending;
        pending = [];
        edgesWritten += batch.length;
        const flush = this.flush(batch, bucketsWritten, slots);
        flush.catch(() => undefined); // awaited by settle(); a failure meanwhile must not go unhandled
        flushing.push(flush);
      }
    }
    // A refused message ends the stream once the messages before it are written, as its status says.
    if (pending.length > 0) {
      edgesWritten += pending.length;
      const flush = this.flush(pending, bucketsWritten, slots);
      flush.catch(() => undefined);
      flushing.push(flush);
    }
    await settle(true);
    // Counters follow the rows written, a refused stream's too.
    const recount = deferRecount ? { usersRecounted: 0, countersMoved: 0 } : await this.recount([...touched], STREAM_RECOUNT_LEASE_WAIT_MS);
    if (refused) throw refused;
    this.logger.log(
      `bulk import: ${edgesWritten} edges in ${batchesWritten} writes (${edgesDroppedErased} of erased users dropped, ` +
        `${edgesRepeated} repeats skipped), ` +
        `${recount.usersRecounted} users recounted ` +
        `(${recount.countersMoved} moved) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return { edgesWritten, batchesWritten, edgesDroppedErased, edgesRepeated, ...recount };
  }

  /**
   * Moves each user's counters to the counts of its rows (both directions): users in groups of RECOUNT_GROUP read with
   * a few multi-partition requests each, STORAGE_IMPORT_CONCURRENCY requests in flight. Like repairCounts, a Follow
   * racing the recount of its users can leave their counters one off until the next recount or reconciliation.
   */
  async recount(userIds: readonly string[], waitMs = RECOUNT_LEASE_WAIT_MS): Promise<{ usersRecounted: number; countersMoved: number }> {
    const groups: string[][] = [];
    for (let i = 0; i < userIds.length; i += RECOUNT_GROUP) groups.push(userIds.slice(i, i + RECOUNT_GROUP));
    let countersMoved = 0;
    const groupsInFlight = Math.max(1, Math.floor(this.config.STORAGE_IMPORT_CONCURRENCY / 8));
    await this.underCountersLease(waitMs, (keep) =>
      forEachConcurrently(groups, groupsInFlight, async (group) => {
        await keep();
        const [rows, counters] = await Promise.all([this.graph.countEdgesOf(group), this.graph.countsOf(group)]);
        const moves: CounterMove[] = [];
        for (const [userId, actual] of rows) moves.push(...counterMove(userId, actual, counters.get(userId)));
        countersMoved += moves.length;
        await forEachConcurrently(moves, MOVES_IN_FLIGHT, (move) => this.graph.moveCounters(move.userId, move.followers, move.following));
      }),
    );
    return { usersRecounted: userIds.length, countersMoved };
  }

  /**
   * Every user recounted from one scan of following_by_user (each edge counted for its follower and its followee) and
   * one of follow_counts: for an import that touched much of the graph, far fewer reads than a recount per user.
   * Holds a count pair per user in memory while it runs.
   */
  async recountAll(waitMs = RECOUNT_LEASE_WAIT_MS): Promise<{ usersRecounted: number; countersMoved: number }> {
    return this.underCountersLease(waitMs, async (keep) => {
      const actual = new Map<string, Counts>();
      const of = (userId: string) => {
        let counts = actual.get(userId);
        if (!counts) actual.set(userId, (counts = { followers: 0, following: 0 }));
        return counts;
      };
      // The token ring in ranges scanned side by side, as a bulk reader of Cassandra does.
      await forEachConcurrently(tokenRanges(SCAN_RANGES), SCAN_RANGES_IN_FLIGHT, async (range) => {
        for await (const page of this.graph.scanFollowingRange(range)) {
          await keep();
          for (const edge of page) {
            of(edge.followerId).following++;
            of(edge.followeeId).followers++;
          }
        }
      });
      let usersRecounted = actual.size;
      const moves: CounterMove[] = [];
      for await (const page of this.graph.scanCounts(5000)) {
        await keep();
        for (const stored of page) {
          const counts = actual.get(stored.userId) ?? { followers: 0, following: 0 };
          if (!actual.delete(stored.userId)) usersRecounted++;
          moves.push(...counterMove(stored.userId, counts, stored));
        }
      }
      for (const [userId, counts] of actual) moves.push(...counterMove(userId, counts, undefined));
      await forEachConcurrently(moves, this.config.STORAGE_IMPORT_CONCURRENCY, async (move) => {
        await keep();
        await this.graph.moveCounters(move.userId, move.followers, move.following);
      });
      return { usersRecounted, countersMoved: moves.length };
    });
  }

  /**
   * Runs `work` holding the lease of counter moves (the reconciliation's): counters move by difference, so two
   * recounts at once, or a recount beside a reconciliation, would move them twice. Waits up to `waitMs` for the lease,
   * then FAILED_PRECONDITION. `keep()` renews it every GRAPH_COUNTERS_LEASE.renewEveryMs; a lost lease stops the work.
   */
  private async underCountersLease<T>(waitMs: number, work: (keep: () => Promise<void>) => Promise<T>): Promise<T> {
    const { name, ttlSeconds, renewEveryMs } = GRAPH_COUNTERS_LEASE;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lease = await this.leases.acquire(name, this.owner, ttlSeconds);
      if ('renew' in lease) {
        let renewedAt = Date.now();
        let renewing: Promise<void> | undefined;
        const keep = async () => {
          if (Date.now() - renewedAt < renewEveryMs) return;
          renewing ??= lease.renew().then((held) => {
            renewing = undefined;
            if (!held) throw new Error('the recount lost its lease: another recount or reconciliation may be moving the counters');
            renewedAt = Date.now();
          });
          await renewing;
        };
        try {
          return await work(keep);
        } finally {
          await lease.release().catch((err: unknown) => this.logger.warn(`could not release the counters lease: ${String(err)}`));
        }
      }
      if (Date.now() >= deadline) {
        throw grpcErrors.failedPrecondition(
          `the follow counters are being recounted or reconciled (lease held by ${lease.heldBy || 'another replica'}); retry later`,
        );
      }
      await sleep(1000);
    }
  }

  /** RecountFollows' request: at most MAX_IMPORT_MESSAGE_EDGES valid ids, each counted once. */
  checkRecountRequest(userIds: readonly string[]): string[] {
    if (userIds.length > MAX_IMPORT_MESSAGE_EDGES) {
      throw grpcErrors.invalidArgument('user_ids', `at most ${MAX_IMPORT_MESSAGE_EDGES} per call, got ${userIds.length}`);
    }
    userIds.forEach((id, i) => checkUserId(id, `user_ids[${i}]`));
    return [...new Set(userIds)];
  }

  /** Writes one gathered set of edges; returns how many writes (batches and single inserts) it took. */
  private async flush(edges: readonly Edge[], bucketsWritten: Set<string>, slots: Slots): Promise<number> {
    const following = new Map<string, ImportRow[]>();
    const followers = new Map<string, ImportRow[]>();
    const buckets = new Map<string, ImportRow[]>();
    if (bucketsWritten.size > BUCKETS_REMEMBERED) bucketsWritten.clear();
    for (const { followerId, followeeId, followedAt } of edges) {
      const bucket = dayOf(followedAt.getTime());
      const side = `${followeeId}\u0000${bucket}`;
      group(following, followerId, { query: IMPORT_INSERTS.following, params: [followerId, followeeId, followedAt] });
      group(followers, side, { query: IMPORT_INSERTS.follower, params: [followeeId, bucket, followedAt, followerId] });
      if (!bucketsWritten.has(side)) {
        bucketsWritten.add(side);
        group(buckets, followeeId, { query: IMPORT_INSERTS.bucket, params: [followeeId, bucket] });
      }
    }
    const writes: ImportRow[][] = [];
    for (const partitions of [following, followers, buckets]) {
      for (const rows of partitions.values()) {
        for (let i = 0; i < rows.length; i += MAX_BATCH_ROWS) writes.push(rows.slice(i, i + MAX_BATCH_ROWS));
      }
    }
    try {
      // One slot taken per write before it starts: the stream's writes in flight stay bounded across its flushes.
      const started: Promise<void>[] = [];
      let failed = false;
      for (const rows of writes) {
        await slots.acquire();
        if (failed) {
          slots.release();
          break;
        }
        const write = this.graph.writeImportRows(rows).finally(() => slots.release());
        write.catch(() => (failed = true));
        started.push(write);
      }
      await Promise.all(started);
    } catch (error) {
      // The bucket rows of this flush may not be written: a later flush of the stream writes them again.
      for (const side of followers.keys()) bucketsWritten.delete(side);
      throw error;
    }
    return writes.length;
  }
}

interface Counts {
  followers: number;
  following: number;
}

interface CounterMove {
  userId: string;
  followers: number;
  following: number;
}

/** The update that moves stored counters to the actual counts: none when they agree. */
function counterMove(userId: string, actual: Counts, stored: Counts | undefined): CounterMove[] {
  const followers = actual.followers - (stored?.followers ?? 0);
  const following = actual.following - (stored?.following ?? 0);
  return followers === 0 && following === 0 ? [] : [{ userId, followers, following }];
}

function group(partitions: Map<string, ImportRow[]>, key: string, row: ImportRow): void {
  const rows = partitions.get(key);
  if (rows) rows.push(row);
  else partitions.set(key, [row]);
}

/** The edges of one message, or INVALID_ARGUMENT naming the message and the first malformed edge. */
function checkMessage(message: storageV1.BulkImportFollowsRequest, index: number): Edge[] {
  const follows = message.follows ?? [];
  if (follows.length > MAX_IMPORT_MESSAGE_EDGES) {
    throw grpcErrors.invalidArgument(
      `message ${index}: follows`,
      `at most ${MAX_IMPORT_MESSAGE_EDGES} edges per message, got ${follows.length}`,
    );
  }
  return follows.map((follow, i) => {
    const field = `message ${index}: follows[${i}]`;
    const followerId = checkUserId(follow.followerId, `${field}.follower_id`);
    const followeeId = checkUserId(follow.followeeId, `${field}.followee_id`);
    if (followerId === followeeId) throw grpcErrors.invalidArgument(`${field}.followee_id`, 'must differ from follower_id');
    const followedAt = timestampField(follow.createdAt, `${field}.created_at`);
    if (!followedAt) {
      throw grpcErrors.invalidArgument(
        `${field}.created_at`,
        'is required (an import carries the times of its edges, so a re-run writes the same rows)',
      );
    }
    return { followerId, followeeId, followedAt };
  });
}
