import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LakeEngine } from '../engine/duckdb.engine';
import { LocalLakeStorage } from '../storage/local.lake-storage';
import { type Action, logKey, parseActions } from './actions';
import { type CreateTableOptions, DeltaTable } from './delta-table';
import { DeltaConflictError } from './errors';

const EVENTS: CreateTableOptions = {
  columns: [
    { name: 'event_id', type: 'string', nullable: false },
    { name: 'user_id', type: 'string' },
    { name: 'payload', type: 'string' },
    { name: 'event_date', type: 'date' },
  ],
  partitionColumns: ['event_date'],
};

/** Rows of users u0, u1, u2 in turn; u1's payload names its email. */
function rows(from: number, count: number, date = '2024-06-01') {
  return Array.from({ length: count }, (_, i) => {
    const user = `u${(from + i) % 3}`;
    return {
      event_id: `e${from + i}`,
      user_id: user,
      payload: JSON.stringify({ user, email: `${user}@example.org` }),
      event_date: date,
    };
  });
}

describe('DeltaTable.delete and purge', () => {
  let root: string;
  let storage: LocalLakeStorage;
  let engine: LakeEngine;

  beforeAll(async () => {
    engine = await LakeEngine.create({ threads: 1 });
  });
  afterAll(() => engine.close());
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'delta-delete-spec-'));
    storage = new LocalLakeStorage(root);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  const ids = async (table: DeltaTable, version?: number) => {
    const snapshot = version === undefined ? table.snapshot() : await table.snapshotAt(version);
    const found = await engine.query<{ id: string }>(`SELECT event_id AS id FROM ${await table.scanSql(snapshot)} ORDER BY 1`);
    return found.map((r) => r.id);
  };
  const commitActions = async (version: number): Promise<Action[]> =>
    parseActions((await readFile(join(root, logKey('events', version)), 'utf8')).toString());
  /** Every file under the table's root as text: Parquet files (data and checkpoints) read row by row, the rest as is. */
  const everything = async () => {
    const files = (await readdir(join(root, 'events'), { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
    const texts: string[] = [];
    for (const f of files) {
      const path = join(f.parentPath, f.name);
      if (!f.name.endsWith('.parquet')) texts.push(await readFile(path, 'utf8'));
      else
        texts.push(
          ...(await engine.query<{ j: string }>(`SELECT to_json(t)::VARCHAR AS j FROM read_parquet('${path}') t`)).map((r) => r.j),
        );
    }
    return texts.join('\n');
  };

  it('removes the matching rows and keeps every other row, in one commit of remove + add', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await table.append(rows(0, 6));
    await table.append(rows(6, 6, '2024-06-02'));
    await table.append(rows(12, 2, '2024-06-03')); // u0 and u1 only: no row of u2
    const before = table.version;

    const result = await table.delete({ predicate: "user_id = 'u2'" });

    expect(result).toMatchObject({ version: before + 1, numDeletedRows: 4, numCopiedRows: 8, numRemovedFiles: 2, numAddedFiles: 2 });
    expect(await ids(table)).toEqual(['e0', 'e1', 'e10', 'e12', 'e13', 'e3', 'e4', 'e6', 'e7', 'e9']);
    // The commit: commitInfo DELETE with Delta's metrics, a remove with dataChange for each rewritten file,
    // an add per new file in the same partition; the file without a match is neither removed nor added.
    const actions = await commitActions(result.version!);
    const info = actions.find((a): a is Extract<Action, { commitInfo: unknown }> => 'commitInfo' in a)!.commitInfo;
    expect(info).toMatchObject({
      operation: 'DELETE',
      operationParameters: { predicate: JSON.stringify(["user_id = 'u2'"]) },
      operationMetrics: { numRemovedFiles: '2', numAddedFiles: '2', numDeletedRows: '4', numCopiedRows: '8' },
      readVersion: before,
      isBlindAppend: false,
    });
    const removes = actions.flatMap((a) => ('remove' in a ? [a.remove] : []));
    const adds = actions.flatMap((a) => ('add' in a ? [a.add] : []));
    expect(removes.map((r) => r.path).sort()).toEqual(result.removedFiles.sort());
    expect(removes.every((r) => r.dataChange && r.size! > 0 && r.deletionTimestamp > 0)).toBe(true);
    expect(removes.map((r) => r.partitionValues!['event_date']).sort()).toEqual(['2024-06-01', '2024-06-02']);
    expect(adds.map((a) => a.partitionValues['event_date']).sort()).toEqual(['2024-06-01', '2024-06-02']);
    expect(adds.every((a) => a.dataChange && a.path.startsWith(`event_date=${a.partitionValues['event_date']}/`))).toBe(true);
    expect(adds.map((a) => JSON.parse(a.stats!).numRecords)).toEqual([4, 4]);
    expect(table.snapshot().files).toHaveLength(3);
    // Time travel still sees the rows until the files are purged.
    expect(await ids(table, before)).toHaveLength(14);
  });

  it('drops a file whose every row matches without adding one, and matches on partition columns and JSON', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await table.append(rows(0, 3));
    await table.append(rows(3, 3, '2024-06-02'));
    const whole = await table.delete({ predicate: "event_date = DATE '2024-06-02'" });
    expect(whole).toMatchObject({ numDeletedRows: 3, numRemovedFiles: 1, numAddedFiles: 0, numCopiedRows: 0 });
    expect(await ids(table)).toEqual(['e0', 'e1', 'e2']);
    const json = await table.delete({ predicate: "json_extract_string(payload, '$.email') = 'u1@example.org'" });
    expect(json).toMatchObject({ numDeletedRows: 1, numCopiedRows: 2 });
    expect(await ids(table)).toEqual(['e0', 'e2']);
  });

  it('commits nothing when no row matches, and keeps rows for which the predicate is null', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await table.append([...rows(0, 3), { event_id: 'anon', user_id: null, payload: null, event_date: '2024-06-01' }]);
    const version = table.version;
    expect(await table.delete({ predicate: "user_id = 'nobody'" })).toMatchObject({ version: null, numDeletedRows: 0 });
    expect(table.version).toBe(version);
    await table.delete({ predicate: "user_id <> 'u0'" });
    expect(await ids(table)).toEqual(['anon', 'e0']);
  });

  it('records a description instead of the predicate when asked, so the log does not name what was erased', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    await table.append(rows(0, 3));
    const result = await table.delete({ predicate: "user_id = 'u1'", recordedPredicate: 'erasure job 7' });
    const text = (await readFile(join(root, logKey('events', result.version!)), 'utf8')).toString();
    expect(text).toContain('erasure job 7');
    expect(text).not.toContain('u1');
  });

  it('raises a conflict when a compaction removed the same file first, and succeeds when run again', async () => {
    await DeltaTable.create(storage, 'events', EVENTS, { engine });
    const other = await DeltaTable.open(storage, 'events', { engine });
    await other.append(rows(0, 3));
    await other.append(rows(3, 3));
    // The delete's engine lets a compaction of the same files commit just before the delete rewrites them.
    let raced = false;
    const racing = new Proxy(engine, {
      get(target, prop) {
        if (prop === 'query') {
          return async (sql: string) => {
            if (!raced && sql.startsWith('COPY')) {
              raced = true;
              await other.compact({ targetFileSize: 64 * 1024 * 1024 });
            }
            return target.query(sql);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const table = await DeltaTable.open(storage, 'events', { engine: racing });
    const error = await table.delete({ predicate: "user_id = 'u1'" }).catch((e) => e);
    expect(error).toBeInstanceOf(DeltaConflictError);
    expect((error as DeltaConflictError).kind).toBe('delete');
    // The rewritten files of the refused commit are gone; run again, the delete applies to the compacted file.
    expect(await table.delete({ predicate: "user_id = 'u1'" })).toMatchObject({ numDeletedRows: 2, numRemovedFiles: 1 });
    expect(await ids(table)).toEqual(['e0', 'e2', 'e3', 'e5']);
    const live = new Set(table.snapshot().files.map((f) => f.path));
    const onDisk = (await readdir(join(root, 'events'), { recursive: true })).filter(
      (f) => f.endsWith('.parquet') && !f.includes('_delta_log'),
    );
    // The 2 appended and the compacted file (removed, kept for time travel) and the live one: no orphan.
    expect(onDisk.filter((f) => !live.has(f))).toHaveLength(3);
  });

  it('purges the removed files and the log entries that listed them, so no version holds the rows any more', async () => {
    const table = await DeltaTable.create(storage, 'events', EVENTS, { engine });
    for (let i = 0; i < 4; i++) await table.append(rows(i * 3, 3));
    await table.compact({ targetFileSize: 64 * 1024 * 1024 });
    const deleted = await table.delete({ predicate: "user_id = 'u1'", recordedPredicate: 'erasure' });
    expect(await everything()).toContain('u1@example.org');

    // Younger than the minimum age: nothing goes.
    const early = await table.purge({ minAgeMs: 60_000 });
    expect(early.deletedFiles).toEqual([]);
    expect(await everything()).toContain('u1@example.org');

    const purged = await table.purge({ minAgeMs: 0, nowMs: Date.now() + 1000 });
    // The four appended files (compacted away) and the compacted file (rewritten by the delete).
    expect(purged.deletedFiles).toHaveLength(5);
    expect(purged.checkpointVersion).toBe(table.version);
    const disk = await everything();
    expect(disk).not.toContain('u1@example.org');
    expect(disk).not.toMatch(/"u1"/);
    expect(deleted.removedFiles.length).toBe(1);

    const fresh = await DeltaTable.open(storage, 'events', { engine });
    expect(await ids(fresh)).toEqual(['e0', 'e11', 'e2', 'e3', 'e5', 'e6', 'e8', 'e9']);
    await expect(fresh.snapshotAt(deleted.version! - 1)).rejects.toThrow(RangeError);
  });
});
