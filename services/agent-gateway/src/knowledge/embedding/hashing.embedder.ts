import { KNOWLEDGE_DIMENSIONS, EmptyEmbeddingInputError, type Embedder } from './embedder';

/** Common English function words: they carry no topic and would dominate the hashed vector. */
const STOPWORDS = new Set(
  (
    'a an and are as at be been being but by can could did do does for from had has have having he her his how i if in ' +
    'into is it its itself just may me might more most must my no nor not of off on once only or other our out over own ' +
    'same shall she should so some such than that the their them then there these they this those through to too under ' +
    'until up very was we were what when where which while who whom why will with would you your yours'
  ).split(' '),
);

/** A light, deterministic suffix stripper (plurals, -ing, -ed) so "keys" meets "key" and "rotating" meets "rotate". */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (/[^sui]s$/.test(w)) w = w.slice(0, -1);
  for (const suffix of ['ing', 'ed', 'e']) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 4) return w.slice(0, -suffix.length);
  }
  return w;
}

/** The words of a text, lower-cased, NFKC-normalised, stemmed, without stop words (unless that leaves none). */
export function tokenize(text: string): string[] {
  const words =
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  const content = words.filter((w) => !STOPWORDS.has(w));
  return (content.length > 0 ? content : words).map(stem);
}

/** FNV-1a (32-bit) with a final avalanche, seeded: the feature's bucket and its sign come from two seeds. */
function hash32(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The offline embedder: signed feature hashing of stemmed words (weight 1) and adjacent word pairs
 * (weight 0.5) into 1536 buckets, with sublinear term frequency (1 + ln tf), L2-normalised.
 * Deterministic and local, it matches shared vocabulary, not meaning: chunks it embedded are
 * labelled `embedding_offline: true` in their metadata. Good enough to run retrieval offline and
 * in tests; configure a provider-backed embedder for semantic search.
 */
export class HashingEmbedder implements Embedder {
  readonly id = 'hashing';
  readonly dimensions = KNOWLEDGE_DIMENSIONS;
  readonly offline = true;
  readonly model = 'feature-hashing-v1';

  async embed(texts: readonly string[], _purpose?: 'document' | 'query'): Promise<number[][]> {
    return texts.map((text, index) => this.embedOne(text, index));
  }

  embedOne(text: string, index = 0): number[] {
    const tokens = tokenize(text);
    if (tokens.length === 0) throw new EmptyEmbeddingInputError(index);
    const counts = new Map<string, number>();
    const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
    for (let i = 0; i < tokens.length; i++) {
      add(`w:${tokens[i]}`, 1);
      if (i + 1 < tokens.length) add(`b:${tokens[i]} ${tokens[i + 1]}`, 0.5);
    }
    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [feature, tf] of counts) {
      const bucket = hash32(feature, 0) % this.dimensions;
      const sign = hash32(feature, 0x9e3779b9) & 1 ? 1 : -1;
      const weight = tf >= 1 ? 1 + Math.log(tf) : tf;
      vector[bucket] += sign * weight;
    }
    let norm = 0;
    for (const v of vector) norm += v * v;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new EmptyEmbeddingInputError(index);
    return vector.map((v) => v / norm);
  }
}
