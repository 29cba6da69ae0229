import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';

/** Whether a user is on the erasure list (ErasureList of @pulse/platform). */
export interface ErasedUsers {
  has(userId: string | null | undefined): boolean;
  readonly size: number;
}

/** The files of an NCF triple by prefix; any other source is one file. */
const NCF_SUFFIXES = ['.train.rating', '.test.rating', '.test.negative'];

/**
 * The user of a line of any source the trainer reads: the first field of MovieLens (`,`, `::` or tab separated) and
 * NCF rating files, `(user,item)` in front of an NCF negatives line.
 */
export function lineUser(line: string): string {
  return line
    .replace(/^\(/, '')
    .split(/::|,|\t/, 1)[0]
    .trim();
}

/**
 * The training source without the rows of erased users: the same files, copied into a temporary directory minus
 * those rows, so every reader and split sees a source in which the users never existed (their ids are in no id
 * map of the trained version). Returns the source unchanged when nobody was erased, with what was dropped.
 */
export async function withoutErasedUsers(source: string, erased: ErasedUsers): Promise<{ source: string; droppedRows: number }> {
  if (erased.size === 0) return { source, droppedRows: 0 };
  const ncf = existsSync(`${source}.train.rating`);
  const files = ncf ? NCF_SUFFIXES.map((s) => `${source}${s}`).filter((f) => existsSync(f)) : [source];
  const dir = await mkdtemp(join(tmpdir(), 'recs-train-'));
  const target = join(dir, basename(source));
  let droppedRows = 0;
  for (const file of files) {
    const kept: string[] = [];
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (line && erased.has(lineUser(line))) droppedRows++;
      else kept.push(line);
    }
    await writeFile(ncf ? `${target}${file.slice(source.length)}` : target, kept.join('\n') + '\n');
  }
  return { source: target, droppedRows };
}
