import { dotScores } from './dot-scores';

describe('dotScores', () => {
  it('scores every row, counts and widths that are not multiples of four included, with the bias and an offset query', () => {
    for (const [count, d] of [
      [1, 1],
      [7, 3],
      [9, 8],
      [13, 5],
    ]) {
      const rows = Float32Array.from({ length: count * d }, (_, n) => Math.sin(n + 1));
      const users = Float32Array.from({ length: 3 * d }, (_, n) => Math.cos(n));
      const out = dotScores(rows, count, d, users, 2 * d, 0.5);
      for (let r = 0; r < count; r++) {
        let expected = 0.5;
        for (let j = 0; j < d; j++) expected += users[2 * d + j] * rows[r * d + j];
        expect(out[r]).toBeCloseTo(expected, 5);
      }
    }
  });
});
