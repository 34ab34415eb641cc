import { context } from '@opentelemetry/api';
import type {
  CallOptions,
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  EmbeddingRequest,
  EmbeddingResult,
  FallbackTarget,
  LlmProvider,
  ModelInfo,
} from '@hishamos/providers';
import { failSpan, providerSpan, startProviderSpan } from '../tracing/trace-context';

/**
 * A provider whose calls are client spans (`chat <provider> <model>`, one per call through the
 * provider's retries) under whatever span is active: the `execute <agent>/<command>` span of a worker,
 * or the HTTP request's span of a chat completion. Everything else is the wrapped provider's.
 */
export class TracedProvider implements LlmProvider {
  readonly embed?: (request: EmbeddingRequest, options?: CallOptions) => Promise<EmbeddingResult>;

  constructor(readonly inner: LlmProvider) {
    const embed = inner.embed?.bind(inner);
    if (embed)
      this.embed = (request, options) =>
        providerSpan(inner.id, request.model, 'embeddings', () => embed(request, options));
  }

  get id(): string {
    return this.inner.id;
  }
  get kind(): string {
    return this.inner.kind;
  }
  get offline(): boolean {
    return this.inner.offline;
  }
  get defaultModel(): string | undefined {
    return this.inner.defaultModel;
  }

  chat(request: ChatRequest, options?: CallOptions): Promise<ChatResult> {
    return providerSpan(this.id, request.model, 'chat', () => this.inner.chat(request, options));
  }

  async *stream(request: ChatRequest, options?: CallOptions): AsyncGenerator<ChatStreamEvent> {
    const { span, ctx } = startProviderSpan(this.id, request.model, 'chat');
    span.setAttribute('hishamos.streamed', true);
    const events = context.with(ctx, () => this.inner.stream(request, options)[Symbol.asyncIterator]());
    let done = false;
    // Requests (and retries) start before the first event, under the provider span; later events are
    // already on their way and are read without entering the span's context each time.
    let started = false;
    try {
      for (;;) {
        const next = started ? await events.next() : await context.with(ctx, () => events.next());
        started = true;
        if (next.done) {
          done = true;
          return;
        }
        yield next.value;
      }
    } catch (error) {
      done = true;
      failSpan(span, error);
      throw error;
    } finally {
      // The caller stopped early (a client that went away): close the upstream stream too.
      try {
        if (!done) await context.with(ctx, async () => events.return?.(undefined));
      } finally {
        span.end();
      }
    }
  }

  listModels(options?: CallOptions): Promise<ModelInfo[]> {
    return this.inner.listModels(options);
  }
}

/** A fallback target whose provider calls are traced. */
export function tracedTarget(target: FallbackTarget): FallbackTarget {
  return { provider: new TracedProvider(target.provider), model: target.model };
}
