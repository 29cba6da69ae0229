// The ratings file both recommender benches (recs-train, recs-serve) work on, and the built `recs` CLI.
// Run by Node 24 with type stripping: erasable TypeScript only, npm packages only.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { note, NODE, REPO } from '../lib/bench.ts';

export const RECS = join(REPO, 'dist/apps/recommender/recs.js');

const DATA = process.env['RECS_BENCH_DATA'] ?? join(REPO, '../shared/datasets/ml-latest-small/ratings.csv');

/** RECS_BENCH_DATA (MovieLens ml-latest-small by default), or a MovieLens-sized synthetic file in `dir` when it is absent. */
export function ratingsFile(dir: string): string {
  if (existsSync(DATA)) return DATA;
  const source = join(dir, 'synthetic.csv');
  note(`${DATA} not found; generating a MovieLens-sized synthetic file instead`);
  execFileSync(NODE, [RECS, 'synthetic', '--out', source, '--users', '600', '--items', '9000', '--per-user', '165'], { stdio: 'ignore' });
  return source;
}
