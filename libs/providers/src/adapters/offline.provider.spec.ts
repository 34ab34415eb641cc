import { OFFLINE_NOTICE, OfflineProvider, offlineEmbedding } from './offline.provider';

describe('OfflineProvider', () => {
  const offline = new OfflineProvider();
  const request = {
    model: 'offline',
    messages: [
      { role: 'user' as const, content: 'Review this.\n## Verdict — approve or not\n## Issues — what is wrong' },
    ],
  };

  it('answers deterministically with the requested sections, labelled as produced without a model', async () => {
    const a = await offline.chat(request);
    const b = await offline.chat(request);
    expect(a).toEqual(b);
    expect(a.offline).toBe(true);
    expect(a.model).toBe('offline');
    expect(a.content.startsWith(OFFLINE_NOTICE)).toBe(true);
    expect(a.content).toContain('## Verdict');
    expect(a.content).toContain('## Issues');
    expect(a.usage.inputTokens).toBeGreaterThan(0);
    expect(a.usage.outputTokens).toBeGreaterThan(0);
  });

  it('prefers the sections it is given over those in the prompt', async () => {
    const r = await offline.chat({
      ...request,
      outputSections: [{ key: 'plan', title: 'Plan', description: 'steps' }],
    });
    expect(r.content).toContain('## Plan');
    expect(r.content).not.toContain('## Verdict');
  });

  it('streams the same text it would return, then its usage', async () => {
    const whole = await offline.chat(request);
    let text = '';
    let done;
    for await (const e of offline.stream(request)) {
      if (e.type === 'delta') text += e.text;
      else done = e;
    }
    expect(text).toBe(whole.content);
    expect(done).toMatchObject({ type: 'done', usage: whole.usage, offline: true });
  });

  it('embeds deterministically into unit vectors', async () => {
    const r = await offline.embed({ model: 'offline', input: ['same words', 'same words', 'other'], dimensions: 32 });
    expect(r.embeddings[0]).toEqual(r.embeddings[1]);
    expect(r.embeddings[0]).toHaveLength(32);
    const norm = Math.sqrt(offlineEmbedding('a b c', 16).reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 6);
  });
});
