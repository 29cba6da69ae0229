import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateSampled } from '../eval/metrics';
import { foldInUser, scoreAllItems, solve } from '../live/fold-in';
import { syntheticLeaveOneOut, syntheticRatingsCsv } from '../testing/synthetic';
import { loadTf, type Tf } from '../tf/tf-backend';
import { BprModel } from './bpr.model';
import { EaseModel } from './ease.model';
import { gramian, IalsModel, transpose } from './ials.model';
import { ItemPopModel } from './item-pop.model';
import { loadModel } from './model-factory';
import { invertSpd, invertSpdSmall } from './spd-inverse';

jest.setTimeout(60_000);

let tf: Tf;
const dir = mkdtempSync(join(tmpdir(), 'recs-baselines-'));

const syntheticSplit = () => syntheticLeaveOneOut(dir, syntheticRatingsCsv({ users: 120, items: 240, perUser: 20 }));

beforeAll(async () => {
  tf = (await loadTf('auto')).tf;
});

/** A random symmetric positive definite matrix of size n (row-major). */
function randomSpd(n: number, seed: number): Float64Array {
  const x = tf.randomNormal([n, n], 0, 1, 'float32', seed);
  const a = tf.add(tf.matMul(x, x, true, false), tf.mul(tf.eye(n), n));
  const out = Float64Array.from(a.dataSync());
  tf.dispose([x, a]);
  return out;
}

describe('the SPD inverse behind EASE', () => {
  it('inverts by Cholesky and by block recursion on the Schur complement alike (A·A⁻¹ = I)', () => {
    const n = 500; // above the leaf size: one level of recursion
    const a = randomSpd(n, 3);
    const recursive = invertSpd(tf.tensor2d(Float32Array.from(a), [n, n]));
    const product = tf.matMul(tf.tensor2d(Float32Array.from(a), [n, n]), recursive).dataSync();
    for (let i = 0; i < n; i += 37) for (let j = 0; j < n; j += 41) expect(product[i * n + j]).toBeCloseTo(i === j ? 1 : 0, 3);
    // Made exactly symmetric from its lower triangle (what invertSpdSmall reads): a float32 XᵀX may differ from its
    // transpose by a rounding, depending on the backend's summation order.
    const again = randomSpd(20, 4);
    for (let i = 0; i < 20; i++) for (let j = 0; j < i; j++) again[j * 20 + i] = again[i * 20 + j];
    const small = invertSpdSmall(again, 20);
    for (let i = 0; i < 20; i++) {
      let s = 0;
      for (let k = 0; k < 20; k++) s += again[i * 20 + k] * small[k * 20 + i];
      expect(s).toBeCloseTo(1, 8);
    }
    recursive.dispose();
  });
});

describe('EASE^R', () => {
  it('B is the closed form: zero diagonal, and ((XᵀX + λI)B − XᵀX) vanishes off the diagonal', async () => {
    const { data } = await syntheticSplit();
    const model = new EaseModel({ l2: 50 });
    await model.fit(data);
    // G = XᵀX from the training data.
    const n = data.numItems;
    const g = new Float64Array(n * n);
    for (let u = 0; u < data.numUsers; u++) {
      const mine = data.byUser.items.subarray(data.byUser.offsets[u], data.byUser.offsets[u + 1]);
      for (const i of mine) for (const j of mine) g[i * n + j] += 1;
    }
    // Column j of B is scoreItems([i]) read at j for every row i; check a few columns.
    const rows = Array.from({ length: n }, (_, i) => model.scoreItems([i]));
    for (const j of [0, 17, 101, 230]) {
      expect(rows[j][j]).toBe(0);
      for (const i of [1, 40, 99, 200]) {
        if (i === j) continue;
        let lhs = 0;
        for (let k = 0; k < n; k++) lhs += (g[i * n + k] + (i === k ? 50 : 0)) * rows[k][j];
        expect(lhs - g[i * n + j]).toBeCloseTo(0, 2);
      }
    }
  });

  it('beats ItemPop and gives the same scores after a save and load through the model loader', async () => {
    const { split, data } = await syntheticSplit();
    const pop = new ItemPopModel();
    await pop.fit(data);
    const model = new EaseModel();
    await model.fit(data);
    const hr = evaluateSampled(model, split).hr;
    expect(hr).toBeGreaterThan(evaluateSampled(pop, split).hr + 0.1);
    await model.save(join(dir, 'ease'));
    const loaded = await loadModel(join(dir, 'ease'), 'ease');
    expect(Array.from(loaded.scoreUser(5))).toEqual(Array.from(model.scoreUser(5)));
    expect(evaluateSampled(loaded, split).hr).toBe(hr);
  });
});

describe('iALS (Rendle et al. 2022)', () => {
  it('a row solved by conjugate gradient equals the exact least-squares solution of its normal equations', () => {
    const d = 8;
    const model = new IalsModel({ factors: d, unobservedWeight: 0.3, l2: 0.05, cgSteps: d });
    const fixed = Float32Array.from({ length: 30 * d }, (_, k) => Math.sin(k * 1.7));
    const cols = [1, 4, 9, 16, 25];
    const gram = gramian(fixed, 30, d);
    const cg = model.solveRow(gram, fixed, cols, 30, new Float64Array(d));
    // The normal equations written out: (Σ f_c f_cᵀ + α₀ FᵀF + λ(|cols| + α₀·30) I) x = Σ f_c.
    const a = new Float64Array(d * d);
    const b = new Float64Array(d);
    const reg = 0.05 * (cols.length + 0.3 * 30);
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) a[r * d + c] = 0.3 * gram[r * d + c] + (r === c ? reg : 0);
    for (const col of cols)
      for (let r = 0; r < d; r++) {
        b[r] += fixed[col * d + r];
        for (let c = 0; c < d; c++) a[r * d + c] += fixed[col * d + r] * fixed[col * d + c];
      }
    const exact = solve(a, b, d);
    cg.forEach((x, j) => expect(x).toBeCloseTo(exact[j], 6));
    const cholesky = new IalsModel({ factors: d, unobservedWeight: 0.3, l2: 0.05, solver: 'cholesky' }).solveRow(
      gram,
      fixed,
      cols,
      30,
      new Float64Array(d),
    );
    cholesky.forEach((x, j) => expect(x).toBeCloseTo(exact[j], 8));
  });

  it('lowers its objective every epoch, beats ItemPop, folds in a user like its own scores, and round-trips', async () => {
    const { split, data } = await syntheticSplit();
    const model = new IalsModel({ factors: 16, epochs: 6 });
    const fit = await model.fit(data);
    for (let e = 1; e < fit.losses.length; e++) expect(fit.losses[e]).toBeLessThanOrEqual(fit.losses[e - 1] + 1e-9);
    const pop = new ItemPopModel();
    await pop.fit(data);
    expect(evaluateSampled(model, split).hr).toBeGreaterThan(evaluateSampled(pop, split).hr + 0.1);
    const factors = model.linearFactors();
    const own = model.scoreUser(7);
    const viaFactors = scoreAllItems(factors, factors.userVector(7));
    [0, 50, 199].forEach((i) => expect(viaFactors[i]).toBeCloseTo(own[i], 5));
    // Folding in a new user from a cluster's items ranks that cluster first.
    const folded = scoreAllItems(
      factors,
      foldInUser(
        factors,
        [40, 41, 42, 45].map((item) => ({ item, target: 1, weight: 1 })),
        0.1,
      ),
    );
    const top = Array.from(folded.keys())
      .sort((a, b) => folded[b] - folded[a])
      .slice(0, 10);
    expect(top.filter((i) => i >= 40 && i < 80).length).toBeGreaterThanOrEqual(6);
    await model.save(join(dir, 'ials'));
    const loaded = await loadModel(join(dir, 'ials'), 'ials');
    expect(Array.from(loaded.scoreUser(7))).toEqual(Array.from(own));
    expect(transpose(data.byUser, data.numItems).items.length).toBe(data.byUser.items.length);
  });
});

describe('BPR-MF', () => {
  it('its gradients equal finite differences of −ln σ(s_ui − s_uj)', () => {
    const model = new BprModel({ factors: 4 });
    model.initialize(3, 5);
    model.biases.set([0.1, -0.2, 0.3, 0, 0.05]);
    const [u, i, j] = [1, 2, 4];
    const g = model.gradients(u, i, j);
    const loss = () => {
      const x = model.score(u, i) - model.score(u, j);
      return Math.log1p(Math.exp(-x));
    };
    expect(g.loss).toBeCloseTo(loss(), 10);
    const h = 1e-3;
    const numeric = (array: Float32Array, at: number) => {
      const keep = array[at];
      array[at] = keep + h;
      const up = loss();
      array[at] = keep - h;
      const down = loss();
      array[at] = keep;
      return (up - down) / (2 * h);
    };
    for (let f = 0; f < 4; f++) {
      expect(g.user[f]).toBeCloseTo(numeric(model.users, u * 4 + f), 4);
      expect(g.pos[f]).toBeCloseTo(numeric(model.items, i * 4 + f), 4);
      expect(g.neg[f]).toBeCloseTo(numeric(model.items, j * 4 + f), 4);
    }
    expect(g.posBias).toBeCloseTo(numeric(model.biases, i), 4);
    expect(g.negBias).toBeCloseTo(numeric(model.biases, j), 4);
  });

  it('beats ItemPop, has linear factors equal to its scores, and round-trips', async () => {
    const { split, data } = await syntheticSplit();
    const model = new BprModel({ factors: 16, epochs: 15 });
    const fit = await model.fit(data);
    expect(fit.losses[fit.losses.length - 1]).toBeLessThan(fit.losses[0]);
    const pop = new ItemPopModel();
    await pop.fit(data);
    expect(evaluateSampled(model, split).hr).toBeGreaterThan(evaluateSampled(pop, split).hr + 0.1);
    const factors = model.linearFactors();
    const own = model.scoreUser(3);
    const viaFactors = scoreAllItems(factors, factors.userVector(3));
    [0, 13, 200].forEach((i) => expect(viaFactors[i]).toBeCloseTo(own[i], 4));
    await model.save(join(dir, 'bpr'));
    const loaded = await loadModel(join(dir, 'bpr'), 'bpr');
    expect(Array.from(loaded.scoreUser(3))).toEqual(Array.from(own));
  });
});
