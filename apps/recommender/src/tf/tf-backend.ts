import type * as tfTypes from '@tensorflow/tfjs';

/** Which TensorFlow.js backend to run: the native one (tfjs-node), WebAssembly or plain JavaScript. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

export type Tf = typeof tfTypes;

export interface LoadedBackend {
  tf: Tf;
  backend: BackendName;
  /** TF_Version of the native library, when the backend is `tensorflow`. */
  nativeVersion?: string;
  /** Why a more preferred backend was not used (auto only). */
  fallbackReason?: string;
}

let loaded: LoadedBackend | undefined;

/**
 * Loads TensorFlow.js once per process. `auto` prefers the native backend of @tensorflow/tfjs-node
 * (tools/tfjs/install-native.sh builds it) and falls back to the pure-JS packages when its addon does
 * not load; see docs/decisions/0012-recommender-tfjs.md.
 */
export async function loadTf(choice: BackendChoice = 'auto', options: { intraOpThreads?: number } = {}): Promise<LoadedBackend> {
  if (loaded) {
    if (choice !== 'auto' && choice !== loaded.backend) {
      throw new Error(`TensorFlow.js already runs on backend ${loaded.backend}; cannot switch to ${choice} in one process`);
    }
    return loaded;
  }
  let fallbackReason: string | undefined;
  if (choice === 'auto' || choice === 'tensorflow') {
    try {
      loaded = loadNative(options.intraOpThreads ?? 0);
      return loaded;
    } catch (error) {
      if (choice === 'tensorflow') throw new Error(`the tensorflow backend (tfjs-node) does not load: ${message(error)}`);
      fallbackReason = `tfjs-node does not load: ${message(error)}`;
    }
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  let backend: BackendName = 'cpu';
  if (choice === 'auto' || choice === 'wasm') {
    try {
      require('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('setBackend(wasm) returned false');
      backend = 'wasm';
    } catch (error) {
      if (choice === 'wasm') throw new Error(`the wasm backend does not load: ${message(error)}`);
      fallbackReason = [fallbackReason, `wasm does not load: ${message(error)}`].filter(Boolean).join('; ');
    }
  }
  if (backend === 'cpu' && !(await tf.setBackend('cpu'))) throw new Error('the cpu backend does not load');
  await tf.ready();
  loaded = { tf, backend, fallbackReason };
  return loaded;
}

/** The backend loaded by `loadTf`; throws before it ran. */
export function tfLoaded(): LoadedBackend {
  if (!loaded) throw new Error('TensorFlow.js is not loaded yet (call loadTf first)');
  return loaded;
}

function loadNative(intraOpThreads: number): LoadedBackend {
  // tfjs-node 4.22 calls util.isNullOrUndefined, which Node 23 removed.
  const util = require('node:util') as { isNullOrUndefined?: (v: unknown) => boolean };
  if (typeof util.isNullOrUndefined !== 'function') {
    Object.defineProperty(util, 'isNullOrUndefined', {
      value: (v: unknown) => v === null || v === undefined,
      configurable: true,
      writable: true,
    });
  }
  // Small matrices are faster on TensorFlow's own kernels than through oneDNN's dispatch (measured: a
  // 256×64·64×32 matmul takes 47 µs with oneDNN, 12 µs without).
  process.env['TF_ENABLE_ONEDNN_OPTS'] ??= '0';
  // TensorFlow reads its intra-op pool size when the library loads; 0 keeps its default (a thread per core).
  // The service asks for one (RECS_TF_INTRAOP_THREADS); training keeps the default (tools/bench/recs-train
  // measures both).
  if (intraOpThreads > 0) process.env['TF_NUM_INTRAOP_THREADS'] = String(intraOpThreads);
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  const tf = require('@tensorflow/tfjs-node') as Tf;
  if (tf.getBackend() !== 'tensorflow') throw new Error(`tfjs-node loaded but the backend is ${tf.getBackend()}`);
  const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
  return { tf, backend: 'tensorflow', nativeVersion: binding?.TF_Version };
}

/** One line for logs: which backend runs and why. */
export function describeBackend(b: LoadedBackend): string {
  const version = b.nativeVersion ? ` (libtensorflow ${b.nativeVersion})` : '';
  const why = b.fallbackReason ? ` — fallback: ${b.fallbackReason}` : '';
  return `TensorFlow.js ${b.tf.version_core} on backend ${b.backend}${version}${why}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}
