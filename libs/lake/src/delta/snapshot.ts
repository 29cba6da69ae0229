/**
 * Snapshots and log replay: the table state at a version, read from the latest usable Parquet
 * checkpoint in `_delta_log` and the JSON commits after it, and the commit history.
 */

import { type LakeEngine, sqlString } from '../engine/duckdb.engine';
import type { LakeStorage } from '../storage/lake-storage';
import { type Action, checkpointKey, type CommitInfo, lastCheckpointKey, logKey, parseActions } from './actions';
import type { TableContext } from './table-context';
import { type DeltaSnapshot, TableState } from './table-state';

export interface HistoryEntry {
  version: number;
  timestamp: number;
  operation: string;
  operationParameters: Record<string, string>;
  operationMetrics: Record<string, string>;
  readVersion?: number;
  isBlindAppend?: boolean;
  info: CommitInfo;
}

/** True when a Delta table exists at the path. */
export async function tableExists(storage: LakeStorage, path: string): Promise<boolean> {
  // Version 0's commit, or a checkpoint once log cleanup removed the early commits.
  return (await storage.read(logKey(path, 0))) !== null || (await storage.read(lastCheckpointKey(path))) !== null;
}

/** Replays the log up to `maxVersion` from the latest usable checkpoint. */
export async function loadState(storage: LakeStorage, engine: LakeEngine, path: string, maxVersion: number): Promise<TableState> {
  const state = new TableState();
  const checkpoint = await findCheckpoint(storage, path, maxVersion);
  if (checkpoint !== null) {
    const local = await storage.localPath(checkpointKey(path, checkpoint));
    const rows = await engine.query<Record<string, string | null>>(
      `SELECT to_json(protocol) AS protocol, to_json(metaData) AS "metaData", to_json(txn) AS txn, to_json("add") AS "add", to_json(remove) AS remove FROM read_parquet(${sqlString(local)})`,
    );
    const actions: Action[] = [];
    for (const row of rows) {
      for (const [kind, json] of Object.entries(row)) if (json) actions.push({ [kind]: JSON.parse(json) } as Action);
    }
    state.apply(checkpoint, actions);
    const info = await storage.read(logKey(path, checkpoint));
    if (info)
      state.apply(
        checkpoint,
        parseActions(info.toString('utf8')).filter((a) => 'commitInfo' in a),
      );
  }
  await replayCommits(storage, path, state, maxVersion);
  return state;
}

/**
 * Reads the commits written since the context's state (by other writers) and returns the latest snapshot. When log
 * cleanup removed commits after the state (a checkpoint past them, as the erasure vacuum writes and cleans up within
 * minutes), they cannot be replayed: the state is read again from the latest checkpoint.
 */
export async function refresh(context: TableContext): Promise<DeltaSnapshot> {
  const next = context.state.clone();
  await replayCommits(context.storage, context.path, next, Number.POSITIVE_INFINITY);
  const checkpoint = await lastCheckpointVersion(context.storage, context.path);
  context.state =
    checkpoint !== null && checkpoint > next.version
      ? await loadState(context.storage, context.engine, context.path, Number.POSITIVE_INFINITY)
      : next;
  return context.state.snapshot();
}

/** The version `_last_checkpoint` points at, or null without one. */
export async function lastCheckpointVersion(storage: LakeStorage, path: string): Promise<number | null> {
  const last = await storage.read(lastCheckpointKey(path));
  return last ? (JSON.parse(last.toString('utf8')) as { version: number }).version : null;
}

/** The table as of a version (time travel). */
export async function snapshotAt(context: TableContext, version: number): Promise<DeltaSnapshot> {
  if (!Number.isInteger(version) || version < 0) throw new RangeError(`version must be a non-negative integer, got ${version}`);
  if (version === context.state.version) return context.state.snapshot();
  const state = await loadState(context.storage, context.engine, context.path, version);
  if (state.version !== version) throw new RangeError(`version ${version} of ${context.location} does not exist (latest ${state.version})`);
  return state.snapshot();
}

/** The latest version committed at or before a time (time travel by timestamp). */
export async function versionAt(context: TableContext, timestampMs: number): Promise<number> {
  const entries = await history(context);
  const match = entries.filter((h) => h.timestamp <= timestampMs).sort((a, b) => b.version - a.version)[0];
  if (!match) throw new RangeError(`${new Date(timestampMs).toISOString()} is before the first commit of ${context.location}`);
  return match.version;
}

/** Every commit's commitInfo, newest first (Delta's DESCRIBE HISTORY). */
export async function history(context: TableContext, limit = Number.POSITIVE_INFINITY, fromVersion?: number): Promise<HistoryEntry[]> {
  await refresh(context);
  const out: HistoryEntry[] = [];
  for (let v = Math.min(fromVersion ?? context.state.version, context.state.version); v >= 0 && out.length < limit; v--) {
    const text = await context.storage.read(logKey(context.path, v));
    if (text === null) break; // cleaned up before a checkpoint
    const info = commitInfoOf(text);
    if (!info) continue;
    out.push({
      version: v,
      timestamp: info.timestamp,
      operation: info.operation,
      operationParameters: info.operationParameters ?? {},
      operationMetrics: info.operationMetrics ?? {},
      readVersion: info.readVersion,
      isBlindAppend: info.isBlindAppend,
      info,
    });
  }
  return out;
}

/** The commitInfo of one version, or null when its log file is gone. */
export async function readCommitInfo(storage: LakeStorage, path: string, version: number): Promise<CommitInfo | null> {
  const text = await storage.read(logKey(path, version));
  if (text === null) return null;
  return commitInfoOf(text) ?? null;
}

function commitInfoOf(commit: Buffer): CommitInfo | undefined {
  return parseActions(commit.toString('utf8')).find((a): a is { commitInfo: CommitInfo } => 'commitInfo' in a)?.commitInfo;
}

/** Applies the commits after the state's version, up to `maxVersion` or the last one written. */
async function replayCommits(storage: LakeStorage, path: string, state: TableState, maxVersion: number): Promise<void> {
  for (let v = state.version + 1; v <= maxVersion; v++) {
    const text = await storage.read(logKey(path, v));
    if (text === null) break;
    state.apply(v, parseActions(text.toString('utf8')));
  }
}

async function findCheckpoint(storage: LakeStorage, path: string, maxVersion: number): Promise<number | null> {
  if (maxVersion === Number.POSITIVE_INFINITY) return lastCheckpointVersion(storage, path);
  const versions = (await storage.list(`${path}/_delta_log/`))
    .map((o) => o.key.match(/(\d{20})\.checkpoint\.parquet$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((v) => v <= maxVersion);
  return versions.length > 0 ? Math.max(...versions) : null;
}
