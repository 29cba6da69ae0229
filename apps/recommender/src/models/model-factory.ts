import { BPR_DEFAULTS, type BprConfig, BprModel } from './bpr.model';
import { type ContentConfig, ContentModel } from './content.model';
import { EASE_DEFAULTS, type EaseConfig, EaseModel } from './ease.model';
import { ENSEMBLE_DEFAULTS, type EnsembleConfig, EnsembleModel, type MemberFactory } from './ensemble.model';
import { HYBRID_DEFAULTS, type HybridConfig, HybridModel } from './hybrid.model';
import { IALS_DEFAULTS, type IalsConfig, IalsModel } from './ials.model';
import { ItemKnnModel } from './item-knn.model';
import { ItemPopModel } from './item-pop.model';
import type { ModelName, Recommender } from './model';
import { type NcfConfig, ncfConfig, NcfModel, PAPER_DEFAULTS } from './ncf.model';
import { loadNcfModel } from './ncf.tfjs-format';
import { SASREC_DEFAULTS, type SasRecConfig, SasRecModel } from './sasrec.model';

/**
 * Every model's settings in one flat record: a key means the same thing to every model that has it
 * (`factors`, `l2`, `learningRate`, `epochs`, `seed`, …), and each model takes the keys it knows.
 */
export type ModelSettings = Partial<NcfConfig> &
  Partial<EaseConfig> &
  Partial<IalsConfig> &
  Partial<BprConfig> &
  Partial<Omit<HybridConfig, 'itemText'>> &
  Partial<SasRecConfig> &
  Partial<Omit<EnsembleConfig, 'members'>> &
  ContentConfig & { members?: string };

/** Each model's defaults: what `recs search --grid` may vary and what a version records as its hyperparameters. */
export const MODEL_DEFAULTS: Record<ModelName, object> = {
  itempop: {},
  itemknn: {},
  mf: { ...PAPER_DEFAULTS, kind: 'mf' },
  gmf: { ...PAPER_DEFAULTS, kind: 'gmf' },
  mlp: { ...PAPER_DEFAULTS, kind: 'mlp' },
  neumf: { ...PAPER_DEFAULTS, kind: 'neumf' },
  ease: EASE_DEFAULTS,
  ials: IALS_DEFAULTS,
  bpr: BPR_DEFAULTS,
  content: { itemText: undefined },
  hybrid: HYBRID_DEFAULTS,
  sasrec: SASREC_DEFAULTS,
  ensemble: ENSEMBLE_DEFAULTS,
};

/** The keys of `settings` that `defaults` has. */
function pick<T extends object>(settings: ModelSettings, defaults: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) if (key in defaults && value !== undefined) out[key] = value;
  return out as Partial<T>;
}

/** An untrained model of `name` with `settings` (its own defaults for what they leave out). */
export function createModel(name: ModelName, settings: ModelSettings = {}): Recommender {
  switch (name) {
    case 'itempop':
      return new ItemPopModel();
    case 'itemknn':
      return new ItemKnnModel();
    case 'mf':
    case 'gmf':
    case 'mlp':
    case 'neumf':
      return new NcfModel(ncfConfig(name, pick(settings, PAPER_DEFAULTS)));
    case 'ease':
      return new EaseModel(pick(settings, EASE_DEFAULTS));
    case 'ials':
      return new IalsModel(pick(settings, IALS_DEFAULTS));
    case 'bpr':
      return new BprModel(pick(settings, BPR_DEFAULTS));
    case 'content':
      return new ContentModel({ itemText: settings.itemText });
    case 'hybrid':
      return new HybridModel({ ...pick(settings, HYBRID_DEFAULTS), itemText: settings.itemText });
    case 'sasrec':
      return new SasRecModel(pick(settings, SASREC_DEFAULTS));
    case 'ensemble':
      // Members take the same settings (e.g. --epochs), each the keys it knows.
      return new EnsembleModel(pick(settings, ENSEMBLE_DEFAULTS), memberFactory(settings));
  }
}

function memberFactory(settings: ModelSettings): MemberFactory {
  return {
    create: (name) => {
      if (name === 'ensemble') throw new Error('ensemble: a member cannot be an ensemble');
      return createModel(name, settings);
    },
    load: (dir, name) => loadModel(dir, name),
  };
}

/** Loads a model that `save` wrote into `dir`. */
export async function loadModel(dir: string, algorithm: ModelName): Promise<Recommender> {
  switch (algorithm) {
    case 'itempop':
      return ItemPopModel.load(dir);
    case 'itemknn':
      return ItemKnnModel.load(dir);
    case 'ease':
      return EaseModel.load(dir);
    case 'ials':
      return IalsModel.load(dir);
    case 'bpr':
      return BprModel.load(dir);
    case 'content':
      return ContentModel.load(dir);
    case 'hybrid':
      return HybridModel.load(dir);
    case 'sasrec':
      return SasRecModel.load(dir);
    case 'ensemble':
      return EnsembleModel.load(dir, memberFactory({}));
    default:
      return loadNcfModel(dir);
  }
}

/** The hyperparameters a model was built with, for the registry's record. */
export function hyperparametersOf(model: Recommender): Record<string, unknown> {
  const config = (model as { config?: object }).config;
  return config ? { ...config } : {};
}
