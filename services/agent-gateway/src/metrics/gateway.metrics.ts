import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { SERVICE_CONTEXT, type ServiceContext } from '@hishamos/platform';
import { CIRCUIT_STATE_VALUE, type CircuitState, type ProviderObserver } from '@hishamos/providers';

/**
 * The gateway's Prometheus series (labels are bounded: agent slugs, provider ids, model names,
 * outcomes; never user ids). Names the alert rules depend on are exact: hishamos_agent_executions_total,
 * hishamos_active_agents, hishamos_provider_circuit_state.
 */
@Injectable()
export class GatewayMetrics {
  readonly executions: Counter<'agent' | 'status'>;
  readonly activeAgents: Gauge;
  readonly circuitState: Gauge<'provider'>;
  readonly providerLatency: Histogram<'provider' | 'model' | 'operation' | 'outcome'>;
  readonly timeToFirstToken: Histogram<'provider' | 'model'>;
  readonly tokens: Counter<'provider' | 'model' | 'kind'>;
  readonly overhead: Histogram<'endpoint'>;
  readonly requests: Counter<'endpoint' | 'outcome'>;
  readonly retries: Counter<'provider' | 'kind'>;
  readonly fallbacks: Counter<'from' | 'to'>;
  readonly budgetDecisions: Counter<'outcome'>;
  private activeAgentsSource: () => Promise<number> | number = () => 0;

  constructor(@Inject(SERVICE_CONTEXT) ctx: Pick<ServiceContext, 'metrics'>) {
    const registers = [ctx.metrics.registry];
    this.executions = new Counter({
      name: 'hishamos_agent_executions_total',
      help: 'Agent command executions by agent and outcome',
      labelNames: ['agent', 'status'],
      registers,
    });
    const source = () => this.activeAgentsSource();
    this.activeAgents = new Gauge({
      name: 'hishamos_active_agents',
      help: 'Enabled agents that can run now (at least one of their providers has a closed or half-open circuit)',
      registers,
      async collect() {
        this.set(await source());
      },
    });
    this.circuitState = new Gauge({
      name: 'hishamos_provider_circuit_state',
      help: "A provider's circuit breaker: 0 closed, 1 half-open, 2 open",
      labelNames: ['provider'],
      registers,
    });
    this.providerLatency = new Histogram({
      name: 'hishamos_provider_request_duration_seconds',
      help: 'One provider attempt, from request to full answer (streams: to the last chunk)',
      labelNames: ['provider', 'model', 'operation', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'hishamos_provider_time_to_first_token_seconds',
      help: "Time from a streaming request to the provider's first chunk",
      labelNames: ['provider', 'model'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.tokens = new Counter({
      name: 'hishamos_llm_tokens_total',
      help: 'Tokens reported by providers (kind input, output, cached_input)',
      labelNames: ['provider', 'model', 'kind'],
      registers,
    });
    this.overhead = new Histogram({
      name: 'hishamos_gateway_overhead_seconds',
      help: "Time the gateway adds to a request: its whole duration minus the provider's",
      labelNames: ['endpoint'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.requests = new Counter({
      name: 'hishamos_gateway_requests_total',
      help: 'Model requests through the gateway by endpoint and outcome',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    this.retries = new Counter({
      name: 'hishamos_provider_retries_total',
      help: 'Provider attempts retried, by the error that caused the retry',
      labelNames: ['provider', 'kind'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'hishamos_provider_fallbacks_total',
      help: 'Calls moved to the next provider of a fallback chain',
      labelNames: ['from', 'to'],
      registers,
    });
    this.budgetDecisions = new Counter({
      name: 'hishamos_gateway_budget_decisions_total',
      help: 'Budget reservations: granted, exceeded, unmetered (metering down, no hard limit), refused (metering down, hard limit)',
      labelNames: ['outcome'],
      registers,
    });
  }

  /** How hishamos_active_agents is computed at scrape time. */
  setActiveAgentsSource(fn: () => Promise<number> | number): void {
    this.activeAgentsSource = fn;
  }

  setCircuit(provider: string, state: CircuitState): void {
    this.circuitState.set({ provider }, CIRCUIT_STATE_VALUE[state]);
  }

  countTokens(
    provider: string,
    model: string,
    usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number },
  ): void {
    if (usage.inputTokens) this.tokens.inc({ provider, model, kind: 'input' }, usage.inputTokens);
    if (usage.outputTokens) this.tokens.inc({ provider, model, kind: 'output' }, usage.outputTokens);
    if (usage.cachedInputTokens) this.tokens.inc({ provider, model, kind: 'cached_input' }, usage.cachedInputTokens);
  }

  /** The provider library's hooks, wired to these series. */
  providerObserver(): ProviderObserver {
    return {
      attempt: (e) =>
        this.providerLatency.observe(
          { provider: e.provider, model: e.model || '-', operation: e.operation, outcome: e.outcome },
          e.ms / 1000,
        ),
      firstToken: (e) => this.timeToFirstToken.observe({ provider: e.provider, model: e.model }, e.ms / 1000),
      retry: (e) => this.retries.inc({ provider: e.provider, kind: e.kind }),
    };
  }
}
