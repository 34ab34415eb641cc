import { ProviderError, toProviderError } from './provider-error';
import type { CallOptions, ChatRequest, ChatResult, ChatStreamEvent, LlmProvider } from './provider.types';

export interface FallbackTarget {
  provider: LlmProvider;
  model: string;
}

export interface FallbackFailure {
  provider: string;
  model: string;
  kind: string;
  message: string;
}

/** Every target of a chain failed (or one failed in a way no other provider can fix). */
export class FallbackExhaustedError extends ProviderError {
  constructor(
    last: ProviderError,
    readonly failures: FallbackFailure[],
  ) {
    super(
      last.provider,
      last.kind,
      failures.length > 1
        ? `every provider failed: ${failures.map((f) => `${f.provider}/${f.model}: ${f.message}`).join('; ')}`
        : last.message,
      { ...last.extra },
    );
    this.name = 'FallbackExhaustedError';
  }
}

export interface FallbackObserver {
  fallback?(e: { from: string; to: string; kind: string }): void;
}

/**
 * Tries each provider/model in order. Moves on when a provider fails in a way another may not
 * (429 after retries, 5xx, network, timeout, open circuit, bad key); stops at errors caused by the
 * request itself (400) or by the caller (abort). A stream falls back only before its first event.
 */
export class FallbackChain {
  constructor(
    readonly targets: FallbackTarget[],
    private readonly observer: FallbackObserver = {},
  ) {
    if (targets.length === 0) throw new Error('a fallback chain needs at least one provider');
  }

  async chat(request: Omit<ChatRequest, 'model'>, options: CallOptions = {}): Promise<ChatResult> {
    const failures: FallbackFailure[] = [];
    for (let i = 0; i < this.targets.length; i++) {
      const { provider, model } = this.targets[i];
      try {
        return await provider.chat({ ...request, model }, options);
      } catch (e) {
        const err = toProviderError(provider.id, e);
        failures.push({ provider: provider.id, model, kind: err.kind, message: err.message });
        const next = this.targets[i + 1];
        if (!err.fallbackable || !next || options.signal?.aborted) throw new FallbackExhaustedError(err, failures);
        this.observer.fallback?.({ from: provider.id, to: next.provider.id, kind: err.kind });
      }
    }
    throw new Error('unreachable');
  }

  async *stream(request: Omit<ChatRequest, 'model'>, options: CallOptions = {}): AsyncIterable<ChatStreamEvent> {
    const failures: FallbackFailure[] = [];
    for (let i = 0; i < this.targets.length; i++) {
      const { provider, model } = this.targets[i];
      let started = false;
      try {
        for await (const event of provider.stream({ ...request, model }, options)) {
          started = true;
          yield event;
        }
        return;
      } catch (e) {
        const err = toProviderError(provider.id, e);
        failures.push({ provider: provider.id, model, kind: err.kind, message: err.message });
        const next = this.targets[i + 1];
        if (started || !err.fallbackable || !next || options.signal?.aborted)
          throw new FallbackExhaustedError(err, failures);
        this.observer.fallback?.({ from: provider.id, to: next.provider.id, kind: err.kind });
      }
    }
  }
}
