import type { RecsCliConfig } from '../config/recommender.config';
import type { FlagName, Values } from './cli-flags';

/** What a command's handler gets from the dispatcher. */
export interface CommandContext {
  /** The parsed flags (only those the command takes). */
  values: Values;
  /** The positional argument after the command; fails with the usage when it is missing. */
  arg(): string;
  /** A line on stderr. */
  log(line: string): void;
  /** The environment the command line reads (recsCliConfigSchema), loaded when first asked for. */
  config(): RecsCliConfig;
}

/** One entry of the command table: `recs <name> [arg] [flags]`. */
export interface Command {
  name: string;
  /** Its part of `recs --help`: the synopsis, then the description lines indented by four spaces. */
  usage: string[];
  /** The flags it takes (`--help` is always taken). */
  flags: readonly FlagName[];
  /** How the usage names the positional argument, e.g. `<source>`. */
  arg?: string;
  /** Loads TensorFlow.js and reports its backend before running. */
  tf?: boolean;
  /** Runs the command; resolves to the process's exit code. */
  run(ctx: CommandContext): Promise<number>;
}
