import type { OutputSchema } from '@hishamos/catalog';
import {
  scoreClarity,
  scoreCompleteness,
  scoreCorrectness,
  scoreDepth,
  scoreFormatting,
  scoreOutput,
  scoreStructure,
  WEIGHTS,
} from './quality-scorer';

const schema: OutputSchema = {
  type: 'object',
  required: ['summary', 'code', 'risks'],
  properties: {
    summary: { title: 'Summary', description: 'what and why' },
    code: { title: 'Code', description: 'the code' },
    risks: { title: 'Risks', description: 'what could go wrong' },
  },
};

const complete = `## Summary
A rate limiter for the public API, using a token bucket per API key. For example, 100 requests a minute.

## Code
\`\`\`ts
export function allow(bucket: { tokens: number }): boolean {
  if (bucket.tokens <= 0) return false;
  bucket.tokens -= 1;
  return true;
}
\`\`\`

## Risks
- Clock skew between replicas.
- Memory per key; evict idle buckets.
`;

const missing = `## Summary
A rate limiter.

## Code
\`\`\`ts
export const allow = () => true;
\`\`\`
`;

const wall = Array.from({ length: 220 }, (_, i) => `word${i}`).join(' ');

describe('quality scorer', () => {
  it('weights the five dimensions as the seed does', () => {
    expect(Object.values(WEIGHTS).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(WEIGHTS).toEqual({ completeness: 0.3, clarity: 0.2, correctness: 0.25, depth: 0.15, formatting: 0.1 });
  });

  it('is deterministic for a given output, schema and model', () => {
    const a = scoreOutput({ output: complete, outputSchema: schema });
    const b = scoreOutput({ output: complete, outputSchema: schema });
    expect(a).toEqual(b);
    const m1 = scoreOutput({ output: complete, outputSchema: schema, predictedRating: { value: 9, version: 'rf-v3' } });
    expect(m1).toEqual(
      scoreOutput({ output: complete, outputSchema: schema, predictedRating: { value: 9, version: 'rf-v3' } }),
    );
    expect(m1.modelVersion).toBe('rf-v3');
    expect(a.modelVersion).toBe('heuristic-v1');
  });

  it('scores completeness by the required sections present with content', () => {
    expect(scoreCompleteness(complete, schema)).toBe(1);
    expect(scoreCompleteness(missing, schema)).toBeCloseTo(2 / 3, 5);
    expect(scoreCompleteness('## Summary\n\n## Code\n\n## Risks\n', schema)).toBe(0);
    expect(scoreCompleteness('no headings at all', schema)).toBe(0);
  });

  it('judges output with no output schema (agent chats) by generic structure signals', () => {
    const reply = `Thanks for reaching out, and sorry for the trouble with your payment since 14:05.

- Our team is looking into the checkout errors right now.
- Your card has not been charged for the failed attempts.

We will email you as soon as payments work again.`;
    expect(scoreCompleteness(reply)).toBe(1);
    expect(scoreCompleteness(reply, { type: 'object', properties: {} })).toBe(1);
    expect(scoreStructure(reply)).toBe(1);
    // Cut off mid-sentence (an interrupted stream): not finished.
    expect(scoreStructure(reply.slice(0, 120))).toBeCloseTo(0.7, 5);
    // An unclosed code block is not finished either.
    const fix = 'Here is the fix, for every call site of the parser:\n```ts\nparse(x);';
    expect(scoreStructure(`${fix}\n\`\`\``)).toBeCloseTo(0.65, 5);
    expect(scoreStructure(fix)).toBeCloseTo(0.35, 5);
    expect(scoreStructure('Yes.')).toBeCloseTo(0.5, 5);
    expect(scoreStructure('free-form chat answer')).toBeCloseTo(0.2, 5);
    expect(scoreStructure('   \n ')).toBe(0);
    // A structured answer outranks a short one, which outranks nothing at all.
    const full = scoreOutput({ output: reply }).total;
    const short = scoreOutput({ output: 'Yes.' }).total;
    expect(full).toBeGreaterThan(short);
    expect(short).toBeGreaterThan(scoreOutput({ output: '' }).total);
  });

  it('scores a structured answer clearer than a wall of text', () => {
    expect(scoreClarity(complete)).toBeGreaterThanOrEqual(0.9);
    expect(scoreClarity(wall)).toBe(0);
    expect(scoreClarity(`## Plan\n- one\n- two`)).toBeCloseTo(0.7, 5);
  });

  it('uses the model for correctness when one is active, and a documented heuristic otherwise', () => {
    expect(scoreCorrectness(complete, { predictedRating: { value: 6, version: 'rf-v1' } })).toBeCloseTo(0.6, 5);
    expect(scoreCorrectness(complete, {})).toBeCloseTo(0.8, 5);
    expect(scoreCorrectness("I'm unable to help with that.", {})).toBeCloseTo(0.4, 5);
    expect(scoreCorrectness('Step 1: TODO', {})).toBeCloseTo(0.6, 5);
    expect(scoreCorrectness(complete, { offline: true })).toBe(0.5);
  });

  it('rewards depth: length, code, examples and self-critique', () => {
    expect(scoreDepth('short')).toBeCloseTo(0.2, 5);
    expect(scoreDepth(complete)).toBeGreaterThan(scoreDepth(missing));
    const long = `${wall} ${wall}\n\`\`\`js\nx()\n\`\`\`\nFor example this. Risks: none.`;
    expect(scoreDepth(long)).toBe(1);
  });

  it('penalises broken Markdown', () => {
    expect(scoreFormatting(complete, schema)).toBe(1);
    expect(scoreFormatting('## Code\n```ts\nunclosed', schema)).toBeCloseTo(0.6, 5);
    expect(scoreFormatting('plain text', schema)).toBeCloseTo(0.7, 5);
    expect(scoreFormatting(`## A\n${'x'.repeat(400)}`, schema)).toBeCloseTo(0.8, 5);
  });

  it('ranks a complete structured answer above a partial one above a wall of text', () => {
    const full = scoreOutput({ output: complete, outputSchema: schema }).total;
    const part = scoreOutput({ output: missing, outputSchema: schema }).total;
    const bad = scoreOutput({ output: wall, outputSchema: schema }).total;
    expect(full).toBeGreaterThan(part);
    expect(part).toBeGreaterThan(bad);
    expect(full).toBeLessThanOrEqual(10);
    expect(bad).toBeGreaterThanOrEqual(0);
  });
});
