import { createReadStream, existsSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';

/** Item attributes for candidate filters: attribute → external item id → values (multi-valued). */
export type ItemAttributes = Record<string, Record<string, string[]>>;

// The 19 genre flags of ML-100K's u.item, in file order.
const ML100K_GENRES = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

/** One CSV record's fields, with RFC 4180 quoting (movies.csv quotes titles that contain commas). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let k = 0; k < line.length; k++) {
    const c = line[k];
    if (quoted) {
      if (c === '"' && line[k + 1] === '"') {
        field += '"';
        k++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/**
 * Reads MovieLens item metadata: `movies.csv` of ml-latest (movieId,title,genres), `movies.dat` of ML-1M
 * (MovieID::Title::Genres) or `u.item` of ML-100K (pipe-separated, 19 genre flags). Attributes: `genre`
 * (every genre of the movie) and `year` (from the title's "(1995)").
 */
export async function readItemAttributes(path: string): Promise<ItemAttributes> {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const name = basename(path);
  const genre: Record<string, string[]> = {};
  const year: Record<string, string[]> = {};
  let lineNo = 0;
  const rl = createInterface({ input: createReadStream(path, { encoding: name === 'u.item' ? 'latin1' : 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) {
    lineNo++;
    if (!line.trim()) continue;
    let id: string;
    let title: string;
    let genres: string[];
    if (name.endsWith('.dat')) {
      const f = line.split('::');
      [id, title] = [f[0], f[1] ?? ''];
      genres = (f[2] ?? '').split('|');
    } else if (name === 'u.item') {
      const f = line.split('|');
      [id, title] = [f[0], f[1] ?? ''];
      genres = ML100K_GENRES.filter((_, g) => f[5 + g] === '1');
    } else {
      if (lineNo === 1 && /^movieId,/i.test(line)) continue;
      const f = csvFields(line);
      [id, title] = [f[0], f[1] ?? ''];
      genres = (f[2] ?? '').split('|');
    }
    if (!id) throw new Error(`${path}:${lineNo}: no item id`);
    genre[id.trim()] = genres.map((g) => g.trim()).filter((g) => g && g !== '(no genres listed)');
    const y = /\((\d{4})\)\s*$/.exec(title.trim());
    if (y) year[id.trim()] = [y[1]];
  }
  return { genre, year };
}
