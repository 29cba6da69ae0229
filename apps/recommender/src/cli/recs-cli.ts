import { parseArgs } from 'node:util';
import { loadRecsCliConfig, type RecsCliConfig } from '../config/recommender.config';
import { type BackendChoice, describeBackend, loadTf } from '../tf/tf-backend';
import { FLAGS, type FlagName, TRAINING_FLAGS_HELP } from './cli-flags';
import type { Command } from './command';
import { compareCommand, evaluateCommand } from './commands/evaluate.command';
import { profileCommand } from './commands/profile.command';
import { modelsCommand, promoteCommand, rollbackCommand } from './commands/registry.commands';
import { searchCommand } from './commands/search.command';
import { splitCommand } from './commands/split.command';
import { syntheticCommand } from './commands/synthetic.command';
import { trainCommand } from './commands/train.command';

export { parseGrid } from './commands/search.command';

/** The commands of `recs`, in the order `recs --help` lists them: a new command is one more entry. */
const COMMANDS: readonly Command[] = [
  splitCommand,
  evaluateCommand,
  compareCommand,
  trainCommand,
  searchCommand,
  profileCommand,
  syntheticCommand,
  modelsCommand,
  promoteCommand,
  rollbackCommand,
];

const USAGE = [
  'usage: recs <command> [options]',
  '',
  ...COMMANDS.flatMap((c) => c.usage.map((line) => `  ${line}`)),
  '',
  TRAINING_FLAGS_HELP,
].join('\n');

/**
 * Runs `recs <command> [arg] [flags]`; resolves to the exit code. No command prints the usage (exit code 2),
 * `--help` prints it (0); an unknown command or a flag the command does not take fails with the usage.
 * `env` overrides the environment the commands read (recsCliConfigSchema).
 */
export async function main(argv: string[], env: Record<string, string | undefined> = {}): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true });
  const [name, arg] = positionals;
  if (values.help || !name) {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new Error(`unknown command "${name}"\n${USAGE}`);
  const unknown = Object.keys(values).find((flag) => !command.flags.includes(flag as FlagName));
  if (unknown) throw new Error(`${name}: unknown option --${unknown}\n${USAGE}`);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (command.tf) log(describeBackend(await loadTf((values.backend ?? 'auto') as BackendChoice)));
  let config: RecsCliConfig | undefined;
  return command.run({
    values,
    log,
    config: () => (config ??= loadRecsCliConfig(env)),
    arg: () => {
      if (!arg) throw new Error(`${name}: missing ${command.arg}\n${USAGE}`);
      return arg;
    },
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`recs: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
