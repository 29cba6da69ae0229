import { ModelRegistry } from '../../registry/model-registry';
import type { Command, CommandContext } from '../command';
import { announcePromotion } from '../promotion-notice';

/** The registry directory: `--models-dir`, by default RECS_MODELS_DIR (tmp/models). */
export function modelsDir({ values: v, config }: Pick<CommandContext, 'values' | 'config'>): string {
  return v['models-dir'] ?? config().RECS_MODELS_DIR;
}

async function models(ctx: CommandContext): Promise<number> {
  const registry = new ModelRegistry(modelsDir(ctx));
  const promoted = registry.state().promoted;
  for (const r of registry.list()) {
    const gate = r.gate ? `  gate ${r.gate.outcome}: ${r.gate.reason}` : '';
    process.stdout.write(`${r.version === promoted ? '*' : ' '} ${r.version}  ${r.algorithm}  ${JSON.stringify(r.metrics)}${gate}\n`);
  }
  return 0;
}

async function promote(ctx: CommandContext): Promise<number> {
  const reason = ctx.values.reason ?? '';
  const { record, previous, at } = new ModelRegistry(modelsDir(ctx)).promote(ctx.arg(), reason);
  ctx.log(`promoted ${record.version}${previous ? ` (was ${previous})` : ''}`);
  if (previous !== record.version) {
    await announcePromotion(ctx.config().KAFKA_BROKERS, { version: record.version, previous, rollback: false, reason, at }, ctx.log);
  }
  return 0;
}

async function rollback(ctx: CommandContext): Promise<number> {
  const reason = ctx.values.reason ?? '';
  const { record, rolledBack, at } = new ModelRegistry(modelsDir(ctx)).rollback(reason);
  ctx.log(`rolled back ${rolledBack}; serving ${record.version}`);
  await announcePromotion(
    ctx.config().KAFKA_BROKERS,
    { version: record.version, previous: rolledBack, rollback: true, reason, at },
    ctx.log,
  );
  return 0;
}

export const modelsCommand: Command = {
  name: 'models',
  usage: ["models [--models-dir dir]       list registered versions, newest first, with the gate's decision"],
  flags: ['models-dir'],
  run: models,
};

export const promoteCommand: Command = {
  name: 'promote',
  usage: [
    'promote <version> [--reason text] [--models-dir dir]',
    '    serve <version>; ModelPromoted on pulse.recs.model.v1 (KAFKA_BROKERS) makes every replica reload at once',
  ],
  flags: ['reason', 'models-dir'],
  arg: '<version>',
  run: promote,
};

export const rollbackCommand: Command = {
  name: 'rollback',
  usage: ['rollback [--reason text] [--models-dir dir]    serve the version promoted before, announced like promote'],
  flags: ['reason', 'models-dir'],
  run: rollback,
};
