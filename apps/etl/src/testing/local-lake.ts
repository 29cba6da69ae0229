import { LakeEngine, LocalLakeStorage } from '@pulse/lake';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalLake {
  root: string;
  storage: LocalLakeStorage;
  engine: LakeEngine;
}

/** Runs `fn` over a new lake in a temporary directory with its own DuckDB engine, both gone afterwards (unit tests). */
export async function withLocalLake<T>(fn: (lake: LocalLake) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'etl-lake-'));
  const engine = await LakeEngine.create({ threads: 1 });
  try {
    return await fn({ root, storage: new LocalLakeStorage(root), engine });
  } finally {
    engine.close();
    await rm(root, { recursive: true, force: true });
  }
}
