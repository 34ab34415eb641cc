import { performance } from 'node:perf_hooks';
import { ProviderError, toProviderError, type ProviderErrorKind } from '../provider-error';
import type {
  CallOptions,
  ChatRequest,
  ChatResult,
  ChatStreamEvent,
  EmbeddingRequest,
  EmbeddingResult,
  LlmProvider,
  ModelInfo,
} from '../provider.types';
import type { CircuitBreaker, CircuitPermit } from './circuit-breaker';

export interface RetryPolicy {
  /** One attempt's limit; for a stream, the time to its first event (default 60 s). */
  attemptTimeoutMs: number;
  /** All attempts and waits together; for a stream, until its first event (default 120 s). */
  totalTimeoutMs: number;
  /** A stream that goes quiet this long after its first event is cut off (default 60 s). */
  streamIdleTimeoutMs: number;
  /** Retries after the first attempt (default 2). */
  maxRetries: number;
  /** Exponential backoff: base * 2^(attempt-1), capped, with jitter (default 250 ms .. 8 s). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the call fails (or falls back) at once (default 30 s). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attemptTimeoutMs: 60_000,
  totalTimeoutMs: 120_000,
  streamIdleTimeoutMs: 60_000,
  maxRetries: 2,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};

export type ProviderOperation = 'chat' | 'stream' | 'models' | 'embed';

/** Hooks for metrics (the library itself imports no metrics client). */
export interface ProviderObserver {
  /** One attempt finished: `outcome` is `success` or the error kind. */
  attempt?(e: {
    provider: string;
    model: string;
    operation: ProviderOperation;
    outcome: 'success' | ProviderErrorKind;
    ms: number;
    attempt: number;
  }): void;
  /** A stream's first event arrived, `ms` after the attempt started. */
  firstToken?(e: { provider: string; model: string; ms: number }): void;
  retry?(e: { provider: string; kind: ProviderErrorKind; delayMs: number; attempt: number }): void;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One attempt's abort controller: our timer, the caller's signal, and which of them fired. */
class AttemptControl {
  readonly controller = new AbortController();
  timedOut = false;
  private timer?: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort();

  constructor(private readonly caller?: AbortSignal) {
    if (caller) {
      if (caller.aborted) this.controller.abort();
      else caller.addEventListener('abort', this.onCallerAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(ms: number): void {
    this.disarm();
    this.timer = setTimeout(
      () => {
        this.timedOut = true;
        this.controller.abort();
      },
      Math.max(1, ms),
    );
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.idleMs = 0;
  }

  private idleMs = 0;
  private lastActive = 0;

  /**
   * Something arrived: the attempt times out once nothing more arrives for `ms`. One timer for the
   * whole stream (not a new one per event): when it fires early it waits out the rest of the quiet time.
   */
  active(ms: number): void {
    this.lastActive = performance.now();
    if (this.idleMs === ms && this.timer) return;
    this.disarm();
    this.idleMs = ms;
    this.lastActive = performance.now();
    this.waitIdle(ms);
  }

  private waitIdle(ms: number): void {
    this.timer = setTimeout(
      () => {
        const quiet = performance.now() - this.lastActive;
        if (quiet + 1 < this.idleMs) return this.waitIdle(this.idleMs - quiet);
        this.timer = undefined;
        this.timedOut = true;
        this.controller.abort();
      },
      Math.max(1, ms),
    );
  }

  close(): void {
    this.disarm();
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }

  /** The error as the caller should see it: our timeout, the caller's abort, or what the provider said. */
  error(provider: string, e: unknown): ProviderError {
    const partial = e instanceof ProviderError ? e.extra.partialText : undefined;
    if (this.timedOut)
      return new ProviderError(provider, 'timeout', `${provider} did not answer in time`, { partialText: partial });
    if (this.caller?.aborted) return new ProviderError(provider, 'aborted', 'the caller cancelled the request');
    return toProviderError(provider, e);
  }
}

/**
 * Wraps an adapter with per-attempt and total timeouts, retries with exponential backoff and jitter on
 * 429 (honouring Retry-After), 5xx and network errors (never on 400), and the provider's circuit
 * breaker. A stream is retried only until its first event; after that a failure is final
 * (`stream_interrupted`, with the text produced so far so it can be charged).
 */
export class ResilientProvider implements LlmProvider {
  readonly policy: RetryPolicy;

  constructor(
    readonly inner: LlmProvider,
    readonly breaker: CircuitBreaker,
    policy: Partial<RetryPolicy> = {},
    private readonly observer: ProviderObserver = {},
    private readonly random: () => number = Math.random,
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...policy };
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

  /** The wait before retry `attempt + 1`, or undefined when the error must not be retried. */
  retryDelay(error: ProviderError, attempt: number, deadline: number): number | undefined {
    if (!error.retryable || attempt > this.policy.maxRetries) return undefined;
    let delay: number;
    if (error.retryAfterMs !== undefined) {
      if (error.retryAfterMs > this.policy.maxRetryAfterMs) return undefined;
      delay = error.retryAfterMs;
    } else {
      const exp = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
      delay = exp / 2 + this.random() * (exp / 2);
    }
    if (Date.now() + delay >= deadline) return undefined;
    return Math.round(delay);
  }

  private acquire(): CircuitPermit {
    const permit = this.breaker.tryAcquire();
    if (!permit) {
      const wait = this.breaker.retryInMs();
      throw new ProviderError(
        this.id,
        'circuit_open',
        `${this.id} is temporarily unavailable (circuit open after repeated failures)`,
        { retryAfterMs: wait || undefined },
      );
    }
    return permit;
  }

  private async call<T>(
    operation: ProviderOperation,
    model: string,
    options: CallOptions,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + this.policy.totalTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new ProviderError(this.id, 'timeout', `${this.id} did not answer in time`, { attempts: attempt - 1 });
      const permit = this.acquire();
      const control = new AttemptControl(options.signal);
      control.arm(Math.min(this.policy.attemptTimeoutMs, remaining));
      const started = performance.now();
      let error: ProviderError;
      try {
        const result = await fn(control.signal);
        const ms = performance.now() - started;
        permit.success(ms);
        this.observer.attempt?.({ provider: this.id, model, operation, outcome: 'success', ms, attempt });
        return result;
      } catch (e) {
        error = control.error(this.id, e);
        const ms = performance.now() - started;
        if (error.unhealthy) permit.failure(error.message, ms);
        else permit.neutral();
        this.observer.attempt?.({ provider: this.id, model, operation, outcome: error.kind, ms, attempt });
      } finally {
        control.close();
      }
      const delay = this.retryDelay(error, attempt, deadline);
      if (delay === undefined || options.signal?.aborted) {
        error.extra.attempts = attempt;
        throw error;
      }
      this.observer.retry?.({ provider: this.id, kind: error.kind, delayMs: delay, attempt });
      try {
        await sleep(delay, options.signal);
      } catch {
        throw new ProviderError(this.id, 'aborted', 'the caller cancelled the request', { attempts: attempt });
      }
    }
  }

  chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatResult> {
    return this.call('chat', request.model, options, (signal) => this.inner.chat(request, { signal }));
  }

  listModels(options: CallOptions = {}): Promise<ModelInfo[]> {
    return this.call('models', '', options, (signal) => this.inner.listModels({ signal }));
  }

  get embed(): ((request: EmbeddingRequest, options?: CallOptions) => Promise<EmbeddingResult>) | undefined {
    const inner = this.inner;
    if (!inner.embed) return undefined;
    return (request, options = {}) =>
      this.call('embed', request.model, options, (signal) => inner.embed!(request, { signal }));
  }

  async *stream(request: ChatRequest, options: CallOptions = {}): AsyncIterable<ChatStreamEvent> {
    const deadline = Date.now() + this.policy.totalTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new ProviderError(this.id, 'timeout', `${this.id} did not answer in time`, { attempts: attempt - 1 });
      const permit = this.acquire();
      const control = new AttemptControl(options.signal);
      control.arm(Math.min(this.policy.attemptTimeoutMs, remaining));
      const started = performance.now();
      let yielded = false;
      let partial = '';
      let finished = false;
      let error: ProviderError | undefined;
      try {
        for await (const event of this.inner.stream(request, { signal: control.signal })) {
          control.active(this.policy.streamIdleTimeoutMs);
          if (!yielded) {
            yielded = true;
            this.observer.firstToken?.({ provider: this.id, model: request.model, ms: performance.now() - started });
          }
          if (event.type === 'delta') partial += event.text;
          if (event.type === 'done') {
            finished = true;
            const ms = performance.now() - started;
            permit.success(ms);
            this.observer.attempt?.({
              provider: this.id,
              model: request.model,
              operation: 'stream',
              outcome: 'success',
              ms,
              attempt,
            });
          }
          yield event;
          control.active(this.policy.streamIdleTimeoutMs);
        }
        if (!finished) throw new ProviderError(this.id, 'stream_interrupted', `${this.id} ended the stream early`);
        return;
      } catch (e) {
        error = control.error(this.id, e);
        if (yielded && (error.kind === 'network' || error.kind === 'timeout' || error.kind === 'server_error'))
          error = new ProviderError(
            this.id,
            'stream_interrupted',
            `${this.id} stream was interrupted: ${error.message}`,
            {
              status: error.status,
            },
          );
        if (yielded) error.extra.partialText = partial;
        const ms = performance.now() - started;
        if (error.unhealthy) permit.failure(error.message, ms);
        else permit.neutral();
        this.observer.attempt?.({
          provider: this.id,
          model: request.model,
          operation: 'stream',
          outcome: error.kind,
          ms,
          attempt,
        });
      } finally {
        control.close();
        // The consumer stopped early (client went away): cancel the upstream request.
        if (!finished && !error) {
          control.controller.abort();
          permit.neutral();
        }
      }
      const delay = yielded ? undefined : this.retryDelay(error, attempt, deadline);
      if (delay === undefined || options.signal?.aborted) {
        error.extra.attempts = attempt;
        throw error;
      }
      this.observer.retry?.({ provider: this.id, kind: error.kind, delayMs: delay, attempt });
      try {
        await sleep(delay, options.signal);
      } catch {
        throw new ProviderError(this.id, 'aborted', 'the caller cancelled the request', { attempts: attempt });
      }
    }
  }
}
