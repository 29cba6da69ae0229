import { previewParams } from './lake.controller';

describe('preview form', () => {
  it('takes a version (or the latest) and 1 to 100 rows, and says what is wrong otherwise', () => {
    expect(previewParams('', '')).toEqual({ version: undefined, limit: 20 });
    expect(previewParams('3', '100')).toEqual({ version: 3, limit: 100 });
    expect(previewParams('-1', '')).toEqual({ problem: expect.stringMatching(/^version:/) });
    expect(previewParams('1.5', '')).toEqual({ problem: expect.stringMatching(/^version:/) });
    expect(previewParams('', '0')).toEqual({ problem: expect.stringMatching(/^limit:/) });
    expect(previewParams('', '101')).toEqual({ problem: expect.stringMatching(/^limit:/) });
  });
});
