import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { LakeObject, LakeStorage } from './lake-storage';

/**
 * A lake in a local directory. `putIfAbsent` writes a temporary file and hard-links it to the target
 * name: link(2) fails with EEXIST when the name is taken, and the target never holds a partial file.
 */
export class LocalLakeStorage implements LakeStorage {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = root;
  }

  private path(key: string): string {
    if (key.split('/').includes('..')) throw new Error(`lake key ${key} leaves the root`);
    return join(this.root, ...key.split('/'));
  }

  async read(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async write(key: string, data: Buffer | string): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomUUID()}.tmp`;
    await writeFile(temp, data);
    await rename(temp, path);
  }

  async putIfAbsent(key: string, data: Buffer | string): Promise<boolean> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = join(dirname(path), `.${randomUUID()}.tmp`);
    await writeFile(temp, data, { flush: true });
    try {
      await link(temp, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const base = this.path(prefix.replace(/\/+$/, ''));
    const out: LakeObject[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) {
          const info = await stat(full).catch(() => null);
          if (info) out.push({ key: relative(this.root, full).split(sep).join('/'), size: info.size, modifiedMs: info.mtimeMs });
        }
      }
    };
    await walk(base);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.path(key), { force: true })));
  }

  async stagingDir(keyPrefix: string): Promise<string> {
    const dir = this.path(keyPrefix);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async publishStaged(localPath: string, key: string): Promise<void> {
    // The staging directory is inside the root: a rename on the same file system.
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    await rename(localPath, target);
  }

  async dropStaging(keyPrefix: string): Promise<void> {
    await rm(this.path(keyPrefix), { recursive: true, force: true });
  }

  async localPath(key: string): Promise<string> {
    return this.path(key);
  }
}
