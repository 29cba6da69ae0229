import { prepare } from '../../eval/experiment';
import { profileTraining } from '../../eval/profile';
import { num, splitOptions, TRAINING_FLAGS, trainingSettings } from '../cli-flags';
import type { Command, CommandContext } from '../command';

async function profile({ values: v, arg }: CommandContext): Promise<number> {
  const data = await prepare(arg(), splitOptions(v));
  const result = await profileTraining(data, {
    models: (v.models ?? 'gmf,mlp,neumf').split(','),
    settings: { epochs: 1, ...trainingSettings(v) },
    maxSamples: num(v['max-samples'], 'max-samples'),
    layersSteps: num(v['layers-steps'], 'layers-steps') ?? 0,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

export const profileCommand: Command = {
  name: 'profile',
  usage: [
    'profile <source> [--models gmf,mlp,neumf] [--epochs 1] [--max-samples n] [--layers-steps 200]',
    "    training samples/s and where a step's time goes, scoring latency for all items; one JSON line",
  ],
  flags: ['models', 'max-samples', 'layers-steps', 'negatives', ...TRAINING_FLAGS],
  arg: '<source>',
  tf: true,
  run: profile,
};
