import { chunkText } from './text-chunker';

const para = (words: number, seed: string) => Array.from({ length: words }, (_, i) => `${seed}${i}`).join(' ') + '.';

describe('chunkText', () => {
  it('keeps a short document in one chunk and records its headings', () => {
    const chunks = chunkText('# Runbook\n\n## Restart\n\nRestart the pod with kubectl.\n', {
      contentType: 'text/markdown',
      chunkSize: 500,
      overlap: 100,
    });
    expect(chunks).toEqual([{ index: 0, content: 'Restart the pod with kubectl.', headings: ['Runbook', 'Restart'] }]);
  });

  it('never lets a chunk span two sections, and nests headings by level', () => {
    const text = ['# A', 'alpha text', '## B', 'beta text', '### C', 'gamma text', '## D', 'delta text'].join('\n\n');
    const chunks = chunkText(text, { contentType: 'text/markdown', chunkSize: 500, overlap: 0 });
    expect(chunks.map((c) => [c.headings, c.content])).toEqual([
      [['A'], 'alpha text'],
      [['A', 'B'], 'beta text'],
      [['A', 'B', 'C'], 'gamma text'],
      [['A', 'D'], 'delta text'],
    ]);
  });

  it('breaks at paragraphs, within the size, and repeats whole trailing paragraphs as overlap', () => {
    const paragraphs = Array.from({ length: 8 }, (_, i) => para(12, `p${i}w`));
    const chunks = chunkText(paragraphs.join('\n\n'), { contentType: 'text/plain', chunkSize: 300, overlap: 120 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.content.length).toBeLessThanOrEqual(300);
      // every chunk is made of whole paragraphs
      for (const part of chunk.content.split('\n\n')) expect(paragraphs).toContain(part);
    }
    for (let i = 1; i < chunks.length; i++) {
      const previousLast = chunks[i - 1].content.split('\n\n').pop();
      expect(chunks[i].content.startsWith(previousLast as string)).toBe(true);
    }
    // every paragraph is somewhere
    for (const p of paragraphs) expect(chunks.some((c) => c.content.includes(p))).toBe(true);
  });

  it('splits a paragraph longer than a chunk at sentences, then words', () => {
    const sentences = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} says something useful`).join('. ');
    const chunks = chunkText(sentences, { contentType: 'text/plain', chunkSize: 200, overlap: 50 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(chunk.content.length).toBeLessThanOrEqual(200);
    const oneWord = 'x'.repeat(450);
    const cut = chunkText(oneWord, { contentType: 'text/plain', chunkSize: 200, overlap: 0 });
    expect(cut.map((c) => c.content.length)).toEqual([200, 200, 50]);
  });

  it('keeps a fenced code block whole, even when it holds a # line', () => {
    const md = '# Deploy\n\n```bash\n# not a heading\nhelm upgrade app ./chart\n```\n\nThen watch the rollout.';
    const chunks = chunkText(md, { contentType: 'text/markdown', chunkSize: 500, overlap: 0 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0].headings).toEqual(['Deploy']);
    expect(chunks[0].content).toContain('# not a heading\nhelm upgrade app ./chart\n```');
  });

  it('drops chunks with no words, treats Markdown as text in plain mode, and rejects bad options', () => {
    expect(chunkText('---\n\n***', { contentType: 'text/plain', chunkSize: 200, overlap: 0 })).toEqual([]);
    const plain = chunkText('# not a heading\n\ntext', { contentType: 'text/plain', chunkSize: 200, overlap: 0 });
    expect(plain[0].headings).toEqual([]);
    expect(() => chunkText('x', { contentType: 'text/plain', chunkSize: 200, overlap: 150 })).toThrow(/overlap/);
  });
});
