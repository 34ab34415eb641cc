import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { Topics, CircuitState as CircuitStateProto } from '@hishamos/contracts';
import { ApiError, SERVICE_CONTEXT, settingsOf, type ServiceContext } from '@hishamos/platform';
import {
  FallbackChain,
  OFFLINE_MODEL,
  ProviderRegistry,
  type CircuitChange,
  type CircuitState,
  type FallbackTarget,
  type LlmProvider,
  type ModelInfo,
  type ProviderConfig,
  type ResilientProvider,
} from '@hishamos/providers';
import type { AgentGatewaySettings } from '../config/agent-gateway.settings';
import { tracedTarget } from './traced-provider';
import { GatewayMetrics } from '../metrics/gateway.metrics';
import {
  PROVIDER_CONFIGS,
  SECRET_STORE,
  type ProviderConfigPort,
  type ProviderConfigRecord,
  type SecretStorePort,
} from '../ports/gateway-ports';

/** A provider as the router knows it: its config (without the key) and where its key lives. */
interface ProviderEntry {
  id: string;
  kind: string;
  name: string;
  baseUrl?: string;
  defaultModel?: string;
  priority: number;
  options: Record<string, unknown>;
  /** Secret path of the key (secrets service), or the key itself from the environment. */
  apiKeyPath?: string;
  envKey?: string;
  source: 'platform-config' | 'environment' | 'builtin';
}

/** What a model name in a request resolves to. */
export type ModelTarget = { kind: 'agent'; slug: string } | { kind: 'provider'; provider: string; model: string };

export interface AgentRouting {
  defaultProvider: string;
  defaultModel: string;
}

const ENV_PROVIDERS: {
  id: string;
  kind: string;
  name: string;
  key: keyof AgentGatewaySettings;
  url: keyof AgentGatewaySettings;
  model: string;
}[] = [
  { id: 'openai', kind: 'openai', name: 'OpenAI', key: 'OPENAI_API_KEY', url: 'OPENAI_BASE_URL', model: 'gpt-4o-mini' },
  {
    id: 'anthropic',
    kind: 'anthropic',
    name: 'Anthropic',
    key: 'CLAUDE_API_KEY',
    url: 'ANTHROPIC_BASE_URL',
    model: 'claude-sonnet-4-5',
  },
  {
    id: 'gemini',
    kind: 'gemini',
    name: 'Google Gemini',
    key: 'GEMINI_API_KEY',
    url: 'GEMINI_BASE_URL',
    model: 'gemini-2.5-flash',
  },
  {
    id: 'openrouter',
    kind: 'openrouter',
    name: 'OpenRouter',
    key: 'OPENROUTER_API_KEY',
    url: 'OPENROUTER_BASE_URL',
    model: 'openai/gpt-4o-mini',
  },
];

/**
 * Base URLs as each SDK wants them: the Anthropic and Gemini SDKs add the API version themselves, so a
 * configured `.../v1` or `.../v1beta` is dropped; OpenAI-style SDKs take the URL with its `/v1`.
 */
export function sdkBaseUrl(kind: string, baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  const trimmed = baseUrl.replace(/\/+$/, '');
  if (kind === 'anthropic') return trimmed.replace(/\/v1$/, '');
  if (kind === 'gemini') return trimmed.replace(/\/v1(beta\d*|alpha)?$/, '');
  return trimmed;
}

const CIRCUIT_TO_PROTO: Record<CircuitState, CircuitStateProto> = {
  closed: CircuitStateProto.CLOSED,
  half_open: CircuitStateProto.HALF_OPEN,
  open: CircuitStateProto.OPEN,
};

/**
 * Which providers exist and how to reach them: configs from the Platform Configuration API
 * (PROVIDER_CONFIGS, keys from the secrets service) and from the environment (the seed's
 * *_API_KEY variables), plus the offline provider. Builds adapters through the provider registry
 * (keyed by kind), wraps them with retries, timeouts and a circuit breaker each, publishes
 * ProviderHealth when a circuit changes, resolves model names and builds fallback chains.
 */
@Injectable()
export class ProviderRouter implements OnModuleDestroy {
  readonly registry: ProviderRegistry;
  private readonly settings: AgentGatewaySettings;
  private entries = new Map<string, ProviderEntry>();
  private readonly building = new Map<string, Promise<ResilientProvider | undefined>>();
  private modelCache?: { at: number; models: ModelInfo[] };
  private modelLoad?: Promise<ModelInfo[]>;
  private loaded?: Promise<void>;
  private refreshTimer?: NodeJS.Timeout;
  private readonly loadListeners: (() => void)[] = [];

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly metrics: GatewayMetrics,
    @Optional() @Inject(PROVIDER_CONFIGS) private readonly configs?: ProviderConfigPort,
    @Optional() @Inject(SECRET_STORE) private readonly secrets?: SecretStorePort,
  ) {
    this.settings = settingsOf<AgentGatewaySettings>(ctx);
    const s = this.settings;
    this.registry = new ProviderRegistry({
      policy: {
        attemptTimeoutMs: s.PROVIDER_ATTEMPT_TIMEOUT_MS,
        totalTimeoutMs: s.PROVIDER_TOTAL_TIMEOUT_MS,
        streamIdleTimeoutMs: s.PROVIDER_STREAM_IDLE_TIMEOUT_MS,
        maxRetries: s.PROVIDER_MAX_RETRIES,
        baseDelayMs: s.PROVIDER_RETRY_BASE_MS,
        maxRetryAfterMs: s.PROVIDER_MAX_RETRY_AFTER_MS,
      },
      breaker: { failureThreshold: s.CIRCUIT_FAILURE_THRESHOLD, openMs: s.CIRCUIT_OPEN_MS },
      observer: metrics.providerObserver(),
      onCircuitChange: (change) => this.onCircuitChange(change),
    });
    this.configs?.onChange((id) => {
      this.forget(id);
      this.loaded = this.load();
    });
    this.refreshTimer = setInterval(() => {
      this.loaded = this.load().catch(() => undefined);
    }, 30_000);
    this.refreshTimer.unref();
  }

  onModuleDestroy(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
  }

  /** Loads the provider list (once; again after a config change or every 30 s). */
  ready(): Promise<void> {
    this.loaded ??= this.load();
    return this.loaded;
  }

  private async load(): Promise<void> {
    const next = new Map<string, ProviderEntry>();
    if (this.settings.OFFLINE_PROVIDER_ENABLED)
      next.set('offline', {
        id: 'offline',
        kind: 'offline',
        name: 'Offline (no model)',
        defaultModel: OFFLINE_MODEL,
        priority: 1_000_000,
        options: {},
        source: 'builtin',
      });
    ENV_PROVIDERS.forEach((p, i) => {
      const key = this.settings[p.key] as string | undefined;
      if (!key) return;
      next.set(p.id, {
        id: p.id,
        kind: p.kind,
        name: p.name,
        baseUrl: (this.settings[p.url] as string | undefined) || undefined,
        defaultModel: p.model,
        priority: 1000 + i,
        options: {},
        envKey: key,
        source: 'environment',
      });
    });
    let records: ProviderConfigRecord[] = [];
    try {
      records = (await this.configs?.list()) ?? [];
    } catch (error) {
      this.ctx.logger.warn({ err: error }, 'provider configs could not be read; using the environment only');
    }
    for (const r of records) {
      if (!r.enabled) {
        next.delete(r.id);
        continue;
      }
      if (r.kind === 'offline' && !this.settings.OFFLINE_PROVIDER_ENABLED) continue;
      next.set(r.id, {
        id: r.id,
        kind: r.kind,
        name: r.name,
        baseUrl: r.baseUrl,
        defaultModel: r.defaultModel,
        priority: r.priority,
        options: r.options ?? {},
        apiKeyPath: r.apiKeyPath,
        // A key from the environment still serves a provider configured without one.
        envKey: r.apiKeyPath ? undefined : next.get(r.id)?.envKey,
        source: 'platform-config',
      });
    }
    for (const [id, entry] of this.entries) {
      const now = next.get(id);
      if (!now || JSON.stringify(now) !== JSON.stringify(entry)) this.forget(id);
    }
    this.entries = next;
    for (const listener of this.loadListeners) listener();
  }

  /** Called after every (re)load of the provider list. */
  onLoaded(listener: () => void): void {
    this.loadListeners.push(listener);
  }

  private forget(id: string): void {
    this.registry.remove(id);
    this.building.delete(id);
    this.modelCache = undefined;
  }

  /** A rotated secret: providers whose key lives there are rebuilt with the new key on next use. */
  secretRotated(path: string): void {
    for (const e of this.entries.values()) if (e.apiKeyPath === path) this.forget(e.id);
  }

  ids(): string[] {
    return [...this.entries.values()].sort((a, b) => a.priority - b.priority).map((e) => e.id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  entry(id: string): ProviderEntry | undefined {
    return this.entries.get(id);
  }

  /** The configured provider with this id, built on first use (its key read from the secrets service). */
  async provider(id: string): Promise<ResilientProvider | undefined> {
    const built = this.registry.get(id);
    if (built) return built;
    let pending = this.building.get(id);
    if (!pending) {
      pending = this.build(id);
      this.building.set(id, pending);
      pending.finally(() => this.building.delete(id)).catch(() => undefined);
    }
    return pending;
  }

  private async build(id: string): Promise<ResilientProvider | undefined> {
    await this.ready();
    const e = this.entries.get(id);
    if (!e) return undefined;
    let apiKey = e.envKey;
    if (e.apiKeyPath) {
      if (!this.secrets)
        throw new ApiError(503, 'provider_unavailable', `the key of provider ${id} cannot be read: no secrets store`);
      try {
        apiKey = await this.secrets.get(e.apiKeyPath);
      } catch {
        throw new ApiError(
          503,
          'provider_unavailable',
          `the key of provider ${id} cannot be read from the secrets service right now`,
          {
            reason: 'secrets service unavailable',
            headers: { 'retry-after': '5' },
          },
        );
      }
    }
    const config: ProviderConfig = {
      id,
      kind: e.kind,
      baseUrl: e.baseUrl,
      apiKey,
      defaultModel: e.defaultModel,
      options: e.options,
    };
    const provider = this.registry.configure(config);
    this.metrics.setCircuit(id, provider.breaker.state);
    return provider;
  }

  /** The provider an agent runs on when its own default is not configured. */
  defaultProviderId(): string | undefined {
    const wanted = this.settings.DEFAULT_PROVIDER;
    if (wanted && this.entries.has(wanted)) return wanted;
    const real = this.ids().filter((id) => id !== 'offline');
    return real[0] ?? (this.entries.has('offline') ? 'offline' : undefined);
  }

  /**
   * The chain for an agent (or an explicit provider/model): the requested or the agent's provider and
   * model when configured, else the default provider; then PROVIDER_FALLBACK. Skips providers that are
   * not configured; fails with 503 when none is.
   */
  async chainFor(routing: AgentRouting, requested: { provider?: string; model?: string } = {}): Promise<FallbackChain> {
    await this.ready();
    const targets: FallbackTarget[] = [];
    let unavailable: unknown;
    const add = async (id: string | undefined, model: string | undefined) => {
      if (!id || targets.some((t) => t.provider.id === id)) return;
      let p: ResilientProvider | undefined;
      try {
        p = await this.provider(id);
      } catch (error) {
        // Its key cannot be read (secrets service down): the chain goes on without it.
        unavailable = error;
        this.ctx.logger.warn({ provider: id, err: (error as Error).message }, 'provider unavailable');
        return;
      }
      if (!p) return;
      const m = model || p.defaultModel || this.entries.get(id)?.defaultModel;
      if (m) targets.push({ provider: p, model: m });
    };
    if (requested.provider) {
      if (!this.entries.has(requested.provider))
        throw ApiError.badRequest(
          'provider',
          `provider ${requested.provider} is not configured (configured: ${this.ids().join(', ')})`,
          'provider_not_configured',
        );
      await add(requested.provider, requested.model);
    } else if (this.entries.has(routing.defaultProvider)) {
      await add(routing.defaultProvider, requested.model || routing.defaultModel);
    } else {
      await add(this.defaultProviderId(), requested.model);
    }
    for (const spec of (this.settings.PROVIDER_FALLBACK ?? '').split(',').filter(Boolean)) {
      const [id, ...model] = spec.split(':');
      await add(id, model.join(':') || undefined);
    }
    if (targets.length === 0) {
      if (unavailable instanceof ApiError) throw unavailable;
      throw new ApiError(
        503,
        'no_provider',
        'no LLM provider is configured; configure one or enable the offline provider',
      );
    }
    return this.chain(targets);
  }

  /** A fallback chain over these targets: provider calls traced, fallbacks counted and logged. */
  chain(targets: FallbackTarget[]): FallbackChain {
    return new FallbackChain(targets.map(tracedTarget), {
      fallback: (e) => {
        this.metrics.fallbacks.inc({ from: e.from, to: e.to });
        this.ctx.logger.warn({ from: e.from, to: e.to, kind: e.kind }, 'provider fallback');
      },
    });
  }

  /**
   * What a model name means: `agent/<slug>`; `<provider>/<model>` for a configured provider id;
   * `offline`; or a bare model that a provider lists or has as its default. Undefined when unknown.
   */
  async resolveModel(name: string): Promise<ModelTarget | undefined> {
    await this.ready();
    if (name.startsWith('agent/')) return { kind: 'agent', slug: name.slice('agent/'.length) };
    const slash = name.indexOf('/');
    if (slash > 0 && this.entries.has(name.slice(0, slash)))
      return { kind: 'provider', provider: name.slice(0, slash), model: name.slice(slash + 1) };
    if (name === OFFLINE_MODEL && this.entries.has('offline'))
      return { kind: 'provider', provider: 'offline', model: OFFLINE_MODEL };
    for (const id of this.ids())
      if (this.entries.get(id)?.defaultModel === name) return { kind: 'provider', provider: id, model: name };
    const listed = (await this.models()).find((m) => m.id === name);
    if (listed) return { kind: 'provider', provider: listed.provider, model: name };
    return undefined;
  }

  /** Every configured provider's models (cached; a provider that cannot list is skipped and logged). */
  async models(): Promise<ModelInfo[]> {
    const ttl = this.settings.MODEL_LIST_CACHE_SECONDS * 1000;
    if (this.modelCache && Date.now() - this.modelCache.at < ttl) return this.modelCache.models;
    this.modelLoad ??= (async () => {
      await this.ready();
      const lists = await Promise.all(
        this.ids().map(async (id) => {
          try {
            const p = await this.provider(id);
            if (!p) return [];
            const ac = AbortSignal.timeout(5000);
            return await p.inner.listModels({ signal: ac });
          } catch (error) {
            this.ctx.logger.warn(
              { provider: id, err: (error as Error).message },
              'cannot list the models of a provider',
            );
            const d = this.entries.get(id)?.defaultModel;
            return d ? [{ id: d, provider: id }] : [];
          }
        }),
      );
      const models = lists.flat();
      this.modelCache = { at: Date.now(), models };
      return models;
    })().finally(() => (this.modelLoad = undefined));
    return this.modelLoad;
  }

  /** Whether at least one provider of this chain-to-be could take a call now (for hishamos_active_agents). */
  canServe(routing: AgentRouting): boolean {
    const candidates = [
      this.entries.has(routing.defaultProvider) ? routing.defaultProvider : this.defaultProviderId(),
      ...(this.settings.PROVIDER_FALLBACK ?? '')
        .split(',')
        .filter(Boolean)
        .map((s) => s.split(':')[0]),
    ];
    return candidates.some(
      (id) => id !== undefined && this.entries.has(id) && this.registry.breakerOf(id).state !== 'open',
    );
  }

  /** A bare adapter for a config that is not saved (Test Connection), with no retries or breaker. */
  adapterFor(config: ProviderConfig): LlmProvider {
    return this.registry.build(config);
  }

  private onCircuitChange(change: CircuitChange): void {
    this.metrics.setCircuit(change.provider, change.to);
    const log =
      change.to === 'open' ? this.ctx.logger.warn.bind(this.ctx.logger) : this.ctx.logger.info.bind(this.ctx.logger);
    log(
      { provider: change.provider, from: change.from, to: change.to, error: change.error },
      'provider circuit changed',
    );
    const at = change.at;
    this.ctx.db
      .transaction((tx) =>
        this.ctx.outbox.add(
          tx,
          Topics.ProviderHealth,
          {
            provider: change.provider,
            state: CIRCUIT_TO_PROTO[change.to],
            healthy: change.to === 'closed',
            error: change.error ?? '',
            latencyMs: BigInt(Math.round(change.latencyMs ?? 0)),
            at: timestampFromDate(at),
          },
          { key: change.provider },
        ),
      )
      .catch((error) =>
        this.ctx.logger.error({ err: error, provider: change.provider }, 'cannot publish ProviderHealth'),
      );
  }
}
