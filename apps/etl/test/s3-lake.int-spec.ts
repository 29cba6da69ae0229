import { DeltaTable, S3LakeStorage } from '@pulse/lake';
import { rm } from 'node:fs/promises';
import { ActivityType, type EtlRun, newRun, produce, startEtl, testEngine, testKafka, tracked, waitFor } from './etl-test-kit';

const kafka = testKafka('s3-lake');
const run: EtlRun = newRun();
const s3 = {
  endpoint: process.env['S3_ENDPOINT'] || 'http://127.0.0.1:29000',
  region: process.env['S3_REGION'] ?? 'us-east-1',
  accessKeyId: process.env['S3_ACCESS_KEY_ID'] ?? 'pulse',
  secretAccessKey: process.env['S3_SECRET_ACCESS_KEY'] ?? 'pulse-stack-secret',
};
const storage = new S3LakeStorage({ ...s3, bucket: 'pulse-lake-test', prefix: `etl-${run.id}/`, forcePathStyle: true, createBucket: true });

afterAll(async () => {
  await storage.delete((await storage.list('')).map((o) => o.key)).catch(() => undefined);
  storage.close();
  await kafka.admin.deleteTopics([run.activityTopic.name]).catch(() => undefined);
  await kafka.close();
  await rm(run.lakeRoot, { recursive: true, force: true });
});

describe('the lake on an S3-compatible store', () => {
  it('streams the bronze table into a bucket, readable from there at every version', async () => {
    await kafka.admin.ensureTopics([run.activityTopic]);
    const app = await startEtl(run, {
      LAKE_BACKEND: 's3',
      LAKE_S3_ENDPOINT: s3.endpoint,
      LAKE_S3_REGION: s3.region,
      LAKE_S3_BUCKET: 'pulse-lake-test',
      LAKE_S3_PREFIX: `etl-${run.id}/`,
      LAKE_S3_ACCESS_KEY_ID: s3.accessKeyId,
      LAKE_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      LAKE_S3_CREATE_BUCKET: 'true',
      ETL_AGGREGATE_STREAMS: 'false',
    });
    try {
      const t0 = Date.UTC(2024, 5, 3, 8);
      await produce(
        kafka,
        run,
        Array.from({ length: 300 }, (_, i) => tracked(`${run.id}-a${i}`, `u${i % 17}`, ActivityType.ACTIVITY_TYPE_VIEW, t0 + i * 1000)),
      );
      await storage.init();
      const engine = await testEngine();
      const count = async () => {
        if (!(await DeltaTable.exists(storage, 'bronze/activity'))) return 0;
        const table = await DeltaTable.open(storage, 'bronze/activity', { engine });
        const [row] = await engine.query<{ n: number }>(`SELECT count(DISTINCT event_id)::INT AS n FROM ${await table.scanSql()}`);
        return row.n;
      };
      await waitFor(count, (n) => n === 300);
      const keys = (await storage.list('bronze/activity/')).map((o) => o.key);
      expect(keys).toContain('bronze/activity/_delta_log/00000000000000000000.json');
      expect(keys.some((k) => /^bronze\/activity\/event_date=2024-06-03\/part-.*\.zstd\.parquet$/.test(k))).toBe(true);
    } finally {
      await app.close();
    }
  });
});
