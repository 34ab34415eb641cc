import { serviceCredential, signIdentity, type Identity } from '../auth/identity';

export class InternalHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
    this.name = 'InternalHttpError';
  }
}

export interface InternalHttpClientOptions {
  baseUrl: string | (() => string);
  serviceToken: string;
  /** This service's name: the callee sees it as the caller. */
  caller: string;
  timeoutMs?: number;
}

/** Request/reply between services (budget reservations, secret reads) with the caller's service credential. */
export class InternalHttpClient {
  private readonly credential: string;

  constructor(private readonly options: InternalHttpClientOptions) {
    this.credential = serviceCredential(options.serviceToken, options.caller);
  }

  get baseUrl(): string {
    return typeof this.options.baseUrl === 'function' ? this.options.baseUrl() : this.options.baseUrl;
  }

  async request<T>(
    method: string,
    path: string,
    opts: { body?: unknown; onBehalfOf?: Identity; timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.credential}`,
      accept: 'application/json',
      ...(opts.onBehalfOf ? signIdentity(this.options.serviceToken, opts.onBehalfOf) : {}),
      ...opts.headers,
    };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? this.options.timeoutMs ?? 5000),
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (!res.ok) {
      const msg = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? res.statusText;
      throw new InternalHttpError(res.status, parsed, `${method} ${path} -> ${res.status}: ${msg}`);
    }
    return parsed as T;
  }
}
