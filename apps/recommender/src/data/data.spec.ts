import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticRatingsCsv } from '../testing/synthetic';
import { userItems } from './interactions';
import { detectFormat, readMovieLens, readNcf } from './readers';
import { kFold, leaveOneOut, percentageSplit, writeNcf } from './split';

const dir = mkdtempSync(join(tmpdir(), 'recs-data-'));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('MovieLens readers', () => {
  it('reads ratings.csv, u.data and ratings.dat into the same interactions', async () => {
    const csv = write('ratings.csv', 'userId,movieId,rating,timestamp\n1,10,4.0,100\n1,20,3.5,200\n2,10,5.0,150\n');
    const udata = write('u.data', '1\t10\t4\t100\n1\t20\t3\t200\n2\t10\t5\t150\n');
    const dat = write('ratings.dat', '1::10::4::100\n1::20::3::200\n2::10::5::150\n');
    expect(await detectFormat(csv)).toBe('ml-csv');
    expect(await detectFormat(udata)).toBe('ml-100k');
    expect(await detectFormat(dat)).toBe('ml-1m');
    for (const path of [csv, udata, dat]) {
      const data = await readMovieLens(path);
      expect(data.userIds.ids).toEqual(['1', '2']);
      expect(data.itemIds.ids).toEqual(['10', '20']);
      expect(Array.from(data.users)).toEqual([0, 0, 1]);
      expect(Array.from(data.items)).toEqual([0, 1, 0]);
      expect(Array.from(data.timestamps)).toEqual([100, 200, 150]);
    }
  });

  it('names the line of a malformed row', async () => {
    const bad = write('bad.csv', 'userId,movieId,rating,timestamp\n1,10,4.0,100\n1,20\n');
    await expect(readMovieLens(bad)).rejects.toThrow(/bad\.csv:3/);
  });
});

describe('leave-one-out split', () => {
  it("holds out each user's latest interaction with 99 unseen negatives, reproducibly", async () => {
    const path = write('synthetic.csv', syntheticRatingsCsv({ users: 30, items: 150, perUser: 12 }));
    const data = await readMovieLens(path);
    const a = leaveOneOut(data, { seed: 3 });
    const b = leaveOneOut(data, { seed: 3 });
    const c = leaveOneOut(data, { seed: 4 });
    expect(a.negatives.map((n) => Array.from(n))).toEqual(b.negatives.map((n) => Array.from(n)));
    expect(a.negatives.map((n) => Array.from(n))).not.toEqual(c.negatives.map((n) => Array.from(n)));
    const all = userItems(data);
    for (let u = 0; u < data.userIds.size; u++) {
      // The held-out item is the one with the latest timestamp.
      let latest = -1;
      let latestT = -Infinity;
      for (let k = 0; k < data.users.length; k++) {
        if (data.users[k] === u && data.timestamps[k] >= latestT) {
          latestT = data.timestamps[k];
          latest = data.items[k];
        }
      }
      expect(a.testItem[u]).toBe(latest);
      expect(a.negatives[u].length).toBe(99);
      const seen = new Set(all.items.subarray(all.offsets[u], all.offsets[u + 1]));
      for (const n of a.negatives[u]) expect(seen.has(n)).toBe(false);
    }
    expect(a.train.users.length).toBe(data.users.length - data.userIds.size);
  });

  it('writes the NCF files that read back as the same split', async () => {
    const data = await readMovieLens(write('s2.csv', syntheticRatingsCsv({ users: 20, items: 130, perUser: 8 })));
    const split = leaveOneOut(data, { seed: 1 });
    const prefix = join(dir, 'ncf', 'synthetic');
    writeNcf(prefix, split);
    expect(readFileSync(`${prefix}.test.negative`, 'utf8').split('\n')[0]).toMatch(/^\(0,\d+\)\t\d+/);
    const back = await readNcf(prefix);
    expect(Array.from(back.testItem)).toEqual(Array.from(split.testItem));
    expect(Array.from(back.testTimestamp ?? [])).toEqual(Array.from(split.testTimestamp ?? []));
    expect(Array.from(back.testRating ?? [])).toEqual(Array.from(split.testRating ?? []));
    expect(back.negatives.map((n) => Array.from(n))).toEqual(split.negatives.map((n) => Array.from(n)));
    expect(Array.from(back.train.users)).toEqual(Array.from(split.train.users));
    expect(Array.from(back.train.items.map((i) => Number(back.train.itemIds.id(i))))).toEqual(Array.from(split.train.items));
  });
});

describe('percentage and k-fold splits', () => {
  it('temporal split holds out the latest rows; k folds partition the rows', async () => {
    const data = await readMovieLens(write('s3.csv', syntheticRatingsCsv({ users: 10, items: 120, perUser: 10 })));
    const { train, test } = percentageSplit(data, { testFraction: 0.2 });
    expect(test.users.length).toBe(20);
    expect(Math.max(...train.timestamps)).toBeLessThanOrEqual(Math.min(...test.timestamps));
    const folds = kFold(data, 5);
    expect(folds.reduce((n, f) => n + f.test.users.length, 0)).toBe(data.users.length);
    expect(folds.every((f) => f.train.users.length + f.test.users.length === data.users.length)).toBe(true);
  });
});

describe('item metadata', () => {
  it('reads genres and years from movies.csv (quoted titles), movies.dat and u.item', async () => {
    const { readItemAttributes } = await import('./item-attributes');
    const csv = write(
      'movies.csv',
      'movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n11,"American President, The (1995)",Comedy|Drama|Romance\n99,Untitled,(no genres listed)\n',
    );
    const a = await readItemAttributes(csv);
    expect(a['genre']).toEqual({ '1': ['Adventure', 'Animation'], '11': ['Comedy', 'Drama', 'Romance'], '99': [] });
    expect(a['year']).toEqual({ '1': ['1995'], '11': ['1995'] });
    const dat = write('movies.dat', '1::Toy Story (1995)::Animation|Comedy\n');
    expect((await readItemAttributes(dat))['genre']).toEqual({ '1': ['Animation', 'Comedy'] });
    const item = write('u.item', '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n');
    expect((await readItemAttributes(item))['genre']).toEqual({ '1': ['Animation', "Children's", 'Comedy'] });
  });
});
