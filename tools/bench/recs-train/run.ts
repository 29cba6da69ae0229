// Recommender training bench (see tools/bench/README.md, recs-train): the built `recs profile` on each
// TensorFlow.js backend beside the PyTorch anchor (ncf_torch.py) on the same NCF-format split, in
// alternating rounds; prints one JSON line with samples/s per model and backend, the ratio to PyTorch,
// scoring latency and where a training step's time goes.
// Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { envInt, note, NODE, REPO, round, runDir } from '../lib/bench.ts';
import { RECS, ratingsFile } from './ratings.ts';

const ROUNDS = envInt('BENCH_ROUNDS', 3);
const EPOCHS = envInt('BENCH_EPOCHS', 1);
const BATCH = envInt('BENCH_BATCH', 256);
const WASM_POSITIVES = envInt('BENCH_WASM_POSITIVES', 20_000);
const CPU_POSITIVES = envInt('BENCH_CPU_POSITIVES', 1_000);
const MODELS = process.env['BENCH_MODELS'] ?? 'gmf,mlp,neumf';
// The newer models (zoo_torch.py is their PyTorch side); empty to skip them.
const ZOO = (process.env['BENCH_ZOO_MODELS'] ?? 'sasrec,hybrid,ease').split(',').filter(Boolean);
const ZOO_EPOCHS = envInt('BENCH_ZOO_EPOCHS', 1);
const TORCH = process.env['RECS_BENCH_TORCH_PYTHON'] ?? '';

type Json = Record<string, any>;

function recs(backend: string, args: string[], env: Record<string, string> = {}): Json {
  const out = execFileSync(NODE, [RECS, ...args, '--backend', backend], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

function torch(
  prefix: string,
  models: string,
  positives: number,
  threads: number,
  script = 'ncf_torch.py',
  args?: string[],
): Json | { error: string } {
  try {
    const out = execFileSync(
      TORCH,
      [
        join(REPO, 'tools/bench/recs-train', script),
        prefix,
        models,
        ...(args ?? [String(EPOCHS), String(BATCH), String(positives), String(threads)]),
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 1 << 24,
      },
    );
    return JSON.parse(out.trim().split('\n').pop() as string);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    return { error: (e.stderr || e.message).trim().split('\n').slice(-3).join(' | ') };
  }
}

async function main(): Promise<void> {
  const dir = runDir('recs-train');
  const source = ratingsFile(dir);
  const prefix = join(dir, 'split');
  execFileSync(NODE, [RECS, 'split', source, '--out', prefix, '--seed', '42'], { stdio: 'ignore' });
  note(`split written to ${prefix}.*; ${ROUNDS} rounds of (PyTorch, TF.js tensorflow backend) per model, ${EPOCHS} epoch(s) each`);

  const torchAvailable = TORCH !== '' && existsSync(TORCH);
  const models = MODELS.split(',');
  // Each round runs, per model, PyTorch then TF.js back to back: the two sides of a pair see the same load.
  const rounds: Json[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const round: Json = { torch: { models: {} }, tfjs: { models: {} } };
    for (const m of models) {
      const anchor = torchAvailable ? torch(prefix, m, 0, 1) : { error: 'no PyTorch venv (see run.sh)' };
      if ((anchor as Json).models) {
        round.torch.models[m] = (anchor as Json).models[m];
        round.torch.version = (anchor as Json).torch;
      } else round.torch.error = (anchor as Json).error;
      const tfjs = recs('tensorflow', [
        'profile',
        prefix,
        '--models',
        m,
        '--epochs',
        String(EPOCHS),
        '--batch-size',
        String(BATCH),
        '--layers-steps',
        r === 1 ? '100' : '0',
      ]);
      round.tfjs.models[m] = tfjs.models[m];
      Object.assign(round.tfjs, {
        backend: tfjs.backend,
        native_version: tfjs.native_version,
        users: tfjs.users,
        items: tfjs.items,
        train_interactions: tfjs.train_interactions,
        neumf_score_10k_items: tfjs.neumf_score_10k_items,
      });
      note(
        `round ${r} ${m}: PyTorch ${round.torch.models[m]?.samples_per_second ?? '-'} samples/s, TF.js ${tfjs.models[m].samples_per_second} samples/s`,
      );
    }
    rounds.push(round);
  }
  // PyTorch's own thread default (2 here) on a sample, for the record: on a busy machine its OpenMP pool spins.
  const torchTwoThreads = torchAvailable ? torch(prefix, 'neumf', 10_000, 0) : undefined;
  note('wasm and cpu backends on a sample of the training positives');
  const wasm = recs('wasm', [
    'profile',
    prefix,
    '--models',
    MODELS,
    '--epochs',
    '1',
    '--batch-size',
    String(BATCH),
    '--max-samples',
    String(WASM_POSITIVES),
  ]);
  note('cpu backend, one intra-op thread, batch 1024');
  const cpu = recs('cpu', [
    'profile',
    prefix,
    '--models',
    'neumf',
    '--epochs',
    '1',
    '--batch-size',
    String(BATCH),
    '--max-samples',
    String(CPU_POSITIVES),
  ]);
  const thread1 = recs('tensorflow', ['profile', prefix, '--models', 'neumf', '--epochs', '1', '--batch-size', String(BATCH)], {
    TF_NUM_INTRAOP_THREADS: '1',
  });
  const big = recs('tensorflow', ['profile', prefix, '--models', 'neumf', '--epochs', String(EPOCHS), '--batch-size', '1024']);

  // The newer models: SASRec and the hybrid train by TF.js autodiff (tf.variableGrads + Adam), EASE inverts with
  // TF.js matrix products; each beside zoo_torch.py on the same split (PyTorch with one thread), back to back.
  const movies = join(dirname(source), 'movies.csv');
  const zooRounds: Json[] = [];
  for (let r = 1; r <= (ZOO.length > 0 ? ROUNDS : 0); r++) {
    const round: Json = { torch: {}, tfjs: {} };
    for (const m of ZOO) {
      // The hybrid reads item texts by MovieLens id: it trains on the ratings file (the same leave-one-out split).
      const onRatings = m === 'hybrid';
      if (onRatings && !existsSync(movies)) continue;
      const tfjs = recs('tensorflow', [
        'profile',
        onRatings ? source : prefix,
        '--models',
        m,
        '--epochs',
        String(ZOO_EPOCHS),
        ...(onRatings ? ['--item-text', movies] : []),
      ]);
      round.tfjs[m] = tfjs.models[m];
      const vocabulary = String(tfjs.models[m]?.vocabulary ?? 8000);
      const anchor = torchAvailable
        ? torch(prefix, m, 0, 1, 'zoo_torch.py', [String(ZOO_EPOCHS), '1', vocabulary, '32'])
        : { error: 'no PyTorch venv (see run.sh)' };
      round.torch[m] = (anchor as Json).models?.[m] ?? { error: (anchor as Json).error };
      note(
        `round ${r} ${m}: PyTorch ${JSON.stringify(round.torch[m])}, TF.js ${round.tfjs[m]?.samples_per_second ?? round.tfjs[m]?.train_seconds}`,
      );
    }
    zooRounds.push(round);
  }
  const zoo: Json = {};
  for (const m of ZOO) {
    const sides = zooRounds.filter((rd) => rd.tfjs[m]);
    if (sides.length === 0) continue;
    if (m === 'ease') {
      // A closed form: seconds to fit, lower is better; the ratio is PyTorch's time over TF.js's.
      const tf = Math.min(...sides.map((rd) => rd.tfjs[m].train_seconds));
      const pt = Math.min(...sides.map((rd) => rd.torch[m]?.train_seconds ?? Infinity));
      zoo[m] = {
        tfjs_train_seconds: tf,
        torch_train_seconds: Number.isFinite(pt) ? pt : null,
        ratio_vs_torch: Number.isFinite(pt) ? round(pt / tf, 3) : null,
      };
      continue;
    }
    const tf = Math.max(...sides.map((rd) => rd.tfjs[m].samples_per_second));
    const pt = Math.max(...sides.map((rd) => rd.torch[m]?.samples_per_second ?? NaN).filter(Number.isFinite));
    const tfCpu = Math.max(...sides.map((rd) => rd.tfjs[m].samples_per_cpu_second));
    const ptCpu = Math.max(...sides.map((rd) => rd.torch[m]?.samples_per_cpu_second ?? NaN).filter(Number.isFinite));
    zoo[m] = {
      tfjs_tensorflow_samples_per_second: tf,
      torch_samples_per_second: Number.isFinite(pt) ? pt : null,
      ratio_vs_torch: Number.isFinite(pt) ? round(tf / pt, 3) : null,
      tfjs_tensorflow_samples_per_cpu_second: tfCpu,
      torch_samples_per_cpu_second: Number.isFinite(ptCpu) ? ptCpu : null,
      ratio_vs_torch_per_cpu_second: Number.isFinite(ptCpu) ? round(tfCpu / ptCpu, 3) : null,
      'hr@10_after_epochs': { tfjs: sides[0].tfjs[m]['hr@10'], epochs: ZOO_EPOCHS },
    };
    // The hybrid's PyTorch side also runs with sparse gradients and SparseAdam, the update Pulse's hybrid makes.
    const sparse = Math.max(...sides.map((rd) => rd.torch[m]?.sparse_adam?.samples_per_second ?? NaN).filter(Number.isFinite));
    if (Number.isFinite(sparse))
      Object.assign(zoo[m], { torch_sparse_adam_samples_per_second: sparse, ratio_vs_torch_sparse_adam: round(tf / sparse, 3) });
  }

  const best = (pick: (round: Json) => number | undefined) =>
    Math.max(...rounds.map(pick).filter((x): x is number => typeof x === 'number'));
  const perModel: Json = {};
  for (const m of models) {
    const tf = best((rd) => rd.tfjs.models[m]?.samples_per_second);
    const pt = torchAvailable ? best((rd) => rd.torch.models?.[m]?.samples_per_second) : NaN;
    const tfCpu = best((rd) => rd.tfjs.models[m]?.samples_per_cpu_second);
    const ptCpu = torchAvailable ? best((rd) => rd.torch.models?.[m]?.samples_per_cpu_second) : NaN;
    const bestRound = rounds.find((rd) => rd.tfjs.models[m]?.samples_per_second === tf) as Json;
    perModel[m] = {
      tfjs_tensorflow_samples_per_second: tf,
      torch_samples_per_second: Number.isFinite(pt) ? pt : null,
      ratio_vs_torch: Number.isFinite(pt) ? round(tf / pt, 3) : null,
      tfjs_tensorflow_samples_per_cpu_second: tfCpu,
      torch_samples_per_cpu_second: Number.isFinite(ptCpu) ? ptCpu : null,
      ratio_vs_torch_per_cpu_second: Number.isFinite(ptCpu) ? round(tfCpu / ptCpu, 3) : null,
      tfjs_ms_per_step: bestRound.tfjs.models[m].ms_per_step,
      torch_ms_per_step: Number.isFinite(pt)
        ? rounds.find((rd) => rd.torch.models?.[m]?.samples_per_second === pt)?.torch.models[m].ms_per_step
        : null,
      tfjs_wasm_samples_per_second: wasm.models[m]?.samples_per_second ?? null,
      layers_train_on_batch_samples_per_second: rounds[0].tfjs.models[m]?.layers_train_on_batch?.samples_per_second ?? null,
      'hr@10_after_epochs': {
        tfjs: bestRound.tfjs.models[m]['hr@10'],
        torch: rounds[0].torch.models?.[m]?.['hr@10'] ?? null,
        epochs: EPOCHS,
      },
      where_time_goes: bestRound.tfjs.models[m].where_time_goes,
    };
  }
  const neumfTorch = perModel['neumf']?.torch_samples_per_second;
  const last = rounds[rounds.length - 1];
  process.stdout.write(
    `${JSON.stringify({
      bench: 'recs-train',
      data: source,
      users: last.tfjs.users,
      items: last.tfjs.items,
      train_interactions: last.tfjs.train_interactions,
      batch_size: BATCH,
      epochs_per_run: EPOCHS,
      rounds: ROUNDS,
      backend: last.tfjs.backend,
      libtensorflow: last.tfjs.native_version,
      anchor: torchAvailable
        ? {
            name: 'pytorch',
            version: (last.torch as Json).version ?? null,
            threads: 1,
            error: (last.torch as Json).error,
            neumf_with_default_threads: torchTwoThreads,
          }
        : { name: 'pytorch', available: false, reason: 'torch venv missing: pip install torch failed or was not run (run.sh)' },
      models: perModel,
      zoo_models: zoo,
      goal_zoo_ratio: { target: 0.5, ...Object.fromEntries(Object.entries(zoo).map(([m, v]) => [m, (v as Json).ratio_vs_torch])) },
      goal_neumf_ratio_at_batch_256: {
        target: 0.5,
        wall: perModel['neumf']?.ratio_vs_torch ?? null,
        per_cpu_second: perModel['neumf']?.ratio_vs_torch_per_cpu_second ?? null,
      },
      neumf_batch_1024: {
        samples_per_second: big.models.neumf.samples_per_second,
        ratio_vs_torch_batch_256: neumfTorch ? round(big.models.neumf.samples_per_second / neumfTorch, 3) : null,
        'hr@10_after_epochs': big.models.neumf['hr@10'],
      },
      neumf_tensorflow_one_intra_op_thread: {
        samples_per_second: thread1.models.neumf.samples_per_second,
        samples_per_cpu_second: thread1.models.neumf.samples_per_cpu_second,
      },
      cpu_backend_neumf: { samples_per_second: cpu.models.neumf.samples_per_second, positives: CPU_POSITIVES },
      scoring: {
        neumf_all_items: last.tfjs.models.neumf?.score_all_items,
        neumf_10k_items: last.tfjs.neumf_score_10k_items,
        torch_neumf_all_items_p50_ms: (last.torch as Json).models?.neumf?.score_all_items_p50_ms ?? null,
        wasm_neumf_10k_items: wasm.neumf_score_10k_items,
      },
      per_round: rounds.map((rd) => ({
        torch: Object.fromEntries(Object.entries(rd.torch.models ?? {}).map(([k, v]) => [k, (v as Json).samples_per_second])),
        tfjs: Object.fromEntries(Object.entries(rd.tfjs.models).map(([k, v]) => [k, (v as Json).samples_per_second])),
      })),
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
