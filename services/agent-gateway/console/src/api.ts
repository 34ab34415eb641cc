/**
 * The console's HTTP client: every call goes to the gateway's /v1 API with the signed-in user's
 * token (Bearer), and every failure becomes an ApiProblem whose message is plain words.
 */

const TOKEN_KEY = 'hishamos.console.token';

let token: string | null = sessionStorage.getItem(TOKEN_KEY);
const signedOutListeners = new Set<() => void>();

export function getToken(): string | null {
  return token;
}

export function setToken(value: string | null): void {
  token = value;
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Called when the API says the session is no longer valid (401). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

/** The API's error body: `{error:{status, code, message, field, reason}}`. */
interface ErrorBody {
  error?: { status?: number; code?: string; message?: string; field?: string; reason?: string };
}

/** A failed request, explained. */
export class ApiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

const STATUS_WORDS: Record<number, string> = {
  400: 'The request was not accepted',
  401: 'You are not signed in (or your session expired)',
  403: 'You are not allowed to do this',
  404: 'Not found',
  409: 'This conflicts with the current state',
  413: 'The request is too large',
  422: 'The request was not accepted',
  429: 'Too many requests or over budget',
  502: 'A service behind the gateway failed',
  503: 'The service is not available right now',
  504: 'A service behind the gateway took too long',
};

/** Plain words for a failed response: the API's own message, with what kind of failure it was. */
export function explain(status: number, body: unknown, headlines?: Partial<Record<number, string>>): ApiProblem {
  const err = (body as ErrorBody | undefined)?.error;
  const headline =
    headlines?.[status] ??
    STATUS_WORDS[status] ??
    (status >= 500 ? 'The server had a problem' : `Request failed (${status})`);
  let message = err?.message?.trim() || '';
  if (err?.field && message && !message.includes(err.field) && err.field !== 'password')
    message = `${err.field}: ${message}`;
  const text = message ? `${headline}: ${message}` : `${headline}.`;
  return new ApiProblem(text, status, err?.code, err?.field);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Own words for some statuses (e.g. 401 at sign-in means wrong credentials, not an expired session). */
  headlines?: Partial<Record<number, string>>;
}

export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

/** Calls the API and returns its JSON (undefined for an empty body); throws ApiProblem. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method: options.method ?? (options.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiProblem('Could not reach HishamOS: the network request failed. Check your connection.', 0);
  }
  const text = await response.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && token && !path.startsWith('/v1/auth/')) {
      setToken(null);
      signedOutListeners.forEach((l) => l());
    }
    throw explain(response.status, body, options.headlines);
  }
  return body as T;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiProblem) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * Server-Sent Events over fetch (EventSource cannot send the Authorization header). Reconnects
 * with Last-Event-ID when the connection drops, until an `end` event or `signal` aborts.
 */
export async function streamEvents(
  path: string,
  onEvent: (event: SseEvent) => void,
  signal: AbortSignal,
  onState?: (state: 'connecting' | 'live' | 'ended' | 'error') => void,
): Promise<void> {
  let lastId: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    onState?.('connecting');
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (token) headers.authorization = `Bearer ${token}`;
      if (lastId) headers['last-event-id'] = lastId;
      const response = await fetch(path, { headers, signal });
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        throw explain(response.status, body);
      }
      onState?.('live');
      failures = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let ended = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, '\n');
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (!line || line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') event.id = val;
            else if (field === 'event') event.event = val;
            else if (field === 'data') data.push(val);
          }
          if (!data.length && !event.id) continue;
          event.data = data.join('\n');
          if (event.id) lastId = event.id;
          if (event.event === 'end') ended = true;
          onEvent(event);
        }
      }
      if (ended) {
        onState?.('ended');
        return;
      }
    } catch (error) {
      if (signal.aborted) return;
      failures += 1;
      onState?.('error');
      if (error instanceof ApiProblem && error.status >= 400 && error.status < 500) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** failures, 15000)));
  }
}

/** Sums decimal-dollar strings exactly (micro-dollars as bigint), no floating point. */
export function addUsd(...values: (string | null | undefined)[]): string {
  let total = 0n;
  for (const v of values) total += toMicros(v);
  return fromMicros(total);
}

export function toMicros(v: string | null | undefined): bigint {
  if (!v) return 0n;
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(v.trim());
  if (!m) return 0n;
  const frac = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  const n = BigInt(m[2]) * 1_000_000n + BigInt(frac || '0');
  return m[1] ? -n : n;
}

export function fromMicros(n: bigint): string {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const whole = abs / 1_000_000n;
  let frac = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** A dollar amount for display: "$1.25", "$0.0031". */
export function money(v: string | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  return `$${fromMicros(toMicros(v))}`;
}
