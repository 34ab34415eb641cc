export type CircuitState = 'closed' | 'half_open' | 'open';

/** Prometheus encoding of hishamos_provider_circuit_state: 0 closed, 1 half-open, 2 open. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export interface CircuitBreakerOptions {
  /** Consecutive unhealthy failures (5xx, network, timeout) that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before a trial call is let through (default 30 s). */
  openMs?: number;
  /** Trial calls allowed at once while half-open (default 1). */
  halfOpenMaxCalls?: number;
  /** Successful trial calls that close the circuit again (default 1). */
  halfOpenSuccesses?: number;
  now?: () => number;
}

export interface CircuitChange {
  provider: string;
  from: CircuitState;
  to: CircuitState;
  /** The failure that opened it (no secrets, no request data). */
  error?: string;
  latencyMs?: number;
  at: Date;
}

/**
 * Per-provider circuit breaker. Closed: calls pass, consecutive failures are counted. Open: calls fail
 * fast until `openMs` has passed. Half-open: a limited number of trial calls; a success closes it, a
 * failure opens it again. Every change is reported through `onChange` (the gateway publishes it as
 * ProviderHealth and sets hishamos_provider_circuit_state).
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private inFlightTrials = 0;
  private trialSuccesses = 0;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly halfOpenMax: number;
  private readonly halfOpenSuccesses: number;
  private readonly now: () => number;

  constructor(
    readonly provider: string,
    options: CircuitBreakerOptions = {},
    private readonly onChange?: (change: CircuitChange) => void,
  ) {
    this.threshold = options.failureThreshold ?? 5;
    this.openMs = options.openMs ?? 30_000;
    this.halfOpenMax = options.halfOpenMaxCalls ?? 1;
    this.halfOpenSuccesses = options.halfOpenSuccesses ?? 1;
    this.now = options.now ?? Date.now;
  }

  /** The state now (an open circuit whose time is up reads as half-open). */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.openMs) this.transition('half_open');
    return this.current;
  }

  /** Milliseconds until an open circuit lets a trial through (0 when not open). */
  retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.openMs - (this.now() - this.openedAt)) : 0;
  }

  /**
   * Asks to make one call. Returns a permit to settle with `success` / `failure` / `neutral`, or
   * undefined when the circuit is open (or half-open with its trial calls in flight).
   */
  tryAcquire(): CircuitPermit | undefined {
    const state = this.state;
    if (state === 'open') return undefined;
    if (state === 'half_open') {
      if (this.inFlightTrials >= this.halfOpenMax) return undefined;
      this.inFlightTrials++;
      return new CircuitPermit(this, true);
    }
    return new CircuitPermit(this, false);
  }

  /** @internal */
  settle(
    trial: boolean,
    outcome: 'success' | 'failure' | 'neutral',
    info: { error?: string; latencyMs?: number },
  ): void {
    if (trial) this.inFlightTrials = Math.max(0, this.inFlightTrials - 1);
    if (outcome === 'neutral') return;
    if (outcome === 'success') {
      if (this.current === 'half_open') {
        this.trialSuccesses++;
        if (this.trialSuccesses >= this.halfOpenSuccesses) this.transition('closed', info);
      }
      this.failures = 0;
      return;
    }
    if (this.current === 'half_open') {
      this.transition('open', info);
      return;
    }
    if (this.current === 'closed') {
      this.failures++;
      if (this.failures >= this.threshold) this.transition('open', info);
    }
  }

  private transition(to: CircuitState, info: { error?: string; latencyMs?: number } = {}): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    if (to === 'open') this.openedAt = this.now();
    if (to === 'half_open') {
      this.inFlightTrials = 0;
      this.trialSuccesses = 0;
    }
    if (to === 'closed') this.failures = 0;
    try {
      this.onChange?.({
        provider: this.provider,
        from,
        to,
        error: info.error,
        latencyMs: info.latencyMs,
        at: new Date(),
      });
    } catch {
      // a failing listener must not break calls
    }
  }
}

/** One call's ticket through the breaker; settle it exactly once. */
export class CircuitPermit {
  private settled = false;
  constructor(
    private readonly breaker: CircuitBreaker,
    private readonly trial: boolean,
  ) {}

  success(latencyMs?: number): void {
    this.done('success', { latencyMs });
  }
  failure(error: string, latencyMs?: number): void {
    this.done('failure', { error, latencyMs });
  }
  /** The call ended in a way that says nothing about the provider's health (400, 429, caller abort). */
  neutral(): void {
    this.done('neutral', {});
  }

  private done(outcome: 'success' | 'failure' | 'neutral', info: { error?: string; latencyMs?: number }): void {
    if (this.settled) return;
    this.settled = true;
    this.breaker.settle(this.trial, outcome, info);
  }
}
