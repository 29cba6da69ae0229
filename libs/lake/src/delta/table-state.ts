import type { Action, AddAction, CommitInfo, DeltaColumn, MetadataAction, ProtocolAction, RemoveAction, TxnAction } from './actions';
import { parseSchemaString } from './actions';

/** One version of a Delta table as a reader sees it. */
export interface DeltaSnapshot {
  version: number;
  /** Commit time of this version (commitInfo.timestamp), ms since the epoch. */
  timestamp: number;
  protocol: ProtocolAction;
  metadata: MetadataAction;
  schema: DeltaColumn[];
  partitionColumns: string[];
  /** The data files of this version. */
  files: AddAction[];
  /** Files removed and not yet expired (what VACUUM may delete once past retention). */
  tombstones: RemoveAction[];
  /** Application transactions by appId. */
  txns: ReadonlyMap<string, TxnAction>;
}

/** Log replay: the mutable state behind a snapshot, advanced one commit at a time. */
export class TableState {
  version = -1;
  timestamp = 0;
  protocol?: ProtocolAction;
  metadata?: MetadataAction;
  readonly files = new Map<string, AddAction>();
  readonly tombstones = new Map<string, RemoveAction>();
  readonly txns = new Map<string, TxnAction>();

  apply(version: number, actions: readonly Action[]): void {
    for (const action of actions) {
      if ('add' in action) {
        this.files.set(action.add.path, action.add);
        this.tombstones.delete(action.add.path);
      } else if ('remove' in action) {
        this.files.delete(action.remove.path);
        this.tombstones.set(action.remove.path, action.remove);
      } else if ('txn' in action) {
        this.txns.set(action.txn.appId, action.txn);
      } else if ('metaData' in action) {
        this.metadata = action.metaData;
      } else if ('protocol' in action) {
        this.protocol = action.protocol;
      } else if ('commitInfo' in action) {
        this.timestamp = (action.commitInfo as CommitInfo).timestamp ?? this.timestamp;
      }
    }
    this.version = version;
  }

  clone(): TableState {
    const copy = new TableState();
    copy.version = this.version;
    copy.timestamp = this.timestamp;
    copy.protocol = this.protocol;
    copy.metadata = this.metadata;
    for (const [k, v] of this.files) copy.files.set(k, v);
    for (const [k, v] of this.tombstones) copy.tombstones.set(k, v);
    for (const [k, v] of this.txns) copy.txns.set(k, v);
    return copy;
  }

  snapshot(): DeltaSnapshot {
    if (!this.protocol || !this.metadata) throw new Error(`Delta log up to version ${this.version} has no protocol or metaData`);
    return {
      version: this.version,
      timestamp: this.timestamp,
      protocol: this.protocol,
      metadata: this.metadata,
      schema: parseSchemaString(this.metadata.schemaString),
      partitionColumns: this.metadata.partitionColumns,
      files: [...this.files.values()],
      tombstones: [...this.tombstones.values()],
      txns: new Map(this.txns),
    };
  }
}
