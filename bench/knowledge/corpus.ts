/**
 * A deterministic synthetic corpus for bench/knowledge: chunks of text about topics, embedded with
 * the knowledge base's offline hashing embedder (the vectors the product stores when no provider
 * embedder is configured), or dense clustered vectors that look like a neural embedder's.
 */
import { HashingEmbedder } from '../../services/agent-gateway/src/knowledge/embedding/hashing.embedder';

export const DIMENSIONS = 1536;

/** mulberry32: a small, fast, seedable PRNG (the same seed gives the same corpus). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES =
  'ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu'.split(
    ' ',
  );

/** Zipf-distributed index in [0, n): a few words are common, most are rare. */
function zipf(random: () => number, n: number): number {
  // inverse of the continuous approximation of a Zipf(1) CDF over [1, n]
  return Math.min(n - 1, Math.floor(Math.exp(random() * Math.log(n + 1)) - 1));
}

export interface CorpusOptions {
  seed: number;
  topics: number;
  vocabulary: number;
  wordsPerTopic: number;
}

/** Topics over a made-up vocabulary; chunks mix one or two topics with common words. */
export class TextCorpus {
  private readonly words: string[];
  private readonly topicWords: number[][];
  private readonly embedder = new HashingEmbedder();

  constructor(private readonly options: CorpusOptions) {
    const random = prng(options.seed);
    const seen = new Set<string>();
    this.words = [];
    while (this.words.length < options.vocabulary) {
      const length = 2 + Math.floor(random() * 3);
      let word = '';
      for (let i = 0; i < length; i++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
      if (!seen.has(word)) {
        seen.add(word);
        this.words.push(word);
      }
    }
    this.topicWords = Array.from({ length: options.topics }, () =>
      Array.from({ length: options.wordsPerTopic }, () => Math.floor(random() * options.vocabulary)),
    );
  }

  /** The text of chunk `i` (deterministic in i). */
  chunk(i: number): string {
    const random = prng(this.options.seed * 7919 + i + 1);
    const primary = Math.floor(random() * this.options.topics);
    const secondary = random() < 0.3 ? Math.floor(random() * this.options.topics) : -1;
    const length = 60 + Math.floor(random() * 140);
    const out: string[] = [];
    for (let w = 0; w < length; w++) {
      const r = random();
      if (r < 0.35) out.push(this.words[this.topicWords[primary][zipf(random, this.options.wordsPerTopic)]]);
      else if (r < 0.45 && secondary >= 0)
        out.push(this.words[this.topicWords[secondary][zipf(random, this.options.wordsPerTopic)]]);
      else out.push(this.words[zipf(random, this.options.vocabulary)]);
    }
    return out.join(' ');
  }

  /** A short query about one topic (a different stream from the chunks: never a stored text). */
  query(i: number): string {
    const random = prng(this.options.seed * 104729 + i + 1);
    const topic = Math.floor(random() * this.options.topics);
    const length = 5 + Math.floor(random() * 10);
    const out: string[] = [];
    for (let w = 0; w < length; w++) {
      if (random() < 0.6) out.push(this.words[this.topicWords[topic][zipf(random, this.options.wordsPerTopic)]]);
      else out.push(this.words[zipf(random, this.options.vocabulary)]);
    }
    return out.join(' ');
  }

  embed(text: string): number[] {
    return this.embedder.embedOne(text);
  }
}

/** Dense unit vectors around random cluster centres (how neural embeddings of related texts sit). */
export class ClusteredVectors {
  private readonly centres: Float32Array[];

  constructor(
    private readonly seed: number,
    clusters: number,
    private readonly spread = 0.9,
  ) {
    const random = prng(seed);
    this.centres = Array.from({ length: clusters }, () => {
      const c = new Float32Array(DIMENSIONS);
      for (let d = 0; d < DIMENSIONS; d++) c[d] = gaussian(random);
      return c;
    });
  }

  private make(random: () => number): number[] {
    const centre = this.centres[Math.floor(random() * this.centres.length)];
    const v = new Array<number>(DIMENSIONS);
    let norm = 0;
    for (let d = 0; d < DIMENSIONS; d++) {
      v[d] = centre[d] + this.spread * gaussian(random);
      norm += v[d] * v[d];
    }
    norm = Math.sqrt(norm);
    for (let d = 0; d < DIMENSIONS; d++) v[d] /= norm;
    return v;
  }

  vector(i: number): number[] {
    return this.make(prng(this.seed * 7919 + i + 1));
  }

  query(i: number): number[] {
    return this.make(prng(this.seed * 104729 + i + 1));
  }
}

function gaussian(random: () => number): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
