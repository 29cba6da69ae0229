import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineUser, withoutErasedUsers } from './erased-training-source';

const erasedOf = (...ids: string[]) => ({ has: (id: string | null | undefined) => !!id && ids.includes(id), size: ids.length });

describe('training without erased users', () => {
  it('drops the rows of erased users from a MovieLens file and keeps the header and everyone else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'erased-source-'));
    const file = join(dir, 'ratings.csv');
    writeFileSync(file, ['userId,movieId,rating,timestamp', '42,p1,1,10', '7,p1,1,11', '42,p2,1,12', '420,p3,1,13'].join('\n'));
    const { source, droppedRows } = await withoutErasedUsers(file, erasedOf('42'));
    expect(droppedRows).toBe(2);
    expect(readFileSync(source, 'utf8').trim().split('\n')).toEqual(['userId,movieId,rating,timestamp', '7,p1,1,11', '420,p3,1,13']);
    // Nobody erased: the source as it was.
    expect(await withoutErasedUsers(file, erasedOf())).toEqual({ source: file, droppedRows: 0 });
  });

  it('filters every file of an NCF triple, negatives included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'erased-ncf-'));
    const prefix = join(dir, 'ml');
    writeFileSync(`${prefix}.train.rating`, '0\t1\t1\t5\n1\t2\t1\t6\n');
    writeFileSync(`${prefix}.test.rating`, '0\t3\t1\t7\n1\t4\t1\t8\n');
    writeFileSync(`${prefix}.test.negative`, '(0,3)\t9\t10\n(1,4)\t11\t12\n');
    const { source, droppedRows } = await withoutErasedUsers(prefix, erasedOf('1'));
    expect(droppedRows).toBe(3);
    expect(readFileSync(`${source}.test.negative`, 'utf8').trim()).toBe('(0,3)\t9\t10');
    expect(readFileSync(`${source}.train.rating`, 'utf8').trim()).toBe('0\t1\t1\t5');
  });

  it('reads the user of every line format', () => {
    expect(lineUser('42::1193::5::978300760')).toBe('42');
    expect(lineUser('196\t242\t3\t881250949')).toBe('196');
    expect(lineUser('(7,12)\t1\t2')).toBe('7');
  });
});
