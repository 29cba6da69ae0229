export type NcfKind = 'mf' | 'gmf' | 'mlp' | 'neumf';

/** Hyperparameters; the defaults are the NCF paper's (He et al. 2017, §4.1). */
export interface NcfConfig {
  kind: NcfKind;
  /** Predictive factors of GMF / MF. */
  factors: number;
  /** MLP tower: the first entry is the concatenated embedding width (half per side). */
  layers: number[];
  /** Sampled negatives per positive. */
  negatives: number;
  learningRate: number;
  batchSize: number;
  epochs: number;
  optimizer: 'adam' | 'sgd';
  /** L2 penalty on the embedding rows of a batch and on the dense weights. */
  l2: number;
  /** Dropout after each hidden MLP layer, in training only. */
  dropout: number;
  /** Standard deviation of the N(0, σ) embedding initialisation. */
  initStd: number;
  /** NeuMF: weight of the pre-trained GMF output against the MLP's (paper α = 0.5). */
  alpha: number;
  seed: number;
}

export const PAPER_DEFAULTS: Omit<NcfConfig, 'kind'> = {
  factors: 8,
  layers: [64, 32, 16, 8],
  negatives: 4,
  learningRate: 0.001,
  batchSize: 256,
  epochs: 20,
  optimizer: 'adam',
  l2: 0,
  dropout: 0,
  initStd: 0.01,
  alpha: 0.5,
  seed: 42,
};

export function ncfConfig(kind: NcfKind, overrides: Partial<NcfConfig> = {}): NcfConfig {
  const config = { ...PAPER_DEFAULTS, ...overrides, kind };
  if (config.layers.length < 2 || config.layers[0] % 2 !== 0) throw new RangeError('layers: at least two, the first even');
  if (!(config.batchSize >= 1 && config.negatives >= 0 && config.epochs >= 0 && config.learningRate > 0))
    throw new RangeError('bad training settings');
  return config;
}
