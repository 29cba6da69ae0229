import { chunkBySize } from './chunk-by-size';

describe('chunkBySize', () => {
  it('keeps the order and puts an item over the limit alone in its group', () => {
    expect(chunkBySize([400, 300, 300, 900, 100, 1200, 50], (n) => n, 1000)).toEqual([[400, 300, 300], [900, 100], [1200], [50]]);
  });

  it('makes no group of nothing', () => {
    expect(chunkBySize([], (n: number) => n, 10)).toEqual([]);
  });
});
