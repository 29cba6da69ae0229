import type { Interactions } from '../data/interactions';
import type { ModelSettings } from '../models/model-factory';
import { coldStartSplit } from './cold-start';
import type { ColdStartResult, ModelSpec } from './experiment';
import { specLabel, trainModel } from './experiment';
import { evaluateSampled } from './metrics';

/** A reference figure on the cold-start hold-out that is not a model of the run. */
export interface ColdStartBaseline extends ColdStartResult {
  model: string;
  note: string;
}

/**
 * Trains `specs` on the data less the held-out items (coldStartSplit) and scores each user's held-out item
 * among 99 other held-out items. Beside them: the popularity of the held-out items in the held-out
 * interactions themselves — an oracle, since serving has no counts for an item nobody has seen yet.
 */
export async function runColdStart(
  data: Interactions,
  specs: ModelSpec[],
  settings: ModelSettings,
  seed = 42,
): Promise<{ byModel: Map<string, ColdStartResult>; baselines: ColdStartBaseline[] }> {
  const split = coldStartSplit(data, { seed });
  const byModel = new Map<string, ColdStartResult>();
  for (const spec of specs) {
    const { model } = await trainModel(spec, split.trainData, {}, settings);
    const m = evaluateSampled(model, split);
    byModel.set(specLabel(spec), { users: m.users, hr: m.hr, ndcg: m.ndcg });
    model.dispose();
  }
  const oracle = evaluateSampled(
    {
      scorePairs: (_users: Int32Array, items: Int32Array) => Float32Array.from(items, (i) => split.heldOutCounts[i]),
    } as never,
    split,
  );
  return {
    byModel,
    baselines: [
      {
        model: 'popularity-oracle',
        users: oracle.users,
        hr: oracle.hr,
        ndcg: oracle.ndcg,
        note: 'counts of the held-out interactions themselves, which serving does not have for a new item',
      },
    ],
  };
}
