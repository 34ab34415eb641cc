import type { DeliveryOutcome } from './notification-channel';

export interface HttpPostResult {
  status: number;
  body: string;
  headers: Headers;
}

/** Retry-After (seconds or an HTTP date) in ms, when present. */
export function retryAfterMs(headers: Headers): number | undefined {
  const v = headers.get('retry-after');
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/**
 * POSTs once and classifies the answer: 2xx delivered; 408, 429 and 5xx worth retrying (with the
 * peer's Retry-After); other 4xx rejected for good (retrying a bad request cannot help); network
 * errors and timeouts worth retrying. `describe` turns a peer's error body into a short reason.
 */
export async function postOnce(
  url: string,
  init: { headers: Record<string, string>; body: string },
  signal: AbortSignal,
  describe: (r: HttpPostResult) => string = (r) => r.body.slice(0, 300),
): Promise<DeliveryOutcome> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal, redirect: 'error' });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const reason = signal.aborted ? 'timed out' : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, retryable: true, error: `request failed: ${reason}` };
  }
  const body = await res.text().catch(() => '');
  const result = { status: res.status, body, headers: res.headers };
  if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status };
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  return {
    ok: false,
    retryable,
    statusCode: res.status,
    error: `HTTP ${res.status}${describe(result) ? `: ${describe(result)}` : ''}`,
    retryAfterMs: retryable ? retryAfterMs(res.headers) : undefined,
    credentialRejected: res.status === 401 || res.status === 403,
  };
}

/** The scheme and host of a URL, for error messages that must not carry the URL's secret path. */
export function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}
