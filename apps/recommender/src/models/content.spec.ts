import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postText, readItemTexts } from '../content/item-texts';
import { plainAnalyzer, textAnalyzer } from '../content/text-analyzer';
import { TfIdf } from '../content/tfidf';
import { readMovieLens } from '../data/readers';
import { leaveOneOut } from '../data/split';
import { coldStartSplit } from '../eval/cold-start';
import { evaluateSampled } from '../eval/metrics';
import { syntheticMoviesCsv, syntheticRatingsCsv } from '../testing/synthetic';
import { loadTf } from '../tf/tf-backend';
import { ContentModel } from './content.model';
import { HybridModel } from './hybrid.model';
import { ItemPopModel } from './item-pop.model';
import { trainingData } from './model';
import { loadModel } from './model-factory';

jest.setTimeout(90_000);

const dir = mkdtempSync(join(tmpdir(), 'recs-content-'));
const ratings = join(dir, 'ratings.csv');
const movies = join(dir, 'movies.csv');
writeFileSync(ratings, syntheticRatingsCsv({ users: 120, items: 240, perUser: 20 }));
// Each item's genre is its taste cluster: text that predicts who likes it.
writeFileSync(movies, syntheticMoviesCsv({ items: 240, clusters: 6 }));

beforeAll(async () => {
  await loadTf('auto');
});

describe('text features', () => {
  it('lemmatises words, drops stop words and punctuation, keeps years, and makes keywords terms of their own', () => {
    const terms = textAnalyzer().terms('The dogs were running (1995)', ['Sci-Fi']);
    expect(terms).toContain('1995');
    expect(terms).toContain('#sci-fi');
    expect(terms).not.toContain('the');
    expect(terms).not.toContain('(');
    // With wink-nlp the lemmas are dictionary forms; the plain analyzer keeps the words as written.
    if (!textAnalyzer().fallbackReason) expect(terms).toEqual(expect.arrayContaining(['dog', 'run']));
    expect(plainAnalyzer().terms('The dogs were running')).toEqual(['dogs', 'running']);
  });

  it('TF-IDF rows are L2-normalised and weigh rare terms above common ones; unknown terms are dropped', () => {
    const tfidf = TfIdf.fit([['a', 'b'], ['a', 'c'], ['a', 'b'], ['a']], { minDf: 1 });
    const rows = tfidf.transform([['a', 'b', 'zzz']]);
    const weights = Array.from(rows.weights);
    expect(weights.reduce((s, w) => s + w * w, 0)).toBeCloseTo(1, 6);
    expect(rows.terms.length).toBe(2);
    const weightOf = (term: string) => weights[Array.from(rows.terms).indexOf(tfidf.terms.indexOf(term))];
    expect(weightOf('b')).toBeGreaterThan(weightOf('a'));
    const state = TfIdf.from(tfidf.state()).transform([['a', 'b']]);
    expect(Array.from(state.weights)).toEqual(Array.from(tfidf.transform([['a', 'b']]).weights));
  });

  it('reads MovieLens titles and genres, and platform posts as JSON lines', () => {
    const texts = readItemTexts(movies);
    expect(texts.get('m41')).toEqual({ text: 'Item 41, the movie 2001', keywords: ['c1'] });
    const posts = join(dir, 'posts.jsonl');
    writeFileSync(posts, '{"id": "p1", "body": "Sunset over the harbour", "tags": ["photo", "sea"]}\n');
    expect(readItemTexts(posts).get('p1')).toEqual(postText({ body: 'Sunset over the harbour', tags: ['photo', 'sea'] }));
  });
});

describe('content-based and hybrid models', () => {
  it('the content model ranks by text, round-trips, and scores a new item from its text alone', async () => {
    const split = leaveOneOut(await readMovieLens(ratings), { seed: 5 });
    const data = trainingData(split.train);
    const model = new ContentModel({ itemText: movies });
    await model.fit(data);
    const pop = new ItemPopModel();
    await pop.fit(data);
    expect(evaluateSampled(model, split).hr).toBeGreaterThan(evaluateSampled(pop, split).hr);
    await model.save(join(dir, 'content'));
    const loaded = await loadModel(join(dir, 'content'), 'content');
    expect(Array.from(loaded.scoreUser(4))).toEqual(Array.from(model.scoreUser(4)));
    // User u4 is of cluster 4: a new post tagged c4 scores above one tagged c1.
    const [mine, other] =
      loaded.scoreNewItems?.(4, [postText({ body: 'a new one', tags: ['c4'] }), postText({ body: 'a new one', tags: ['c1'] })]) ?? [];
    expect(mine).toBeGreaterThan(other);
  });

  it('on items held out of training entirely, content and hybrid rank far above what popularity can', async () => {
    const cold = coldStartSplit(await readMovieLens(ratings), { fraction: 0.2, seed: 3 });
    const pop = new ItemPopModel();
    await pop.fit(cold.trainData);
    const content = new ContentModel({ itemText: movies });
    await content.fit(cold.trainData);
    const hybrid = new HybridModel({ itemText: movies, factors: 16, epochs: 8, batchSize: 256, learningRate: 0.01 });
    const fit = await hybrid.fit(cold.trainData);
    expect(fit.losses[fit.losses.length - 1]).toBeLessThan(fit.losses[0]);
    // Popularity has no counts for a held-out item: every candidate ties, and ties count against a model.
    expect(evaluateSampled(pop, cold).hr).toBe(0);
    expect(evaluateSampled(content, cold).hr).toBeGreaterThan(0.5);
    expect(evaluateSampled(hybrid, cold).hr).toBeGreaterThan(0.5);
    await hybrid.save(join(dir, 'hybrid'));
    const loaded = await loadModel(join(dir, 'hybrid'), 'hybrid');
    const users = Int32Array.from([1, 2, 3]);
    const items = Int32Array.from([5, 6, 7]);
    const before = hybrid.scorePairs(users, items);
    loaded.scorePairs(users, items).forEach((s, k) => expect(s).toBeCloseTo(before[k], 5));
    expect(loaded.linearFactors?.()?.dim).toBe(16);
    [hybrid, loaded].forEach((m) => m.dispose());
  });
});
