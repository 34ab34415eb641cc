import { parseRetryAfter, ProviderError, toProviderError } from './provider-error';

describe('parseRetryAfter', () => {
  it('reads seconds, HTTP dates and retry-after-ms', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '0.5' })).toBe(500);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Tue, 01 Jan 2030 00:00:10 GMT' }, now)).toBe(10_000);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('toProviderError', () => {
  const httpError = (status: number, headers: Record<string, string> = {}) =>
    Object.assign(new Error(`${status} error`), { status, headers: new Headers(headers) });

  it('classifies statuses: 429 and 5xx retryable, 400/401/404 not', () => {
    expect(toProviderError('p', httpError(429, { 'retry-after': '2' }))).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 2000,
      retryable: true,
    });
    expect(toProviderError('p', httpError(503)).retryable).toBe(true);
    expect(toProviderError('p', httpError(400))).toMatchObject({
      kind: 'bad_request',
      retryable: false,
      fallbackable: false,
    });
    expect(toProviderError('p', httpError(401))).toMatchObject({
      kind: 'unauthorized',
      retryable: false,
      fallbackable: true,
    });
    expect(toProviderError('p', httpError(404)).kind).toBe('not_found');
  });

  it('classifies network failures and timeouts', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    expect(toProviderError('p', refused).kind).toBe('network');
    expect(toProviderError('p', new Error('x'), { timedOut: true }).kind).toBe('timeout');
    expect(toProviderError('p', new Error('x'), { callerAborted: true }).kind).toBe('aborted');
  });

  it('does not echo keys back in messages', () => {
    const e = toProviderError('p', httpError(401, {}));
    expect(e).toBeInstanceOf(ProviderError);
    const withKey = toProviderError('p', new Error('Incorrect API key provided: sk-abcdefghijklmnop1234'));
    expect(withKey.message).not.toContain('abcdefghijklmnop');
  });

  it('only unhealthy kinds count against the circuit', () => {
    expect(new ProviderError('p', 'server_error', '').unhealthy).toBe(true);
    expect(new ProviderError('p', 'rate_limited', '').unhealthy).toBe(false);
    expect(new ProviderError('p', 'bad_request', '').unhealthy).toBe(false);
  });
});
