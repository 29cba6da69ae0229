/** One object of a lake store, its key relative to the store's root. */
export interface LakeObject {
  key: string;
  size: number;
  /** Last modification, ms since the epoch. */
  modifiedMs: number;
}

/**
 * Where Delta tables live: a local directory or an S3-compatible bucket. Keys are `/`-separated and
 * relative to the root. The one primitive the Delta log needs beyond plain reads and writes is
 * `putIfAbsent`: two writers racing for the same log version must not both win.
 */
export interface LakeStorage {
  /** Human-readable location of the root, e.g. `/var/lib/pulse/lake` or `s3://bucket/prefix`. */
  readonly location: string;
  /** The object's bytes, or null when it does not exist. */
  read(key: string): Promise<Buffer | null>;
  /** Writes (or replaces) an object. */
  write(key: string, data: Buffer | string): Promise<void>;
  /** Writes an object only if no object of that key exists; false when one did (nothing written). */
  putIfAbsent(key: string, data: Buffer | string): Promise<boolean>;
  /** Every object under a prefix, recursively. */
  list(prefix: string): Promise<LakeObject[]>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * A local directory in which DuckDB writes files that become the objects under `keyPrefix`: for a
   * local store the table's own directory, for a remote one a staging directory whose files
   * `publishStaged` uploads.
   */
  stagingDir(keyPrefix: string): Promise<string>;
  /** Makes a file written in `stagingDir(keyPrefix)` the object `key` (a rename locally, an upload remotely). */
  publishStaged(localPath: string, key: string): Promise<void>;
  /** Removes a staging directory and whatever is left in it. */
  dropStaging(keyPrefix: string): Promise<void>;
  /** A local path DuckDB can read for the object `key` (a local store's file, or a cached download). */
  localPath(key: string): Promise<string>;
}

export class LakeObjectMissingError extends Error {
  constructor(readonly key: string) {
    super(`lake object ${key} does not exist`);
  }
}
