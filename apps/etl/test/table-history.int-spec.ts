import { type ServiceError, status } from '@grpc/grpc-js';
import { etlV1, timestampToMillis } from '@pulse/contracts';
import { decodeFieldViolations } from '@pulse/platform';
import { rm } from 'node:fs/promises';
import {
  ActivityType,
  bronzeCounts,
  type EtlRun,
  type EtlTestApp,
  newRun,
  produce,
  startEtl,
  testKafka,
  tracked,
  waitFor,
} from './etl-test-kit';

/**
 * The lake as a person browses it: a table's commits a page at a time and its rows at any version. Three
 * batches of activity, each waited for until it is in the bronze table, give three known versions.
 */
const kafka = testKafka('history');
const run: EtlRun = newRun();
let app: EtlTestApp;
const BATCHES = [5, 7, 9];
/** The bronze table's version once each batch was in it. */
const versions: number[] = [];

async function bronzeVersion(): Promise<number> {
  const response = await app.client.call<etlV1.GetStatusResponse>('GetStatus', {});
  return Number(response.tables.find((t) => t.name === 'activity_bronze')?.version ?? -1);
}

async function failure(call: Promise<unknown>): Promise<ServiceError> {
  return call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: ServiceError) => error,
  );
}

beforeAll(async () => {
  await kafka.admin.ensureTopics([run.activityTopic, run.lateTopic]);
  app = await startEtl(run, { ETL_AGGREGATE_STREAMS: 'false' });
  let sent = 0;
  for (const [b, size] of BATCHES.entries()) {
    const now = Date.now();
    await produce(
      kafka,
      run,
      Array.from({ length: size }, (_, i) => tracked(`${run.id}-b${b}-${i}`, `u${i}`, ActivityType.ACTIVITY_TYPE_VIEW, now - i * 1000)),
    );
    sent += size;
    await waitFor(
      () => bronzeCounts(run),
      (c) => c.rows === sent,
    );
    versions.push(await bronzeVersion());
  }
}, 120_000);

afterAll(async () => {
  await app?.close();
  await kafka.admin.deleteTopics([run.activityTopic.name, run.lateTopic.name]).catch(() => undefined);
  await kafka.close();
  await rm(run.lakeRoot, { recursive: true, force: true });
});

describe('table history', () => {
  it('pages through the commits newest first, with the rows each added', async () => {
    const seen: etlV1.TableCommit[] = [];
    let pageToken = '';
    do {
      const page = await app.client.call<etlV1.GetTableHistoryResponse>('GetTableHistory', {
        table: 'activity_bronze',
        pageSize: 2,
        pageToken,
      });
      expect(page.commits.length).toBeLessThanOrEqual(2);
      seen.push(...page.commits);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    const latest = versions.at(-1)!;
    expect(seen.map((c) => Number(c.version))).toEqual(Array.from({ length: latest + 1 }, (_, i) => latest - i));
    const writes = seen.filter((c) => c.operation === 'STREAMING UPDATE');
    expect(writes.reduce((n, c) => n + Number(c.rowsAdded), 0)).toBe(BATCHES.reduce((a, b) => a + b, 0));
    for (const c of seen) expect(timestampToMillis(c.committedAt!)).toBeGreaterThan(Date.now() - 120_000);
    expect(Number(seen.at(-1)!.rowsAdded)).toBe(0);
  });

  it('refuses a page size above 100 naming the field, and an unknown table with NOT_FOUND', async () => {
    const tooBig = await failure(app.client.call('GetTableHistory', { table: 'activity_bronze', pageSize: 101 }));
    expect(tooBig.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeFieldViolations(tooBig.metadata)[0].field).toBe('page_size');
    const unknown = await failure(app.client.call('GetTableHistory', { table: 'no_such_table' }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toMatch(/no_such_table/);
  });
});

describe('table preview', () => {
  it('reads each version as it was: the rows of the first batch at its version, all of them at the latest', async () => {
    const first = await app.client.call<etlV1.PreviewTableResponse>('PreviewTable', {
      table: 'activity_bronze',
      version: versions[0],
      limit: 100,
    });
    expect(Number(first.version)).toBe(versions[0]);
    expect(Number(first.totalRows)).toBe(BATCHES[0]);
    const rows = first.rows.map((r) => JSON.parse(r) as Record<string, unknown>);
    expect(rows.map((r) => r['event_id']).sort()).toEqual(Array.from({ length: BATCHES[0] }, (_, i) => `${run.id}-b0-${i}`).sort());
    expect(rows[0]).toMatchObject({ type: 'VIEW', target_type: 'POST', target_id: 'p1', properties: { surface: 'feed' } });
    expect(first.columns.find((c) => c.name === 'event_date')).toMatchObject({ type: 'date', partition: true });

    const latest = await app.client.call<etlV1.PreviewTableResponse>('PreviewTable', { table: 'activity_bronze', limit: 3 });
    expect(Number(latest.version)).toBe(versions.at(-1));
    expect(latest.rows).toHaveLength(3);
    expect(Number(latest.totalRows)).toBe(BATCHES.reduce((a, b) => a + b, 0));
  });

  it('refuses a version the table does not have, and a limit above 100', async () => {
    const future = await failure(app.client.call('PreviewTable', { table: 'activity_bronze', version: versions.at(-1)! + 100 }));
    expect(future.code).toBe(status.NOT_FOUND);
    const tooMany = await failure(app.client.call('PreviewTable', { table: 'activity_bronze', limit: 500 }));
    expect(tooMany.code).toBe(status.INVALID_ARGUMENT);
    expect(decodeFieldViolations(tooMany.metadata)[0].field).toBe('limit');
  });
});
