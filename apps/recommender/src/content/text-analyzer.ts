/**
 * Turns item text into terms for TF-IDF: the lemmas of its words (wink-nlp with its English model
 * wink-eng-lite-web-model: tokens, part of speech, lemmas, stop-word flags), lowercased, stop words and
 * punctuation dropped, four-digit numbers (years) kept; each keyword (a genre, a tag) is one more term `#keyword`.
 * When the two packages are not installed, a plain analyzer (lowercased letter runs, a short English stop-word
 * list, no lemmas) stands in and says so in its name; a model records the analyzer it was built with.
 */
export interface TextAnalyzer {
  /** Which analyzer, with versions, e.g. `wink-nlp 2.4.0 + wink-eng-lite-web-model 1.8.1`. */
  readonly name: string;
  /** Why the preferred analyzer is not used, when it is not. */
  readonly fallbackReason?: string;
  terms(text: string, keywords?: readonly string[]): string[];
}

interface WinkItems {
  out(what: unknown): string[];
}
interface WinkNlp {
  readDoc(text: string): { tokens(): WinkItems & { filter(f: (t: { out(what: unknown): unknown }) => boolean): WinkItems } };
  its: { lemma: unknown; type: unknown; stopWordFlag: unknown; value: unknown };
}

let cached: TextAnalyzer | undefined;

/** The analyzer of this process (wink-nlp when installed), made once. */
export function textAnalyzer(): TextAnalyzer {
  cached ??= loadAnalyzer();
  return cached;
}

function loadAnalyzer(): TextAnalyzer {
  try {
    const winkNlp = require('wink-nlp') as (model: unknown, pipe?: string[]) => WinkNlp;
    const model = require('wink-eng-lite-web-model') as unknown;
    const versions = `wink-nlp ${(require('wink-nlp/package.json') as { version: string }).version} + wink-eng-lite-web-model ${(require('wink-eng-lite-web-model/package.json') as { version: string }).version}`;
    const nlp = winkNlp(model, ['pos']);
    const its = nlp.its;
    return {
      name: versions,
      terms: (text, keywords = []) => {
        const tokens = nlp.readDoc(text).tokens();
        const lemmas = tokens.out(its.lemma);
        const types = tokens.out(its.type);
        const stop = tokens.out(its.stopWordFlag) as unknown as boolean[];
        const out: string[] = [];
        for (let k = 0; k < lemmas.length; k++) {
          const lemma = lemmas[k].toLowerCase();
          if (types[k] === 'word' && !stop[k] && lemma.length > 1) out.push(lemma);
          else if (types[k] === 'number' && /^\d{4}$/.test(lemma)) out.push(lemma);
        }
        return [...out, ...keywordTerms(keywords)];
      },
    };
  } catch (error) {
    return plainAnalyzer(`wink-nlp does not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

const STOP_WORDS = new Set(
  'a an and are as at be but by for from has have he her his i in is it its of on or she that the their them they this to was were will with you your'.split(
    ' ',
  ),
);

/** Lowercased letter runs and four-digit numbers, without stop words or lemmas. */
export function plainAnalyzer(fallbackReason?: string): TextAnalyzer {
  return {
    name: 'plain (no lemmas)',
    fallbackReason,
    terms: (text, keywords = []) => {
      const words = (text.toLowerCase().match(/\p{L}[\p{L}\p{N}']*|\d{4}/gu) ?? []).filter((w) => w.length > 1 && !STOP_WORDS.has(w));
      return [...words, ...keywordTerms(keywords)];
    },
  };
}

function keywordTerms(keywords: readonly string[]): string[] {
  return keywords
    .map((k) => k.trim().toLowerCase())
    .filter(Boolean)
    .map((k) => `#${k}`);
}
