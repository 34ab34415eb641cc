/**
 * One error type for every provider, whatever SDK raised it: what happened (`kind`), the HTTP status,
 * and when the provider said to come back (`retryAfterMs`). Never carries request bodies or keys.
 */
export type ProviderErrorKind =
  | 'rate_limited'
  | 'server_error'
  | 'network'
  | 'timeout'
  | 'stream_interrupted'
  | 'bad_request'
  | 'unauthorized'
  | 'not_found'
  | 'circuit_open'
  | 'aborted'
  | 'unsupported'
  | 'not_configured';

const RETRYABLE: ReadonlySet<ProviderErrorKind> = new Set([
  'rate_limited',
  'server_error',
  'network',
  'timeout',
  'stream_interrupted',
]);

/** Kinds that say nothing about the request itself, so another provider may well succeed. */
const FALLBACKABLE: ReadonlySet<ProviderErrorKind> = new Set([
  ...RETRYABLE,
  'circuit_open',
  'unauthorized',
  'not_configured',
  'unsupported',
]);

/** Kinds that count against a provider's health (its circuit breaker). 429 and 4xx do not. */
const UNHEALTHY: ReadonlySet<ProviderErrorKind> = new Set(['server_error', 'network', 'timeout', 'stream_interrupted']);

export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly kind: ProviderErrorKind,
    message: string,
    readonly extra: {
      status?: number;
      retryAfterMs?: number;
      /** Text already streamed to the caller before the failure (so it can be charged). */
      partialText?: string;
      attempts?: number;
    } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
  }

  get status(): number | undefined {
    return this.extra.status;
  }
  get retryAfterMs(): number | undefined {
    return this.extra.retryAfterMs;
  }
  /** Worth trying again at the same provider (429, 5xx, network, timeout). Never a 400. */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
  /** Worth trying the next provider of a fallback chain. */
  get fallbackable(): boolean {
    return FALLBACKABLE.has(this.kind);
  }
  /** Counts as a failure for the provider's circuit breaker. */
  get unhealthy(): boolean {
    return UNHEALTHY.has(this.kind);
  }
}

export function isProviderError(e: unknown): e is ProviderError {
  return e instanceof ProviderError;
}

/** Parses Retry-After (seconds or an HTTP date) and OpenAI's retry-after-ms into milliseconds. */
export function parseRetryAfter(headers: unknown, now = Date.now()): number | undefined {
  const get = (name: string): string | undefined => {
    if (!headers) return undefined;
    if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
    const v = (headers as Record<string, unknown>)[name];
    return typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined;
  };
  const ms = get('retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const ra = get('retry-after');
  if (ra === undefined) return undefined;
  const t = ra.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  if (!Number.isNaN(date)) return Math.max(0, date - now);
  return undefined;
}

function kindOfStatus(status: number): ProviderErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'server_error';
  return 'bad_request';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function causeCode(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== 'object' || depth > 4) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  return causeCode((e as { cause?: unknown }).cause, depth + 1);
}

/** The provider's own error message, without anything that could echo a key back. */
function safeMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  return raw.replace(/(sk|hos|key)[-_][A-Za-z0-9_-]{8,}/g, '[redacted]').slice(0, 500);
}

/**
 * Maps whatever an SDK threw to a ProviderError. `timedOut` says our own per-attempt timer fired
 * (the SDK then reports an abort); `callerAborted` says the caller went away.
 */
export function toProviderError(
  provider: string,
  e: unknown,
  ctx: { timedOut?: boolean; callerAborted?: boolean } = {},
): ProviderError {
  if (e instanceof ProviderError) return e;
  if (ctx.callerAborted) return new ProviderError(provider, 'aborted', 'the caller cancelled the request');
  if (ctx.timedOut) return new ProviderError(provider, 'timeout', 'the provider did not answer in time');
  const err = e as { status?: unknown; headers?: unknown; name?: string; constructor?: { name?: string } };
  const name = err?.constructor?.name ?? err?.name ?? '';
  if (typeof err?.status === 'number' && err.status >= 400) {
    const status = err.status;
    return new ProviderError(provider, kindOfStatus(status), `${provider} answered ${status}: ${safeMessage(e)}`, {
      status,
      retryAfterMs: parseRetryAfter(err.headers),
    });
  }
  if (/Timeout/i.test(name)) return new ProviderError(provider, 'timeout', 'the provider did not answer in time');
  if (/Abort/i.test(name)) return new ProviderError(provider, 'aborted', 'the request was aborted');
  if (
    /Connection/i.test(name) ||
    causeCode(e) ||
    (e instanceof TypeError && /fetch failed|terminated/i.test(e.message))
  )
    return new ProviderError(provider, 'network', `cannot reach ${provider}: ${safeMessage(e)}`);
  if (e instanceof Error && /terminated|socket|premature|ended|aborted/i.test(e.message))
    return new ProviderError(provider, 'network', `connection to ${provider} failed: ${safeMessage(e)}`);
  return new ProviderError(provider, 'server_error', `${provider} failed: ${safeMessage(e)}`);
}

/** A stream that ended without its final event: aborted (by the caller or our timer) or cut off. */
export function incomplete(provider: string, signal: AbortSignal | undefined): ProviderError {
  if (signal?.aborted) return new ProviderError(provider, 'aborted', 'the request was aborted');
  return new ProviderError(provider, 'stream_interrupted', `${provider} ended the stream before it was complete`);
}
