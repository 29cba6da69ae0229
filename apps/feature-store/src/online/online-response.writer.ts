import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { featuresV1, millisToDuration, millisToTimestamp } from '@pulse/contracts';
import type { ValueTypeName } from '../registry/definitions';
import type { Selection } from './feature-selection';
import { decodeCell, NULL_CELL } from './value-codec';

const { FeatureStatus } = featuresV1;

// Field tags (field number << 3 | wire type) of GetOnlineFeaturesResponse, OnlineFeatureRow, FeatureResult,
// FeatureValue, Timestamp and Duration, as in proto/pulse/features/v1.
const RESPONSE_FEATURE_REFS = (1 << 3) | 2;
const RESPONSE_ROWS = (2 << 3) | 2;
const ROW_JOIN_KEYS = (1 << 3) | 2;
const ROW_FEATURES = (2 << 3) | 2;
const RESULT_VALUE = (1 << 3) | 2;
const RESULT_STATUS = (2 << 3) | 0;
const RESULT_EVENT_TIMESTAMP = (3 << 3) | 2;
const RESULT_AGE = (4 << 3) | 2;
const VALUE_DOUBLE = (4 << 3) | 1;
const VALUE_FLOAT = (3 << 3) | 5;
const SECONDS = (1 << 3) | 0;
const NANOS = (2 << 3) | 0;

/**
 * A selection made ready for writing responses: its feature_refs already encoded, and for each output column
 * the view group and the feature within it (so a row is written column by column, in the order of the refs).
 */
export interface EncodedSelection {
  selection: Selection;
  refs: Uint8Array;
  columnGroup: Int32Array;
  columnFeature: Int32Array;
  columnType: ValueTypeName[];
}

export function encodeSelection(selection: Selection): EncodedSelection {
  const writer = new BinaryWriter();
  for (const ref of selection.refs) writer.uint32(RESPONSE_FEATURE_REFS).string(ref);
  const width = selection.refs.length;
  const columnGroup = new Int32Array(width);
  const columnFeature = new Int32Array(width);
  const columnType: ValueTypeName[] = new Array(width);
  selection.byView.forEach((group, g) =>
    group.columns.forEach((column, i) => {
      columnGroup[column] = g;
      columnFeature[column] = i;
      columnType[column] = group.features[i].valueType;
    }),
  );
  return { selection, refs: writer.finish(), columnGroup, columnFeature, columnType };
}

/** What one view's read of one entity row came to: its values' event time and age, and whether it expired. */
export interface ViewRead {
  /** The Redis values: the view's event time, then one per feature of the group; null = not in the store. */
  cells: (string | null)[];
  /** event_timestamp and age of a found value, already encoded; empty when the entity is not in the view. */
  timeFields: Uint8Array;
  expired: boolean;
}

/** event_timestamp and age fields of a FeatureResult, encoded once per view and row. */
export function encodeTimeFields(eventMs: number, ageMs: number): Uint8Array {
  const writer = new BinaryWriter();
  const ts = millisToTimestamp(eventMs);
  const age = millisToDuration(ageMs);
  writer.uint32(RESULT_EVENT_TIMESTAMP).fork();
  if (ts.seconds !== 0) writer.uint32(SECONDS).int64(ts.seconds);
  if (ts.nanos !== 0) writer.uint32(NANOS).int32(ts.nanos);
  writer.join().uint32(RESULT_AGE).fork();
  if (age.seconds !== 0) writer.uint32(SECONDS).int64(age.seconds);
  if (age.nanos !== 0) writer.uint32(NANOS).int32(age.nanos);
  return writer.join().finish();
}

/** Counts of the statuses written, per view group: present, null, expired, not found. */
export type Tallies = [number, number, number, number][];

/**
 * Writes a GetOnlineFeaturesResponse: the selection's refs, then per entity row its join keys echoed and one
 * FeatureResult per column. A PRESENT double or float is written in place; other types through the generated
 * FeatureValue encoder. Statuses are counted into `tallies`.
 */
export class OnlineResponseWriter {
  private readonly writer = new BinaryWriter();

  constructor(
    private readonly encoded: EncodedSelection,
    private readonly tallies: Tallies,
  ) {
    this.writer.raw(encoded.refs);
  }

  row(joinKeys: { [key: string]: featuresV1.FeatureValue }, reads: readonly ViewRead[]): void {
    const { writer, tallies } = this;
    const { columnGroup, columnFeature, columnType } = this.encoded;
    writer.uint32(RESPONSE_ROWS).fork();
    for (const key in joinKeys) {
      featuresV1.OnlineFeatureRow_JoinKeysEntry.encode({ key, value: joinKeys[key] }, writer.uint32(ROW_JOIN_KEYS).fork()).join();
    }
    for (let column = 0; column < columnGroup.length; column++) {
      const g = columnGroup[column];
      const read = reads[g];
      const tally = tallies[g];
      writer.uint32(ROW_FEATURES).fork();
      const cell = read.timeFields.length === 0 ? null : read.cells[columnFeature[column] + 1];
      if (cell === null) {
        writer.uint32(RESULT_STATUS).int32(FeatureStatus.FEATURE_STATUS_NOT_FOUND);
        tally[3]++;
      } else if (read.expired) {
        writer.uint32(RESULT_STATUS).int32(FeatureStatus.FEATURE_STATUS_EXPIRED).raw(read.timeFields);
        tally[2]++;
      } else if (cell === NULL_CELL) {
        writer.uint32(RESULT_STATUS).int32(FeatureStatus.FEATURE_STATUS_NULL_VALUE).raw(read.timeFields);
        tally[1]++;
      } else {
        const type = columnType[column];
        if (type === 'double') writer.uint32(RESULT_VALUE).uint32(9).uint32(VALUE_DOUBLE).double(Number(cell));
        else if (type === 'float') writer.uint32(RESULT_VALUE).uint32(5).uint32(VALUE_FLOAT).float(Number(cell));
        else featuresV1.FeatureValue.encode(decodeCell(cell, type) ?? {}, writer.uint32(RESULT_VALUE).fork()).join();
        writer.uint32(RESULT_STATUS).int32(FeatureStatus.FEATURE_STATUS_PRESENT).raw(read.timeFields);
        tally[0]++;
      }
      writer.join();
    }
    writer.join();
  }

  finish(): Uint8Array {
    return this.writer.finish();
  }
}
