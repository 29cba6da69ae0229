import { waterfall } from './traces.controller';

const span = (spanID: string, startTime: number, parent?: string) => ({
  spanID,
  operationName: spanID,
  startTime,
  duration: 1,
  processID: 'p1',
  references: parent ? [{ refType: 'CHILD_OF', spanID: parent }] : [],
});

describe('waterfall', () => {
  it('puts each span after its parent, siblings by start time, and a span whose parent is missing at the top', () => {
    const order = waterfall({
      spans: [span('c2', 30, 'root'), span('root', 0), span('c1', 10, 'root'), span('g1', 15, 'c1'), span('orphan', 5, 'gone')],
      processes: { p1: { serviceName: 'ingest' } },
    }).map(({ span: s, depth }) => `${s.spanID}@${depth}`);
    expect(order).toEqual(['root@0', 'c1@1', 'g1@2', 'c2@1', 'orphan@0']);
  });
});
