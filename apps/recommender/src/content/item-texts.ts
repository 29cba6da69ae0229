import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { csvFields } from '../data/item-attributes';

/** What a content model reads about an item: free text (a title, a post body) and keywords (genres, tags). */
export interface ItemText {
  text: string;
  keywords: string[];
  /** Keywords that users applied after interacting (MovieLens tags): a brand-new item has none of them. */
  userTags?: string[];
}

/** Item texts by external item id. */
export type ItemTexts = Map<string, ItemText>;

/** A platform post as text: its body, its tags as keywords (what the posts table and the catalogue hold). */
export function postText(post: { body?: string; tags?: readonly string[] }): ItemText {
  return { text: post.body ?? '', keywords: [...(post.tags ?? [])] };
}

/** The text a model embeds: the item's own text and keywords, plus user tags unless `newItem` (an item nobody has tagged yet). */
export function documentOf(item: ItemText, newItem = false): { text: string; keywords: string[] } {
  const tags = newItem ? [] : (item.userTags ?? []);
  return { text: [item.text, ...tags].join(' . '), keywords: [...item.keywords, ...tags] };
}

/**
 * Reads item texts: MovieLens `movies.csv` (title and genres; the user tags of `tags.csv` beside it when
 * present — GroupLens' licence applies to that data, see its README), or platform posts as JSON lines
 * (`{"id": "...", "body": "...", "tags": ["..."]}` per line, e.g. an export of the posts table).
 */
export function readItemTexts(path: string): ItemTexts {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  const out: ItemTexts = new Map();
  if (/\.jsonl?$/.test(path)) {
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, n) => {
        if (!line.trim()) return;
        const row = JSON.parse(line) as { id?: unknown; body?: string; text?: string; tags?: string[] };
        if (row.id === undefined) throw new Error(`${path}:${n + 1}: no "id"`);
        out.set(String(row.id), postText({ body: row.body ?? row.text, tags: row.tags }));
      });
    return out;
  }
  if (!basename(path).endsWith('.csv')) throw new Error(`${path}: item texts come from a MovieLens movies.csv or posts as .jsonl`);
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, n) => {
      if (!line.trim() || (n === 0 && /^movieId,/i.test(line))) return;
      const [id, title = '', genres = ''] = csvFields(line);
      const keywords = genres.split('|').filter((g) => g && g !== '(no genres listed)');
      out.set(id.trim(), { text: title.replace(/\s*\(\d{4}\)\s*$/, (y) => ` ${y.replace(/[()]/g, '').trim()}`), keywords });
    });
  const tagsPath = join(dirname(path), 'tags.csv');
  if (existsSync(tagsPath)) {
    readFileSync(tagsPath, 'utf8')
      .split('\n')
      .forEach((line, n) => {
        if (!line.trim() || (n === 0 && /^userId,/i.test(line))) return;
        const [, movieId, tag] = csvFields(line);
        const item = out.get(movieId?.trim() ?? '');
        if (item && tag?.trim()) (item.userTags ??= []).push(tag.trim());
      });
  }
  return out;
}
