import {
  FakeProviderServer,
  FallbackChain,
  FallbackExhaustedError,
  ProviderError,
  ProviderRegistry,
  type ChatRequest,
  type ChatStreamEvent,
  type CircuitChange,
  type LlmProvider,
  type ProviderObserver,
} from '@hishamos/providers';

jest.setTimeout(30000);

const KEY = 'fake-key-123';
const request: ChatRequest = {
  model: 'fake-model',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say hello.\n## Summary — one line\n## Details — the rest' },
  ],
  maxOutputTokens: 100,
};

async function collect(stream: AsyncIterable<ChatStreamEvent>): Promise<{ text: string; done?: ChatStreamEvent }> {
  let text = '';
  let done: ChatStreamEvent | undefined;
  for await (const e of stream) {
    if (e.type === 'delta') text += e.text;
    else done = e;
  }
  return { text, done };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ProviderError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('provider adapters with the real SDKs against the fake provider server', () => {
  let fake: FakeProviderServer;
  let registry: ProviderRegistry;
  const retries: { provider: string; kind: string; delayMs: number }[] = [];
  const changes: CircuitChange[] = [];
  const firstTokens: string[] = [];
  const observer: ProviderObserver = {
    retry: (e) => retries.push(e),
    firstToken: (e) => firstTokens.push(e.provider),
  };

  const kinds: Record<string, { kind: string; baseUrl: () => string }> = {
    openai: { kind: 'openai', baseUrl: () => fake.openaiBaseUrl },
    anthropic: { kind: 'anthropic', baseUrl: () => fake.anthropicBaseUrl },
    gemini: { kind: 'gemini', baseUrl: () => fake.geminiBaseUrl },
    openrouter: { kind: 'openrouter', baseUrl: () => fake.openaiBaseUrl },
  };

  function configure(id: string, policy = {}, apiKey = KEY): LlmProvider {
    const k = kinds[id];
    return registry.configure({ id, kind: k.kind, baseUrl: k.baseUrl(), apiKey }, policy);
  }

  beforeAll(async () => {
    fake = await FakeProviderServer.start({ apiKey: KEY });
  });
  afterAll(async () => fake.close());
  beforeEach(() => {
    fake.reset();
    retries.length = 0;
    changes.length = 0;
    firstTokens.length = 0;
    registry = new ProviderRegistry({
      observer,
      policy: { baseDelayMs: 10, maxDelayMs: 50 },
      breaker: { failureThreshold: 3, openMs: 400 },
      onCircuitChange: (c) => changes.push(c),
    });
  });

  describe.each(['openai', 'anthropic', 'gemini', 'openrouter'])('%s', (id) => {
    it('completes a chat with the provider-reported usage and sends the key', async () => {
      const p = configure(id);
      const r = await p.chat(request);
      expect(r.provider).toBe(id);
      expect(r.content).toContain('## Summary');
      expect(r.usage.estimated).toBeUndefined();
      expect(r.usage.inputTokens).toBeGreaterThan(0);
      expect(r.usage.outputTokens).toBeGreaterThan(0);
      expect(r.offline).toBe(false);
      const sent = fake.requests[0];
      const auth = sent.headers.authorization ?? sent.headers['x-api-key'] ?? sent.headers['x-goog-api-key'];
      expect(String(auth)).toContain(KEY);
    });

    it('streams deltas and ends with the usage the provider reported at the end of the stream', async () => {
      const p = configure(id);
      const { text, done } = await collect(p.stream(request));
      const whole = await p.chat(request);
      expect(text).toBe(whole.content);
      expect(done).toMatchObject({ type: 'done', provider: id, usage: whole.usage });
      expect((done as { usage: { estimated?: boolean } }).usage.estimated).toBeUndefined();
      expect(firstTokens).toEqual([id]);
      const streamed = fake.requests.find((r) => r.stream)!;
      if (id === 'openai' || id === 'openrouter')
        expect(streamed.body?.stream_options).toEqual({ include_usage: true });
    });

    it('lists models', async () => {
      const models = await configure(id).listModels();
      expect(models.map((m) => m.id)).toEqual(expect.arrayContaining(['fake-gpt', 'fake-claude']));
      expect(models.every((m) => m.provider === id)).toBe(true);
    });

    it('reports a wrong key as unauthorized without retrying', async () => {
      const err = await failure(configure(id, {}, 'wrong-key').chat(request));
      expect(err.kind).toBe('unauthorized');
      expect(err.status).toBe(401);
      expect(err.message).not.toContain('wrong-key');
      expect(fake.count()).toBe(1);
    });
  });

  it('sends the system prompt where each vendor expects it', async () => {
    await configure('anthropic').chat(request);
    await configure('gemini').chat(request);
    await configure('openai').chat(request);
    const [anthropic, gemini, openai] = fake.requests;
    expect(anthropic.body).toMatchObject({ system: 'You are terse.', max_tokens: 100 });
    expect(gemini.body).toMatchObject({ generationConfig: { maxOutputTokens: 100 } });
    expect(JSON.stringify(gemini.body?.systemInstruction)).toContain('You are terse.');
    expect(openai.body).toMatchObject({ max_completion_tokens: 100 });
  });

  it('embeds through OpenAI (base64 decoded by the SDK) and Gemini', async () => {
    const o = await configure('openai').embed!({ model: 'fake-embed', input: ['alpha beta', 'gamma'] });
    expect(o.embeddings).toHaveLength(2);
    expect(o.embeddings[0]).toHaveLength(8);
    expect(o.usage.inputTokens).toBeGreaterThan(0);
    const g = await configure('gemini').embed!({ model: 'fake-embed', input: ['alpha beta', 'gamma'] });
    expect(g.embeddings[0].map((x) => Math.round(x * 1e4))).toEqual(o.embeddings[0].map((x) => Math.round(x * 1e4)));
  });

  it('an OpenAI-compatible server needs a base URL and no key', async () => {
    expect(() => registry.configure({ id: 'vllm', kind: 'openai-compatible' })).toThrow(/base URL/);
    fake.apiKey = undefined;
    try {
      const p = registry.configure({ id: 'vllm', kind: 'openai-compatible', baseUrl: fake.openaiBaseUrl });
      const r = await p.chat(request);
      expect(r.provider).toBe('vllm');
      expect(fake.requests[0].body).toMatchObject({ max_tokens: 100 });
    } finally {
      fake.apiKey = KEY;
    }
  });

  it('rejects an unknown provider kind naming the known ones', () => {
    expect(() => registry.configure({ id: 'x', kind: 'nope' })).toThrow(/unknown provider kind nope.*openai/);
  });

  describe('retries', () => {
    it('waits as long as a 429 Retry-After says, then succeeds', async () => {
      fake.fail({ status: 429, retryAfter: '1' }, { route: 'openai.chat' });
      const r = await configure('openai').chat(request);
      expect(r.content).toBeTruthy();
      expect(fake.count('openai.chat')).toBe(2);
      expect(retries).toEqual([{ provider: 'openai', kind: 'rate_limited', delayMs: 1000, attempt: 1 }]);
    });

    it("honours OpenAI's retry-after-ms and Anthropic's Retry-After", async () => {
      fake.fail({ status: 429, retryAfterMs: 120 }, { route: 'openai.chat' });
      fake.fail({ status: 429, retryAfter: '0' }, { route: 'anthropic.messages' });
      await configure('openai').chat(request);
      await configure('anthropic').chat(request);
      expect(retries.map((r) => [r.provider, r.delayMs])).toEqual([
        ['openai', 120],
        ['anthropic', 0],
      ]);
    });

    it('gives up at once when Retry-After is longer than it may wait', async () => {
      fake.fail({ status: 429, retryAfter: '3600' }, { route: 'openai.chat' });
      const err = await failure(configure('openai').chat(request));
      expect(err.kind).toBe('rate_limited');
      expect(err.retryAfterMs).toBe(3_600_000);
      expect(fake.count()).toBe(1);
    });

    it('retries 500s with backoff and succeeds', async () => {
      fake.fail({ status: 500 }, { times: 2 });
      const r = await configure('anthropic').chat(request);
      expect(r.content).toBeTruthy();
      expect(fake.count()).toBe(3);
      expect(retries.map((r) => r.kind)).toEqual(['server_error', 'server_error']);
    });

    it('stops after the configured retries and reports the last error', async () => {
      fake.fail({ status: 503 }, { times: 10 });
      const err = await failure(configure('openai', { maxRetries: 2 }).chat(request));
      expect(err.kind).toBe('server_error');
      expect(err.extra.attempts).toBe(3);
      expect(fake.count()).toBe(3);
    });

    it('never retries a 400', async () => {
      fake.fail({ status: 400, message: 'bad field' }, { times: 5 });
      const err = await failure(configure('openai').chat(request));
      expect(err.kind).toBe('bad_request');
      expect(err.retryable).toBe(false);
      expect(fake.count()).toBe(1);
    });

    it('retries a connection reset (network error)', async () => {
      fake.fail({ reset: true }, { route: 'gemini.generate' });
      const r = await configure('gemini').chat(request);
      expect(r.content).toBeTruthy();
      expect(retries.map((r) => r.kind)).toEqual(['network']);
    });

    it('times out a slow attempt and retries it', async () => {
      fake.fail({ delayMs: 1500 }, { route: 'openai.chat' });
      const r = await configure('openai', { attemptTimeoutMs: 300 }).chat(request);
      expect(r.content).toBeTruthy();
      expect(retries.map((r) => r.kind)).toEqual(['timeout']);
      expect(fake.count('openai.chat')).toBe(2);
    });

    it('fails with a timeout once the total time is spent', async () => {
      fake.fail({ delayMs: 1500 }, { times: 10 });
      const err = await failure(
        configure('anthropic', { attemptTimeoutMs: 200, totalTimeoutMs: 500, maxRetries: 10 }).chat(request),
      );
      expect(err.kind).toBe('timeout');
      expect(fake.count()).toBeLessThan(5);
    });

    it('does not retry when the caller aborts', async () => {
      fake.fail({ delayMs: 2000 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const err = await failure(configure('openai').chat(request, { signal: ac.signal }));
      expect(err.kind).toBe('aborted');
      expect(fake.count()).toBe(1);
    });
  });

  describe('streams', () => {
    it('retries a stream that drops before its first chunk', async () => {
      fake.fail({ dropAfterChunks: 0 }, { route: 'openai.chat' });
      const { text, done } = await collect(configure('openai').stream(request));
      expect(text).toContain('## Summary');
      expect(done?.type).toBe('done');
      expect(fake.count()).toBe(2);
    });

    it.each(['openai', 'anthropic', 'gemini'])(
      'a %s stream dropped mid-way fails as interrupted with the text so far, not retried',
      async (id) => {
        const route = id === 'openai' ? 'openai.chat' : id === 'anthropic' ? 'anthropic.messages' : 'gemini.stream';
        fake.fail({ dropAfterChunks: 2 }, { route });
        const seen: string[] = [];
        const err = await failure(
          (async () => {
            for await (const e of configure(id).stream(request)) if (e.type === 'delta') seen.push(e.text);
          })(),
        );
        expect(err.kind).toBe('stream_interrupted');
        expect(seen.length).toBeGreaterThan(0);
        expect(err.extra.partialText).toBe(seen.join(''));
        expect(fake.count()).toBe(1);
      },
    );

    it('a stream that goes quiet is cut off by the idle timeout', async () => {
      fake.chunkDelayMs = 800;
      try {
        const err = await failure(collect(configure('openai', { streamIdleTimeoutMs: 200 }).stream(request)));
        expect(err.kind).toBe('stream_interrupted');
      } finally {
        fake.chunkDelayMs = 0;
      }
    });

    it('stopping early cancels the upstream request', async () => {
      fake.chunkDelayMs = 50;
      try {
        for await (const e of configure('anthropic').stream(request)) {
          if (e.type === 'delta') break;
        }
        expect(registry.breakerOf('anthropic').state).toBe('closed');
      } finally {
        fake.chunkDelayMs = 0;
      }
    });
  });

  describe('circuit breaker', () => {
    it('opens after repeated failures, fails fast, half-opens after the wait and closes on success', async () => {
      const p = configure('openai', { maxRetries: 0 });
      fake.fail({ status: 500 }, { times: 3 });
      for (let i = 0; i < 3; i++) expect((await failure(p.chat(request))).kind).toBe('server_error');
      expect(registry.breakerOf('openai').state).toBe('open');
      expect(changes.map((c) => c.to)).toEqual(['open']);
      expect(changes[0].error).toContain('500');

      const fast = await failure(p.chat(request));
      expect(fast.kind).toBe('circuit_open');
      expect(fast.fallbackable).toBe(true);
      expect(fake.count()).toBe(3);

      await new Promise((r) => setTimeout(r, 450));
      expect(registry.breakerOf('openai').state).toBe('half_open');
      const r = await p.chat(request);
      expect(r.content).toBeTruthy();
      expect(changes.map((c) => c.to)).toEqual(['open', 'half_open', 'closed']);
    });

    it('a failed trial call opens the circuit again', async () => {
      const p = configure('anthropic', { maxRetries: 0 });
      fake.fail({ status: 502 }, { times: 4 });
      for (let i = 0; i < 3; i++) await failure(p.chat(request));
      await new Promise((r) => setTimeout(r, 450));
      expect((await failure(p.chat(request))).kind).toBe('server_error');
      expect(changes.map((c) => c.to)).toEqual(['open', 'half_open', 'open']);
      expect((await failure(p.chat(request))).kind).toBe('circuit_open');
    });

    it('429s and 400s do not open it', async () => {
      const p = configure('openai', { maxRetries: 0 });
      fake.fail({ status: 429, retryAfter: '3600' }, { times: 3 });
      fake.fail({ status: 400 }, { times: 3 });
      for (let i = 0; i < 6; i++) await failure(p.chat(request));
      expect(registry.breakerOf('openai').state).toBe('closed');
    });

    it('stops retrying once the circuit opens', async () => {
      const p = configure('gemini', { maxRetries: 10 });
      fake.fail({ status: 500 }, { times: 10 });
      const err = await failure(p.chat(request));
      expect(err.kind).toBe('circuit_open');
      expect(fake.count()).toBe(3);
    });
  });

  describe('fallback chain', () => {
    it('falls back to the next provider when the first keeps failing', async () => {
      const fallbacks: string[] = [];
      const chain = new FallbackChain(
        [
          { provider: configure('openai', { maxRetries: 1 }), model: 'fake-gpt' },
          { provider: configure('anthropic'), model: 'fake-claude' },
        ],
        { fallback: (e) => fallbacks.push(`${e.from}->${e.to}:${e.kind}`) },
      );
      fake.fail({ status: 500 }, { route: 'openai.chat', times: 5 });
      const r = await chain.chat({ messages: request.messages });
      expect(r.provider).toBe('anthropic');
      expect(r.model).toBe('fake-claude');
      expect(fallbacks).toEqual(['openai->anthropic:server_error']);
      expect(fake.count('openai.chat')).toBe(2);
    });

    it('falls back past an open circuit without calling it', async () => {
      const openai = configure('openai', { maxRetries: 0 });
      fake.fail({ status: 500 }, { route: 'openai.chat', times: 3 });
      for (let i = 0; i < 3; i++) await failure(openai.chat(request));
      const before = fake.count('openai.chat');
      const chain = new FallbackChain([
        { provider: openai, model: 'fake-gpt' },
        { provider: configure('gemini'), model: 'fake-gemini' },
      ]);
      const { done } = await collect(chain.stream({ messages: request.messages }));
      expect(done).toMatchObject({ provider: 'gemini' });
      expect(fake.count('openai.chat')).toBe(before);
    });

    it('does not fall back on a bad request, and names every failure when all fail', async () => {
      const chain = new FallbackChain([
        { provider: configure('openai'), model: 'fake-gpt' },
        { provider: configure('anthropic'), model: 'fake-claude' },
      ]);
      fake.fail({ status: 400 }, { route: 'openai.chat' });
      const bad = await failure(chain.chat({ messages: request.messages }));
      expect(bad.kind).toBe('bad_request');
      expect(fake.count('anthropic.messages')).toBe(0);

      fake.fail({ status: 429, retryAfter: '3600' }, { route: 'openai.chat' });
      fake.fail({ status: 429, retryAfter: '3600' }, { route: 'anthropic.messages' });
      const all = await failure(chain.chat({ messages: request.messages }));
      expect(all).toBeInstanceOf(FallbackExhaustedError);
      expect((all as FallbackExhaustedError).failures.map((f) => f.provider)).toEqual(['openai', 'anthropic']);
      expect(all.message).toMatch(/every provider failed: openai.*anthropic/);
    });
  });
});
