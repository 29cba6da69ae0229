import { featuresV1 } from '@pulse/contracts';
import type { FeatureDef, ValueTypeName } from '../registry/definitions';
import type { ServedView } from '../registry/loaded-registry';
import type { Selection } from './feature-selection';
import { encodeSelection, encodeTimeFields, OnlineResponseWriter, type Tallies } from './online-response.writer';
import { encodeCell, NULL_CELL } from './value-codec';

const { FeatureStatus } = featuresV1;
const feature = (name: string, valueType: ValueTypeName): FeatureDef => ({ name, valueType, description: '', tags: {} });
const view = (name: string) => ({ def: { name } }) as unknown as ServedView;

// Two views whose features interleave in the requested order: profile:score, activity:clicks, profile:tags, activity:rate.
const selection: Selection = {
  refs: ['profile:score', 'activity:clicks', 'profile:tags', 'activity:rate'],
  byView: [
    { view: view('profile'), features: [feature('score', 'double'), feature('tags', 'string_list')], columns: [0, 2], fields: [] },
    { view: view('activity'), features: [feature('clicks', 'int64'), feature('rate', 'float')], columns: [1, 3], fields: [] },
  ],
};

function write(rows: Parameters<OnlineResponseWriter['row']>[1][]) {
  const tallies: Tallies = [
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ];
  const writer = new OnlineResponseWriter(encodeSelection(selection), tallies);
  for (const reads of rows) writer.row({ user_id: { stringValue: 'u1' } }, reads);
  return { response: featuresV1.GetOnlineFeaturesResponse.decode(writer.finish()), tallies };
}

describe('OnlineResponseWriter', () => {
  const eventMs = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  const found = (cells: (string | null)[], expired = false) => ({ cells, timeFields: encodeTimeFields(eventMs, 1500), expired });

  it('writes each column in the order of the refs, with values, event time and age, as the generated decoder reads them', () => {
    const { response, tallies } = write([
      [
        found([String(eventMs), encodeCell(0.25, 'double'), encodeCell(['a', 'b'], 'string_list')]),
        found([String(eventMs), encodeCell(42, 'int64'), encodeCell(1.5, 'float')]),
      ],
    ]);
    expect(response.featureRefs).toEqual(selection.refs);
    expect(response.rows).toHaveLength(1);
    const [row] = response.rows;
    expect(row.joinKeys).toEqual({ user_id: expect.objectContaining({ stringValue: 'u1' }) });
    expect(row.features.map((f) => f.status)).toEqual(Array(4).fill(FeatureStatus.FEATURE_STATUS_PRESENT));
    expect(row.features[0].value?.doubleValue).toBe(0.25);
    expect(row.features[1].value?.int64Value).toBe(42);
    expect(row.features[2].value?.stringListValue?.values).toEqual(['a', 'b']);
    expect(row.features[3].value?.floatValue).toBe(1.5);
    expect(row.features[0].eventTimestamp).toEqual({ seconds: Math.floor(eventMs / 1000), nanos: 678_000_000 });
    expect(row.features[0].age).toEqual({ seconds: 1, nanos: 500_000_000 });
    expect(tallies).toEqual([
      [2, 0, 0, 0],
      [2, 0, 0, 0],
    ]);
  });

  it('answers NOT_FOUND without a time for a view the entity is not in, EXPIRED and NULL_VALUE with it', () => {
    const { response, tallies } = write([
      [found([String(eventMs), NULL_CELL, null]), { cells: [null, null, null], timeFields: new Uint8Array(0), expired: false }],
      [found([String(eventMs), encodeCell(1, 'double'), encodeCell([], 'string_list')], true), found([String(eventMs), '3', '0.5'])],
    ]);
    const statuses = response.rows.map((r) => r.features.map((f) => f.status));
    expect(statuses).toEqual([
      [
        FeatureStatus.FEATURE_STATUS_NULL_VALUE,
        FeatureStatus.FEATURE_STATUS_NOT_FOUND,
        FeatureStatus.FEATURE_STATUS_NOT_FOUND,
        FeatureStatus.FEATURE_STATUS_NOT_FOUND,
      ],
      [
        FeatureStatus.FEATURE_STATUS_EXPIRED,
        FeatureStatus.FEATURE_STATUS_PRESENT,
        FeatureStatus.FEATURE_STATUS_EXPIRED,
        FeatureStatus.FEATURE_STATUS_PRESENT,
      ],
    ]);
    const [first, second] = response.rows;
    expect(first.features[0].eventTimestamp).toBeDefined();
    expect(first.features[1]).toMatchObject({ value: undefined, eventTimestamp: undefined, age: undefined });
    expect(first.features[2]).toMatchObject({ value: undefined, eventTimestamp: undefined });
    expect(second.features[0]).toMatchObject({ value: undefined, age: { seconds: 1, nanos: 500_000_000 } });
    expect(tallies).toEqual([
      [0, 1, 2, 1],
      [2, 0, 0, 2],
    ]);
  });
});
