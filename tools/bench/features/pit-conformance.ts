// Point-in-time conformance beside Feast: the same hand-built timelines (a created-timestamp tie, a 1 h ttl, a
// view without ttl, rows before the first value, exactly at it, just before a future value, duplicates) joined
// by Feast's own get_historical_features (file offline store, in the bench's Feast venv) and by the built
// feature store's GetHistoricalFeatures, then compared row by row (by the entity frame's `label`) with the
// expected values written out by hand. Prints one JSON line. Run by Node 24 with type stripping.
import grpc from '@grpc/grpc-js';
import { DuckDBInstance } from '@duckdb/node-api';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, NODE, note, REDIS_URL, REPO, RUN_ID, runDir, sleep, spawnLogged, stopChild, waitForReady } from '../lib/bench.ts';
import { loadProto } from '../lib/proto.ts';

const VENV = join(homedir(), '.cache/pulse-tools/feast-venv');
const PG_URL = process.env['PG_URL'] ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse';
const SCHEMA = `pit_fs_${RUN_ID}`;
const dir = runDir('features-pit');

// label -> [clicks, country] as Feast's documented semantics give them (latest at or before, within ttl,
// ties by created timestamp), worked out by hand from feast_pit.py's timelines.
const EXPECTED: Record<number, [number | null, string | null]> = {
  0: [null, 'de'], // before the first click row
  1: [1, 'de'], // exactly at its event time
  2: [3, 'fr'], // tie at 10:30: the later created timestamp wins
  3: [3, 'fr'], // 11:00 is in the future
  4: [4, 'fr'],
  5: [10, 'us'],
  6: [10, 'us'], // exactly ttl old
  7: [null, 'us'], // older than the 1 h ttl
  8: [null, null], // unknown entity
  9: [3, 'fr'], // a duplicate entity row
  10: [40, null],
  11: [null, null], // older than the ttl, no country
};

async function rowsOf(file: string): Promise<Map<number, [number | null, string | null]>> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`SELECT label, clicks, country FROM read_parquet('${file}') ORDER BY label`);
    const out = new Map<number, [number | null, string | null]>();
    for (const r of reader.getRowObjectsJS() as { label: bigint; clicks: bigint | null; country: string | null }[]) {
      out.set(Number(r.label), [r.clicks === null ? null : Number(r.clicks), r.country]);
    }
    return out;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function main() {
  if (!existsSync(join(VENV, 'bin/python')))
    throw new Error('no Feast venv at ~/.cache/pulse-tools/feast-venv (tools/bench/features/run.sh installs it)');
  note('Feast: writing the timelines and running get_historical_features');
  const feast = spawnSync(join(VENV, 'bin/python'), [join(REPO, 'tools/bench/features/feast_pit.py'), dir], { encoding: 'utf8', cwd: dir });
  if (feast.status !== 0)
    throw new Error(`feast_pit.py failed: ${(feast.stderr || feast.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  const version = spawnSync(join(VENV, 'bin/python'), ['-c', 'import feast; print(feast.__version__)'], { encoding: 'utf8' }).stdout.trim();

  const repo = join(dir, 'repo');
  mkdirSync(repo, { recursive: true });
  writeFileSync(
    join(repo, 'pit.yaml'),
    `project: pulse
entities:
  - { name: user, join_key: user_id }
feature_views:
  - name: user_clicks
    entities: [user]
    ttl: 1h
    online: false
    source: { name: clicks_files, type: file, location: clicks.parquet, timestamp_field: event_timestamp, created_timestamp_field: created }
    features:
      - { name: clicks, type: int64 }
  - name: user_country
    entities: [user]
    ttl: 0s
    online: false
    source: { name: country_files, type: file, location: country.parquet, timestamp_field: ts }
    features:
      - { name: country, type: string }
`,
  );
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    // A conformance check of the answers, not of access: calls go without credentials (PULSE_AUTH=off, local only).
    PULSE_AUTH: 'off',
    PG_URL,
    REDIS_URL,
    LAKE_ROOT: dir,
    FEATURE_STORE_PG_SCHEMA: SCHEMA,
    FEATURE_STORE_REDIS_PREFIX: `pulse:fs-pit:${RUN_ID}:`,
    FEATURE_STORE_AGGREGATES_CONSUMER: 'false',
  };
  const dist = join(REPO, 'dist/apps/feature-store');
  const applied = spawnSync(NODE, [join(dist, 'registry-cli.js'), 'apply', '--repo', repo], { env, encoding: 'utf8' });
  if (applied.status !== 0) throw new Error(`registry apply failed:\n${applied.stdout}${applied.stderr}`);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const log = join(dir, 'feature-store.log');
  let child: ChildProcess | undefined = spawnLogged(NODE, [join(dist, 'main.js')], {
    env: { ...env, GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort) },
    logFile: log,
  });
  try {
    await waitForReady(child, httpPort, { name: 'feature store', logFile: log });
    const pkg = grpc.loadPackageDefinition(loadProto('pulse/features/v1/features_service.proto')) as any;
    const client = new pkg.pulse.features.v1.FeaturesService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const call = (method: string, request: unknown) =>
      new Promise<any>((resolve, reject) =>
        client[method](request, (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response))),
      );
    const { job } = await call('GetHistoricalFeatures', {
      entityPath: 'entities.parquet',
      features: { refs: ['user_clicks:clicks', 'user_country:country'] },
      outputPath: 'pulse.parquet',
    });
    let state = 0;
    let error = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
      const r = await call('GetRetrievalJob', { jobId: job.id });
      state = r.job.state;
      error = r.job.error;
      if (state >= 3) break;
    }
    client.close();
    if (state !== 3) throw new Error(`retrieval job ended in state ${state}: ${error}`);

    const pulse = await rowsOf(join(dir, 'pulse.parquet'));
    const feastRows = await rowsOf(join(dir, 'feast.parquet'));
    const labels = Object.keys(EXPECTED).map(Number);
    const differs = (a: [number | null, string | null] | undefined, b: [number | null, string | null]) =>
      !a || a[0] !== b[0] || a[1] !== b[1];
    const pulseWrong = labels.filter((l) => differs(pulse.get(l), EXPECTED[l]));
    const feastMissing = labels.filter((l) => !feastRows.has(l));
    const feastWrong = labels.filter((l) => feastRows.has(l) && differs(feastRows.get(l), EXPECTED[l]));
    const disagreeing = labels.filter((l) => feastRows.has(l) && differs(feastRows.get(l), pulse.get(l) ?? [null, null]));
    process.stdout.write(
      `${JSON.stringify({
        check: 'point-in-time conformance',
        entity_rows: labels.length,
        pulse: { rows: pulse.size, rows_as_expected: labels.length - pulseWrong.length, labels_not_as_expected: pulseWrong },
        feast: {
          version,
          offline_store: 'file',
          rows: feastRows.size,
          labels_missing: feastMissing,
          labels_not_as_expected: feastWrong.map((l) => ({ label: l, feast: feastRows.get(l), expected: EXPECTED[l] })),
        },
        labels_where_pulse_and_feast_disagree: disagreeing,
      })}\n`,
    );
    if (pulseWrong.length > 0) process.exitCode = 1;
  } finally {
    if (child) await stopChild(child);
    child = undefined;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`).finally(() => client.end());
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`pit-conformance: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
