import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { IdMap } from '../data/id-map';
import type { UserItems } from '../data/interactions';
import type { ItemAttributes } from '../data/item-attributes';
import type { ModelName, Recommender } from '../models/model';
import { hyperparametersOf, loadModel } from '../models/model-factory';

/** What the registry keeps about one trained model (the manifest.json of its directory). */
export interface ModelRecord {
  version: string;
  algorithm: ModelName;
  createdAt: string;
  metrics: Record<string, number>;
  dataFingerprint: string;
  /** Latest event time in the training data, ISO 8601; empty when the data had no timestamps. */
  dataCutoff: string;
  hyperparameters: Record<string, unknown>;
  /** Where the training data came from (absent in versions written before the lake source existed: files). */
  dataSource?: 'files' | 'lake';
  /** data source "lake": the version of each Delta table read, by table path (time travel rebuilds the data). */
  tableVersions?: Record<string, number>;
  /** The quality gate's decision, when the version went through it. */
  gate?: GateRecord;
}

/** The quality gate's decision on a version, as the registry keeps it. */
export interface GateRecord {
  outcome: 'promoted' | 'refused';
  reason: string;
  metric: string;
  candidateValue: number;
  promotedValue: number;
  promotedVersion: string;
  baselineValue: number;
  margin: number;
  decidedAt: string;
}

export interface PromotionState {
  promoted: string | null;
  promotedAt: Record<string, string>;
  /** Promotions, oldest first; rollback pops the newest. */
  history: { version: string; at: string; reason: string; rollback: boolean }[];
}

/** A model ready to serve: its record, the model, its id maps, popularity and what each user has seen. */
export interface LoadedModel {
  record: ModelRecord;
  model: Recommender;
  users: IdMap;
  items: IdMap;
  popularity: Float32Array;
  seen: UserItems;
  /** Item attributes for filters, inverted: attribute → value → the indices of the items that have it, ascending. */
  attributes: Map<string, Map<string, Int32Array>>;
}

export class ModelNotFoundError extends Error {}
/** A model version that is not a version name, or whose directory lies outside the registry. */
export class InvalidModelVersionError extends Error {}

/**
 * A version name as register() writes them: letters, digits, `.`, `_` and `-`, not starting with a dot (no `.`,
 * `..` or staging directory), no `..` inside, at most 128 characters. Separators, encoded or not, never match.
 */
const VERSION = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Why `version` is not a model version name; undefined when it is one. */
export function invalidModelVersion(version: string): string | undefined {
  if (!VERSION.test(version) || version.includes('..'))
    return 'is not a model version (letters, digits, ".", "_" and "-", not starting with "." nor containing "..", at most 128 characters)';
  return undefined;
}
export class NothingToRollBackError extends Error {}

/**
 * Versioned model artifacts in a directory: `versions/<version>/` holds the model files (a TF.js model for
 * the neural models), manifest.json, id maps, popularity and seen items; `registry.json` says which version
 * is promoted and the promotion history. Every write is a rename of a complete file, so a reader (another
 * replica watching the same volume) never sees half a version or half a promotion.
 */
export class ModelRegistry {
  constructor(readonly root: string) {
    mkdirSync(join(root, 'versions'), { recursive: true });
  }

  /**
   * The directory of `version`: the name checked (InvalidModelVersionError), the path canonicalised (symbolic
   * links resolved) and confined to a direct child of the versions directory.
   */
  private versionDir(version: string): string {
    const problem = invalidModelVersion(version);
    if (problem) throw new InvalidModelVersionError(`"${version}" ${problem}`);
    const versions = realpathSync(join(this.root, 'versions'));
    const dir = resolve(versions, version);
    const real = existsSync(dir) ? realpathSync(dir) : dir;
    if (dirname(real) !== versions) throw new InvalidModelVersionError(`model version ${version} lies outside the registry`);
    return real;
  }

  private get statePath(): string {
    return join(this.root, 'registry.json');
  }

  /** Writes a trained model as a new version; returns its record. */
  async register(
    model: Recommender,
    meta: Omit<ModelRecord, 'version' | 'createdAt' | 'algorithm'>,
    data: { users: IdMap; items: IdMap; popularity: Float32Array; seen: UserItems; attributes?: ItemAttributes },
  ): Promise<ModelRecord> {
    const createdAt = new Date();
    const stamp = createdAt
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const version = `${stamp}-${model.name}-${randomBytes(3).toString('hex')}`;
    const staging = join(this.root, 'versions', `.${version}.tmp`);
    mkdirSync(staging, { recursive: true });
    await model.save(join(staging, 'model'));
    const record: ModelRecord = { version, algorithm: model.name, createdAt: createdAt.toISOString(), ...meta };
    // The settings the model was built with (a model that has a config), beside the caller's `model` label.
    const own = hyperparametersOf(model);
    if (Object.keys(own).length > 0) record.hyperparameters = { ...own, model: meta.hyperparameters['model'] ?? model.name };
    writeFileSync(join(staging, 'ids.json'), JSON.stringify({ users: data.users.ids, items: data.items.ids }));
    writeBinary(join(staging, 'popularity.bin'), data.popularity);
    writeBinary(join(staging, 'seen.offsets.bin'), data.seen.offsets);
    writeBinary(join(staging, 'seen.items.bin'), data.seen.items);
    if (data.attributes) {
      // Only the catalogue's items: attribute → item id → values.
      const kept: ItemAttributes = {};
      for (const [attribute, byItem] of Object.entries(data.attributes)) {
        kept[attribute] = Object.fromEntries(data.items.ids.filter((id) => byItem[id] !== undefined).map((id) => [id, byItem[id]]));
      }
      writeFileSync(join(staging, 'attributes.json'), JSON.stringify(kept));
    }
    writeFileSync(join(staging, 'manifest.json'), JSON.stringify(record, null, 2));
    renameSync(staging, join(this.root, 'versions', version));
    return record;
  }

  /** Every version, newest first. */
  list(): ModelRecord[] {
    const dir = join(this.root, 'versions');
    return readdirSync(dir)
      .map((name) => this.get(name))
      .filter((record): record is ModelRecord => record !== undefined)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.version.localeCompare(a.version));
  }

  /** The record of `version`; undefined when there is none (or `version` is no version name of this registry). */
  get(version: string): ModelRecord | undefined {
    let path: string;
    try {
      path = join(this.versionDir(version), 'manifest.json');
    } catch (error) {
      if (error instanceof InvalidModelVersionError) return undefined;
      throw error;
    }
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ModelRecord) : undefined;
  }

  /**
   * Rewrites a version's record (its manifest.json) with `change` applied, atomically (a complete file renamed
   * over the old one): a reader sees the record before or after, never half of it. The version and its
   * algorithm stay what they are. Returns the new record.
   */
  update(version: string, change: (record: ModelRecord) => ModelRecord): ModelRecord {
    const record = this.get(version);
    if (!record) throw new ModelNotFoundError(`model version ${version}`);
    const updated: ModelRecord = { ...change(record), version: record.version, algorithm: record.algorithm };
    const path = join(this.versionDir(version), 'manifest.json');
    writeAtomically(path, JSON.stringify(updated, null, 2));
    return updated;
  }

  state(): PromotionState {
    if (!existsSync(this.statePath)) return { promoted: null, promotedAt: {}, history: [] };
    return JSON.parse(readFileSync(this.statePath, 'utf8')) as PromotionState;
  }

  /** Modification time of the promotion state; watchers reload when it changes. */
  stateStamp(): number {
    return existsSync(this.statePath) ? statSync(this.statePath).mtimeMs : 0;
  }

  /**
   * Makes `version` serve; `at` is when it was promoted. Idempotent: promoting the promoted version changes
   * nothing (`previous` is then the version itself).
   */
  promote(version: string, reason = ''): { record: ModelRecord; previous: string | null; at: string } {
    const record = this.get(version);
    if (!record) throw new ModelNotFoundError(`model version ${version}`);
    const state = this.state();
    const previous = state.promoted;
    if (previous === version) return { record, previous, at: state.promotedAt[version] ?? '' };
    const at = new Date().toISOString();
    state.promoted = version;
    state.promotedAt[version] = at;
    state.history.push({ version, at, reason, rollback: false });
    this.writeState(state);
    return { record, previous, at };
  }

  /** Re-promotes the version promoted before the current one. */
  rollback(reason = ''): { record: ModelRecord; rolledBack: string; at: string } {
    const state = this.state();
    const current = state.promoted;
    // The promotion stack without rollbacks: drop the current one, serve the one before.
    const stack = this.promotionStack(state);
    if (!current || stack.length < 2) throw new NothingToRollBackError('no previously promoted version to roll back to');
    const target = stack[stack.length - 2];
    const record = this.get(target);
    if (!record) throw new ModelNotFoundError(`model version ${target}`);
    const at = new Date().toISOString();
    state.promoted = target;
    state.promotedAt[target] = at;
    state.history.push({ version: target, at, reason, rollback: true });
    this.writeState(state);
    return { record, rolledBack: current, at };
  }

  /** The versions a rollback can walk back through: promotions in order, each rollback undoing the newest. */
  private promotionStack(state: PromotionState): string[] {
    const stack: string[] = [];
    for (const h of state.history) {
      if (h.rollback) {
        stack.pop();
        continue;
      }
      if (stack[stack.length - 1] !== h.version) stack.push(h.version);
    }
    return stack;
  }

  private writeState(state: PromotionState): void {
    writeAtomically(this.statePath, JSON.stringify(state, null, 2));
  }

  /** Loads a version's model and serving data. */
  async load(version: string): Promise<LoadedModel> {
    const record = this.get(version);
    if (!record) throw new ModelNotFoundError(`model version ${version}`);
    const dir = this.versionDir(version);
    const ids = JSON.parse(readFileSync(join(dir, 'ids.json'), 'utf8')) as { users: string[]; items: string[] };
    const model: Recommender = await loadModel(join(dir, 'model'), record.algorithm);
    const items = IdMap.from(ids.items);
    const attributes = new Map<string, Map<string, Int32Array>>();
    if (existsSync(join(dir, 'attributes.json'))) {
      const raw = JSON.parse(readFileSync(join(dir, 'attributes.json'), 'utf8')) as ItemAttributes;
      for (const [attribute, byItem] of Object.entries(raw)) {
        const byValue = new Map<string, number[]>();
        items.ids.forEach((id, index) => {
          for (const value of new Set(Object.hasOwn(byItem, id) ? byItem[id] : [])) {
            const list = byValue.get(value);
            if (list) list.push(index);
            else byValue.set(value, [index]);
          }
        });
        attributes.set(attribute, new Map([...byValue].map(([value, list]) => [value, Int32Array.from(list)])));
      }
    }
    return {
      record,
      model,
      attributes,
      users: IdMap.from(ids.users),
      items,
      popularity: new Float32Array(readBinary(join(dir, 'popularity.bin'))),
      seen: {
        offsets: new Int32Array(readBinary(join(dir, 'seen.offsets.bin'))),
        items: new Int32Array(readBinary(join(dir, 'seen.items.bin'))),
      },
    };
  }

  /** Deletes a version that is not promoted. */
  remove(version: string): void {
    if (this.state().promoted === version) throw new Error(`${version} is promoted; promote another version first`);
    if (!this.get(version)) throw new ModelNotFoundError(`model version ${version}`);
    rmSync(this.versionDir(version), { recursive: true, force: true });
  }
}

/** Writes `text` to a file beside `path`, then renames it over `path`. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function writeBinary(path: string, array: Float32Array | Int32Array): void {
  writeFileSync(path, Buffer.from(array.buffer, array.byteOffset, array.byteLength));
}

function readBinary(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}
