import { join } from 'node:path';
import { Rng } from '@pulse/platform';
import type { UserItems } from '../data/interactions';
import { type LinearFactors, solve } from '../live/fold-in';
import { dotScores } from './dot-scores';
import type { EpochReport, FitHooks, FitResult, Recommender, TrainingData } from './model';
import { readFloat32, readJson, scorePairsByUser, topScored, writeArray, writeJson } from './model-files';

export interface IalsConfig {
  factors: number;
  /** λ of the frequency-scaled L2 penalty. */
  l2: number;
  /** α₀: the weight of every unobserved (user, item) pair, pushed towards 0. */
  unobservedWeight: number;
  /** ν: the exponent of the regularisation's frequency scaling (1 in Rendle et al. 2022, 0: plain λ). */
  regExponent: number;
  epochs: number;
  /** Standard deviation of the initial vectors, divided by √factors. */
  initStd: number;
  /** Per-row solver: conjugate gradient (warm-started, `cgSteps` steps) or an exact Cholesky solve. */
  solver: 'cg' | 'cholesky';
  cgSteps: number;
  seed: number;
}

/** Chosen by `recs search` on the validation hold-out of ml-latest-small (docs/decisions/0017-recommender-model-zoo.md). */
export const IALS_DEFAULTS: IalsConfig = {
  factors: 64,
  l2: 0.005,
  unobservedWeight: 0.3,
  regExponent: 1,
  epochs: 16,
  initStd: 0.1,
  solver: 'cg',
  cgSteps: 6,
  seed: 42,
};

/**
 * iALS as "Revisiting the Performance of iALS on Item Recommendation Benchmarks" (Rendle, Krichene, Zhang &
 * Koren 2022) sets it up: minimise Σ_{(u,i) observed} (⟨w_u, h_i⟩ − 1)² + α₀ Σ_{u,i} ⟨w_u, h_i⟩²
 * + λ (Σ_u (|I_u| + α₀|I|)^ν ‖w_u‖² + Σ_i (|U_i| + α₀|U|)^ν ‖h_i‖²), alternating exact least squares for users
 * and for items. The all-pairs term costs one d×d Gramian per half-step (α₀ HᵀH), so a row's system is
 * Σ_{i∈I_u} h_i h_iᵀ + α₀ HᵀH + λ_u I, solved by a few warm-started conjugate-gradient steps (as implicit and
 * the paper's code do) or exactly by Cholesky. Scores ⟨w_u, h_i⟩ are linear in the user's vector, so serving
 * can fold a user's recent actions in (`linearFactors`).
 */
export class IalsModel implements Recommender {
  readonly name = 'ials' as const;
  readonly config: IalsConfig;
  numUsers = 0;
  numItems = 0;
  users: Float32Array = new Float32Array(0);
  items: Float32Array = new Float32Array(0);
  private linear?: LinearFactors;

  constructor(config: Partial<IalsConfig> = {}) {
    this.config = { ...IALS_DEFAULTS, ...config };
  }

  initialize(numUsers: number, numItems: number): void {
    const { factors: d, initStd, seed } = this.config;
    const rng = new Rng(seed);
    const scale = initStd / Math.sqrt(d);
    this.numUsers = numUsers;
    this.numItems = numItems;
    this.users = Float32Array.from({ length: numUsers * d }, () => rng.normal() * scale);
    this.items = Float32Array.from({ length: numItems * d }, () => rng.normal() * scale);
    this.linear = undefined;
  }

  async fit(data: TrainingData, hooks: FitHooks = {}): Promise<FitResult> {
    this.initialize(data.numUsers, data.numItems);
    const byItem = transpose(data.byUser, data.numItems);
    const losses: number[] = [];
    let seconds = 0;
    for (let epoch = 1; epoch <= this.config.epochs; epoch++) {
      const started = performance.now();
      this.halfStep(this.users, this.items, data.byUser, data.numItems);
      this.halfStep(this.items, this.users, byItem, data.numUsers);
      const loss = this.loss(data.byUser);
      const epochSeconds = (performance.now() - started) / 1000;
      seconds += epochSeconds;
      losses.push(loss);
      this.linear = undefined;
      const report: EpochReport = { epoch, epochs: this.config.epochs, loss, samples: data.users.length, seconds: epochSeconds };
      hooks.onBatch?.(epoch, 1, 1, loss);
      await hooks.onEpoch?.(report);
    }
    // Least squares over all pairs: not a count of sampled examples; samples/s is not comparable.
    return { epochs: this.config.epochs, samples: data.users.length * this.config.epochs, seconds, samplesPerSecond: 0, losses };
  }

  /** Solves every row of `target` with `fixed` held: row r's observed columns are `csr`'s list of r. */
  private halfStep(target: Float32Array, fixed: Float32Array, csr: UserItems, numFixed: number): void {
    const d = this.config.factors;
    const gram = gramian(fixed, numFixed, d);
    const rows = csr.offsets.length - 1;
    for (let r = 0; r < rows; r++) {
      const cols = csr.items.subarray(csr.offsets[r], csr.offsets[r + 1]);
      const x = this.solveRow(gram, fixed, cols, numFixed, Float64Array.from(target.subarray(r * d, (r + 1) * d)));
      for (let j = 0; j < d; j++) target[r * d + j] = x[j];
    }
  }

  /** λ_r = λ (|cols| + α₀ · numFixed)^ν. */
  regularisation(count: number, numFixed: number): number {
    const { l2, unobservedWeight, regExponent } = this.config;
    return l2 * Math.pow(count + unobservedWeight * numFixed, regExponent);
  }

  /**
   * The row vector x minimising Σ_{c∈cols} (⟨x, f_c⟩ − 1)² + α₀ xᵀ(FᵀF)x + λ_r‖x‖²: the solution of
   * (Σ f_c f_cᵀ + α₀ FᵀF + λ_r I) x = Σ f_c. `start` is the current vector (CG starts from it).
   */
  solveRow(gram: Float64Array, fixed: Float32Array, cols: ArrayLike<number>, numFixed: number, start: Float64Array): Float64Array {
    const d = this.config.factors;
    const alpha = this.config.unobservedWeight;
    const reg = this.regularisation(cols.length, numFixed);
    const b = new Float64Array(d);
    for (let p = 0; p < cols.length; p++) {
      const o = cols[p] * d;
      for (let j = 0; j < d; j++) b[j] += fixed[o + j];
    }
    if (this.config.solver === 'cholesky') {
      const a = new Float64Array(d * d);
      for (let k = 0; k < d * d; k++) a[k] = alpha * gram[k];
      for (let j = 0; j < d; j++) a[j * d + j] += reg;
      for (let p = 0; p < cols.length; p++) {
        const o = cols[p] * d;
        for (let r = 0; r < d; r++) {
          const fr = fixed[o + r];
          for (let c = 0; c < d; c++) a[r * d + c] += fr * fixed[o + c];
        }
      }
      return solve(a, b, d);
    }
    // A·v without forming A: Σ f_c (f_c·v) + α₀ G v + λ_r v.
    const times = (v: Float64Array, out: Float64Array) => {
      for (let r = 0; r < d; r++) {
        let s = reg * v[r];
        const g = r * d;
        for (let c = 0; c < d; c++) s += alpha * gram[g + c] * v[c];
        out[r] = s;
      }
      for (let p = 0; p < cols.length; p++) {
        const o = cols[p] * d;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += fixed[o + j] * v[j];
        for (let j = 0; j < d; j++) out[j] += fixed[o + j] * dot;
      }
    };
    const x = start;
    const ax = new Float64Array(d);
    times(x, ax);
    const res = new Float64Array(d);
    for (let j = 0; j < d; j++) res[j] = b[j] - ax[j];
    const dir = Float64Array.from(res);
    let rr = dot64(res, res);
    const ap = new Float64Array(d);
    for (let step = 0; step < this.config.cgSteps && rr > 1e-20; step++) {
      times(dir, ap);
      const a = rr / dot64(dir, ap);
      for (let j = 0; j < d; j++) {
        x[j] += a * dir[j];
        res[j] -= a * ap[j];
      }
      const next = dot64(res, res);
      const beta = next / rr;
      rr = next;
      for (let j = 0; j < d; j++) dir[j] = res[j] + beta * dir[j];
    }
    return x;
  }

  /** The training objective divided by the number of observed pairs. */
  private loss(byUser: UserItems): number {
    const d = this.config.factors;
    const { unobservedWeight: alpha } = this.config;
    let observed = 0;
    let count = 0;
    for (let u = 0; u + 1 < byUser.offsets.length; u++) {
      for (let p = byUser.offsets[u]; p < byUser.offsets[u + 1]; p++) {
        const s = dot32(this.users, u * d, this.items, byUser.items[p] * d, d);
        observed += (s - 1) ** 2;
        count++;
      }
    }
    // Σ_{u,i} s² = trace(WᵀW · HᵀH).
    const gu = gramian(this.users, this.numUsers, d);
    const gi = gramian(this.items, this.numItems, d);
    let all = 0;
    for (let k = 0; k < d * d; k++) all += gu[k] * gi[k];
    let reg = 0;
    const itemCounts = new Int32Array(this.numItems);
    for (const i of byUser.items) itemCounts[i]++;
    for (let u = 0; u < this.numUsers; u++)
      reg += this.regularisation(byUser.offsets[u + 1] - byUser.offsets[u], this.numItems) * dot32(this.users, u * d, this.users, u * d, d);
    for (let i = 0; i < this.numItems; i++)
      reg += this.regularisation(itemCounts[i], this.numUsers) * dot32(this.items, i * d, this.items, i * d, d);
    return (observed + alpha * all + reg) / Math.max(count, 1);
  }

  scoreUser(user: number): Float32Array {
    const d = this.config.factors;
    const out = new Float32Array(this.numItems);
    if (user < 0 || user >= this.numUsers) return out;
    return dotScores(this.items, this.numItems, d, this.users, user * d, 0, out);
  }

  scorePairs(users: Int32Array, items: Int32Array): Float32Array {
    return scorePairsByUser((u) => this.scoreUser(u), users, items);
  }

  linearFactors(): LinearFactors {
    const d = this.config.factors;
    this.linear ??= {
      dim: d,
      numItems: this.numItems,
      itemVectors: this.items,
      bias: 0,
      userVector: (user) => this.users.slice(user * d, (user + 1) * d),
    };
    return this.linear;
  }

  /** Cosine similarity of item vectors. */
  similarItems(item: number, k: number): { items: Int32Array; scores: Float32Array } {
    return topScored(cosineToAll(this.items, this.numItems, this.config.factors, item), k, item);
  }

  async save(dir: string): Promise<void> {
    writeJson(dir, 'ials', { config: this.config, numUsers: this.numUsers, numItems: this.numItems });
    writeArray(join(dir, 'ials.users.bin'), this.users);
    writeArray(join(dir, 'ials.items.bin'), this.items);
  }

  static load(dir: string): IalsModel {
    const meta = readJson<{ config: IalsConfig; numUsers: number; numItems: number }>(dir, 'ials');
    const model = new IalsModel(meta.config);
    model.numUsers = meta.numUsers;
    model.numItems = meta.numItems;
    model.users = readFloat32(join(dir, 'ials.users.bin'));
    model.items = readFloat32(join(dir, 'ials.items.bin'));
    return model;
  }

  dispose(): void {
    // Plain arrays only: nothing to release.
  }
}

/** Which rows of a CSR list each column (users per item from items per user). */
export function transpose(csr: UserItems, numCols: number): UserItems {
  const offsets = new Int32Array(numCols + 1);
  for (const c of csr.items) offsets[c + 1]++;
  for (let c = 0; c < numCols; c++) offsets[c + 1] += offsets[c];
  const fill = offsets.slice(0, numCols);
  const items = new Int32Array(csr.items.length);
  for (let r = 0; r + 1 < csr.offsets.length; r++)
    for (let p = csr.offsets[r]; p < csr.offsets[r + 1]; p++) items[fill[csr.items[p]]++] = r;
  return { offsets, items };
}

/** FᵀF of `rows` vectors of dimension d (row-major), in float64. */
export function gramian(f: Float32Array, rows: number, d: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    for (let a = 0; a < d; a++) {
      const fa = f[o + a];
      if (fa === 0) continue;
      const ga = a * d;
      for (let b = a; b < d; b++) g[ga + b] += fa * f[o + b];
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) g[a * d + b] = g[b * d + a];
  return g;
}

function dot64(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

function dot32(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[ao + j] * b[bo + j];
  return s;
}

/** Cosine of row `item` of `vectors` ([rows × d]) with every row. */
export function cosineToAll(vectors: Float32Array, rows: number, d: number, item: number): Float32Array {
  const out = new Float32Array(rows);
  const norm = (r: number) => Math.sqrt(dot32(vectors, r * d, vectors, r * d, d)) || 1;
  const own = norm(item);
  for (let r = 0; r < rows; r++) out[r] = dot32(vectors, r * d, vectors, item * d, d) / (own * norm(r));
  return out;
}
