import { findNearDuplicates, jaccard, templateTokens } from './template-similarity';

describe('templateTokens', () => {
  it('lower-cases, strips placeholders and ignores whitespace and punctuation', () => {
    expect([...templateTokens('Review  {code}\nfor BUGS, then {{explain}}.')]).toEqual([
      'review',
      'for',
      'bugs',
      'then',
      'explain',
    ]);
  });
});

describe('jaccard', () => {
  it('is |A∩B| / |A∪B|', () => {
    expect(jaccard(new Set(['a', 'b', 'c']), new Set(['b', 'c', 'd']))).toBe(0.5);
    expect(jaccard(new Set(), new Set())).toBe(1);
    expect(jaccard(new Set(['a']), new Set())).toBe(0);
  });
});

describe('findNearDuplicates', () => {
  const words = Array.from({ length: 20 }, (_, i) => `word${i}`).join(' ');
  it('flags templates that differ only in placeholders, case and whitespace', () => {
    const pairs = findNearDuplicates([`Check {a} ${words}`, `CHECK   {b}\n${words}`], (t) => t, 0.9);
    expect(pairs).toHaveLength(1);
    expect(pairs[0].similarity).toBe(1);
  });

  it('flags a template with one word changed among many, and not genuinely different ones', () => {
    const pairs = findNearDuplicates(
      [`Audit ${words}`, `Inspect ${words}`, 'Write a haiku about {topic} in the style of Basho.'],
      (t) => t,
      0.9,
    );
    expect(pairs.map((p) => [p.a, p.b])).toEqual([[`Audit ${words}`, `Inspect ${words}`]]);
    expect(pairs[0].similarity).toBeCloseTo(20 / 22);
  });

  it('does not flag pairs below the threshold', () => {
    expect(
      findNearDuplicates(['Deploy the api to staging', 'Deploy the web app to production'], (t) => t, 0.9),
    ).toEqual([]);
  });
});
