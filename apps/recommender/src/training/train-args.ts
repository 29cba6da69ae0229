import { parseArgs } from 'node:util';
import { FLAGS, TRAIN_FLAGS } from '../cli/cli-flags';

/** Flags a scheduled run sets itself. */
const RESERVED = new Set(['source', 'gate', 'json', 'help']);

/**
 * The `recs train` flags of RECS_TRAIN_ARGS (space-separated, no quoting), checked: --model is required, each
 * must be a flag of `recs train` with its value, and none of those the schedule sets (--source, --gate, --json)
 * or that would promote without the gate (--promote).
 */
export function parseTrainArgs(text: string): string[] {
  const args = text.split(/\s+/).filter(Boolean);
  const { values, positionals } = parseArgs({ args, options: FLAGS, allowPositionals: true, strict: true });
  if (positionals.length > 0) throw new Error(`"${positionals[0]}" is not a --flag of recs train`);
  for (const flag of Object.keys(values)) {
    if (RESERVED.has(flag)) throw new Error(`--${flag} is set by the schedule (recs train --source lake --gate --json)`);
    if (flag === 'promote') throw new Error('--promote would promote without the quality gate');
    if (!(TRAIN_FLAGS as readonly string[]).includes(flag)) throw new Error(`--${flag} is not a flag of recs train`);
  }
  if (!values.model) throw new Error('--model is required (e.g. --model gmf)');
  return args;
}
