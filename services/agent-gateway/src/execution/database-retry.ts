import { connectionErrorKind } from '@hishamos/messaging';
import { isProviderError } from '@hishamos/providers';

/** First wait after a connection-level failure; it doubles up to MAX_RETRY_DELAY_MS. */
export const MIN_RETRY_DELAY_MS = 200;
export const MAX_RETRY_DELAY_MS = 5_000;

/**
 * True for an error that says the database (or another service the work needs) cannot be reached —
 * `connectionErrorKind` is `database` or `socket` — and that is not a provider's: a provider call has
 * its own retries, circuit breakers and fallback, and is never repeated here.
 */
export function isConnectionError(error: unknown): boolean {
  return !isProviderError(error) && connectionErrorKind(error) !== 'none';
}

/** Capped exponential backoff: 200 ms, 400 ms, ... 5 s, 5 s, ...; `reset()` after a success. */
export class Backoff {
  private next: number;

  constructor(
    private readonly minMs = MIN_RETRY_DELAY_MS,
    private readonly maxMs = MAX_RETRY_DELAY_MS,
  ) {
    this.next = minMs;
  }

  /** The delay to wait now (and doubles the next one). */
  delay(): number {
    const d = this.next;
    this.next = Math.min(this.next * 2, this.maxMs);
    return d;
  }

  reset(): void {
    this.next = this.minMs;
  }
}

/** Waits `ms`, or less when `signal` aborts (a stopping component). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions {
  /** Aborted when the component stops: the last error is thrown instead of waiting again. */
  signal: AbortSignal;
  /** Called before each wait (to log the outage once, to note that the work was repeated). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, repeating it after connection-level failures (`isConnectionError`) with
 * capped backoff for as long as it takes, unless the component stops. Other errors are thrown at once.
 * `fn` must be safe to repeat (reads, or writes idempotent by id).
 */
export async function untilConnected<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error) || options.signal.aborted) throw error;
      const delay = backoff.delay();
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
      if (options.signal.aborted) throw error;
    }
  }
}
