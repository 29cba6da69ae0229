import { loadRecommenderConfig } from '../config/recommender.config';
import { parseTrainArgs } from './train-args';

describe('RECS_TRAIN_ARGS', () => {
  it('takes the model and training flags of recs train', () => {
    expect(parseTrainArgs(' --model gmf  --epochs 10 --half-life 7d --gate-margin 0.01 ')).toEqual([
      '--model',
      'gmf',
      '--epochs',
      '10',
      '--half-life',
      '7d',
      '--gate-margin',
      '0.01',
    ]);
  });

  it('refuses what is not a flag of recs train, what the schedule sets itself, --promote, and no --model', () => {
    expect(() => parseTrainArgs('--model gmf --grid x=1')).toThrow(/--grid is not a flag of recs train/);
    expect(() => parseTrainArgs('--model gmf --nope 1')).toThrow(/nope/);
    expect(() => parseTrainArgs('--model gmf --promote')).toThrow(/--promote would promote without the quality gate/);
    expect(() => parseTrainArgs('--model gmf --source files')).toThrow(/--source is set by the schedule/);
    expect(() => parseTrainArgs('--model gmf ratings.csv')).toThrow(/"ratings.csv" is not a --flag/);
    expect(() => parseTrainArgs('--epochs 3')).toThrow(/--model is required/);
  });

  it('is checked with the rest of the configuration, and the schedule is off by default', () => {
    expect(loadRecommenderConfig({ RECS_TRAIN_ARGS: undefined, RECS_TRAIN_INTERVAL: undefined })).toMatchObject({
      RECS_TRAIN_ARGS: ['--model', 'ials'],
      RECS_TRAIN_INTERVAL: 0,
      RECS_REGISTRY_POLL: 30_000,
    });
    expect(loadRecommenderConfig({ RECS_TRAIN_INTERVAL: '10m' }).RECS_TRAIN_INTERVAL).toBe(600_000);
    expect(() => loadRecommenderConfig({ RECS_TRAIN_ARGS: '--model gmf --promote' })).toThrow(/RECS_TRAIN_ARGS: --promote/);
    expect(() => loadRecommenderConfig({ RECS_TRAIN_INTERVAL: 'often' })).toThrow(/RECS_TRAIN_INTERVAL: expected 0 \(off\)/);
  });
});
