import { KNOWLEDGE_DIMENSIONS, EmptyEmbeddingInputError } from './embedder';
import { EmbedderRegistry } from './embedder.registry';
import { HashingEmbedder, stem, tokenize } from './hashing.embedder';

const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder();

  it('is deterministic, 1536-dimensional, unit length and labelled offline', async () => {
    const [a] = await embedder.embed(['Rotate the database credentials every 90 days'], 'document');
    const [b] = await embedder.embed(['Rotate the database credentials every 90 days'], 'query');
    expect(a).toHaveLength(KNOWLEDGE_DIMENSIONS);
    expect(a).toEqual(b);
    expect(Math.sqrt(a.reduce((s, v) => s + v * v, 0))).toBeCloseTo(1, 10);
    expect(embedder.offline).toBe(true);
  });

  it('scores shared vocabulary above unrelated text', async () => {
    const [q, near, far] = await embedder.embed(
      [
        'how do I rotate database keys',
        'Key rotation: rotating the database keys is done by the security team',
        'The marketing campaign launches on Monday with a new blog post',
      ],
      'document',
    );
    expect(cosine(q, near)).toBeGreaterThan(0.3);
    expect(Math.abs(cosine(q, far))).toBeLessThan(0.15);
  });

  it('tokenizes with stop words removed and light stemming', () => {
    expect(tokenize('The keys are rotating')).toEqual(['key', 'rotat']);
    expect(tokenize('the of and')).toEqual(['the', 'of', 'and']);
    expect(stem('policies')).toBe('policy');
    expect(stem('status')).toBe('status');
  });

  it('refuses text without words', async () => {
    await expect(embedder.embed(['ok', '--- !!!'], 'query')).rejects.toBeInstanceOf(EmptyEmbeddingInputError);
  });
});

describe('EmbedderRegistry', () => {
  it('has hashing, accepts more by id, and refuses the wrong dimension or an unknown id', async () => {
    const registry = new EmbedderRegistry();
    expect(registry.ids()).toEqual(['hashing']);
    registry.register({
      id: 'fake',
      dimensions: KNOWLEDGE_DIMENSIONS,
      offline: false,
      embed: async (texts) => texts.map(() => new Array<number>(KNOWLEDGE_DIMENSIONS).fill(0)),
    });
    expect(registry.get('fake').offline).toBe(false);
    expect(() => registry.register({ id: 'small', dimensions: 384, offline: false, embed: async () => [] })).toThrow(
      /384 dimensions/,
    );
    expect(() => registry.get('nope')).toThrow(/registered: fake, hashing/);
  });
});
