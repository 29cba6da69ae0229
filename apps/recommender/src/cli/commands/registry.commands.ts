import { ModelRegistry } from '../../registry/model-registry';
import type { Values } from '../cli-flags';
import type { Command, CommandContext } from '../command';

/** The registry directory: `--models-dir`, by default tmp/models. */
export function modelsDir(v: Values): string {
  return v['models-dir'] ?? 'tmp/models';
}

async function models({ values: v }: CommandContext): Promise<number> {
  const registry = new ModelRegistry(modelsDir(v));
  const promoted = registry.state().promoted;
  for (const r of registry.list())
    process.stdout.write(`${r.version === promoted ? '*' : ' '} ${r.version}  ${r.algorithm}  ${JSON.stringify(r.metrics)}\n`);
  return 0;
}

async function promote({ values: v, arg, log }: CommandContext): Promise<number> {
  const { record, previous } = new ModelRegistry(modelsDir(v)).promote(arg(), v.reason ?? '');
  log(`promoted ${record.version}${previous ? ` (was ${previous})` : ''}`);
  return 0;
}

async function rollback({ values: v, log }: CommandContext): Promise<number> {
  const { record, rolledBack } = new ModelRegistry(modelsDir(v)).rollback(v.reason ?? '');
  log(`rolled back ${rolledBack}; serving ${record.version}`);
  return 0;
}

export const modelsCommand: Command = {
  name: 'models',
  usage: ['models [--models-dir dir]       list registered versions, newest first'],
  flags: ['models-dir'],
  run: models,
};

export const promoteCommand: Command = {
  name: 'promote',
  usage: ['promote <version> [--reason text] [--models-dir dir]'],
  flags: ['reason', 'models-dir'],
  arg: '<version>',
  run: promote,
};

export const rollbackCommand: Command = {
  name: 'rollback',
  usage: ['rollback [--reason text] [--models-dir dir]'],
  flags: ['reason', 'models-dir'],
  run: rollback,
};
