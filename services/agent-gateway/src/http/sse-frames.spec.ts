import { chunkFrames } from './sse-frames';

describe('chunkFrames', () => {
  const base = {
    id: 'chatcmpl-abc',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'agent/"quoted"\\model',
    system_fingerprint: null,
  };
  const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
  const frames = chunkFrames('abc', 1700000000, 'agent/"quoted"\\model');

  it('gives the bytes JSON.stringify gives for each chunk, and parses back to it', () => {
    const text = 'héllo "world"\n\u2028 </script> \\ 😀';
    expect(frames.role).toBe(
      frame({
        ...base,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }],
      }),
    );
    expect(frames.delta(text)).toBe(
      frame({ ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null, logprobs: null }] }),
    );
    expect(JSON.parse(frames.delta(text).slice(6)).choices[0].delta.content).toBe(text);
    expect(frames.finish('length')).toBe(
      frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'length', logprobs: null }] }),
    );
    expect(frames.usage({ inputTokens: 3, outputTokens: 4, cachedInputTokens: 1 })).toBe(
      frame({
        ...base,
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 1 } },
      }),
    );
  });
});
