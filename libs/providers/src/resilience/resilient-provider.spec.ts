import { setTimeout as sleep } from 'node:timers/promises';
import type { CallOptions, ChatRequest, ChatStreamEvent, LlmProvider } from '../provider.types';
import { CircuitBreaker } from './circuit-breaker';
import { ResilientProvider } from './resilient-provider';

/** A provider whose stream sends `count` deltas `gapMs` apart (the last gap `lastGapMs`), then done. */
function pacedProvider(count: number, gapMs: number, lastGapMs = gapMs): LlmProvider {
  return {
    id: 'p',
    kind: 'fake',
    offline: false,
    chat: () => Promise.reject(new Error('unused')),
    listModels: () => Promise.resolve([]),
    async *stream(_request: ChatRequest, options: CallOptions = {}): AsyncIterable<ChatStreamEvent> {
      for (let i = 0; i < count; i++) {
        await sleep(i === count - 1 ? lastGapMs : gapMs, undefined, { signal: options.signal });
        yield { type: 'delta', text: `${i} ` };
      }
      yield {
        type: 'done',
        id: 'x',
        provider: 'p',
        model: 'm',
        finishReason: 'stop',
        usage: { inputTokens: 1, outputTokens: count, cachedInputTokens: 0 },
        offline: false,
      };
    },
  };
}

const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

async function collect(p: ResilientProvider): Promise<string> {
  let text = '';
  for await (const e of p.stream(request)) if (e.type === 'delta') text += e.text;
  return text;
}

describe('ResilientProvider stream idle timeout', () => {
  const resilient = (inner: LlmProvider) =>
    new ResilientProvider(inner, new CircuitBreaker('p', { failureThreshold: 5, openMs: 1000 }), {
      streamIdleTimeoutMs: 150,
      maxRetries: 0,
    });

  it('does not cut off a stream that keeps arriving, however long it lasts in all', async () => {
    const started = Date.now();
    // 8 events 60 ms apart under a 150 ms idle limit: about 480 ms in all.
    expect(await collect(resilient(pacedProvider(8, 60)))).toBe('0 1 2 3 4 5 6 7 ');
    expect(Date.now() - started).toBeGreaterThan(300);
  });

  it('cuts off a stream that goes quiet after it started, as interrupted with the text so far', async () => {
    const err = (await collect(resilient(pacedProvider(4, 20, 600))).catch((e: unknown) => e)) as {
      kind?: string;
      extra?: { partialText?: string };
    };
    expect(err.kind).toBe('stream_interrupted');
    expect(err.extra?.partialText).toBe('0 1 2 ');
  });
});
