import { AnthropicProvider } from './adapters/anthropic.provider';
import { GeminiProvider } from './adapters/gemini.provider';
import { OfflineProvider } from './adapters/offline.provider';
import { OpenAiProvider } from './adapters/openai.provider';
import { ProviderError } from './provider-error';
import type { LlmProvider, ProviderConfig } from './provider.types';
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitChange } from './resilience/circuit-breaker';
import { ResilientProvider, type ProviderObserver, type RetryPolicy } from './resilience/resilient-provider';

export type ProviderFactory = (config: ProviderConfig) => LlmProvider;

/** The adapter kinds HishamOS ships, keyed by kind (a config's `kind`). */
export const BUILTIN_PROVIDER_KINDS: Readonly<Record<string, ProviderFactory>> = {
  openai: (c) => new OpenAiProvider(c.id, 'openai', c, { maxTokensField: 'max_completion_tokens' }),
  openrouter: (c) =>
    new OpenAiProvider(c.id, 'openrouter', c, {
      maxTokensField: 'max_tokens',
      defaultBaseUrl: 'https://openrouter.ai/api/v1',
    }),
  'openai-compatible': (c) => {
    if (!c.baseUrl)
      throw new ProviderError(c.id, 'not_configured', `${c.id}: an OpenAI-compatible provider needs a base URL`);
    return new OpenAiProvider(c.id, 'openai-compatible', c, { maxTokensField: 'max_tokens', keyOptional: true });
  },
  anthropic: (c) => new AnthropicProvider(c.id, c),
  gemini: (c) => new GeminiProvider(c.id, c),
  offline: (c) => new OfflineProvider(c.id, c),
};

export interface ResilienceOptions {
  policy?: Partial<RetryPolicy>;
  breaker?: CircuitBreakerOptions;
  observer?: ProviderObserver;
  /** Every circuit state change (the gateway publishes ProviderHealth and sets the gauge). */
  onCircuitChange?: (change: CircuitChange) => void;
}

/**
 * Providers by id. Adapters are built by kind from a factory table (no switch over vendors); each
 * configured provider is wrapped with retries, timeouts and its own circuit breaker, which outlives
 * reconfiguration (a rotated key does not reset a provider's health).
 */
export class ProviderRegistry {
  private readonly factories = new Map<string, ProviderFactory>(Object.entries(BUILTIN_PROVIDER_KINDS));
  private readonly providers = new Map<string, ResilientProvider>();
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(private readonly resilience: ResilienceOptions = {}) {}

  registerKind(kind: string, factory: ProviderFactory): void {
    this.factories.set(kind, factory);
  }

  kinds(): string[] {
    return [...this.factories.keys()];
  }

  hasKind(kind: string): boolean {
    return this.factories.has(kind);
  }

  /** Builds a bare adapter (no retries, no breaker): for one-off checks such as "Test Connection". */
  build(config: ProviderConfig): LlmProvider {
    const factory = this.factories.get(config.kind);
    if (!factory)
      throw new ProviderError(
        config.id,
        'not_configured',
        `unknown provider kind ${config.kind} (known: ${this.kinds().join(', ')})`,
      );
    return factory(config);
  }

  breakerOf(id: string): CircuitBreaker {
    let b = this.breakers.get(id);
    if (!b) {
      b = new CircuitBreaker(id, this.resilience.breaker, (c) => this.resilience.onCircuitChange?.(c));
      this.breakers.set(id, b);
    }
    return b;
  }

  /** Builds (or rebuilds) a provider from its config and registers it under its id. */
  configure(config: ProviderConfig, policy?: Partial<RetryPolicy>): ResilientProvider {
    const provider = new ResilientProvider(
      this.build(config),
      this.breakerOf(config.id),
      { ...this.resilience.policy, ...policy },
      this.resilience.observer,
    );
    this.providers.set(config.id, provider);
    return provider;
  }

  /** Registers an already-built adapter (wrapped like configured ones). */
  register(adapter: LlmProvider, policy?: Partial<RetryPolicy>): ResilientProvider {
    const provider = new ResilientProvider(
      adapter,
      this.breakerOf(adapter.id),
      { ...this.resilience.policy, ...policy },
      this.resilience.observer,
    );
    this.providers.set(adapter.id, provider);
    return provider;
  }

  remove(id: string): void {
    this.providers.delete(id);
  }

  get(id: string): ResilientProvider | undefined {
    return this.providers.get(id);
  }

  require(id: string): ResilientProvider {
    const p = this.providers.get(id);
    if (!p) throw new ProviderError(id, 'not_configured', `provider ${id} is not configured`);
    return p;
  }

  ids(): string[] {
    return [...this.providers.keys()];
  }

  list(): ResilientProvider[] {
    return [...this.providers.values()];
  }
}
