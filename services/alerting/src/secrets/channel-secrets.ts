import { InternalHttpClient, InternalHttpError, registerSecretValue } from '@hishamos/platform';

export const CHANNEL_SECRETS = Symbol('CHANNEL_SECRETS');

/** Reading a channel credential failed: whether trying again later can help. */
export class ChannelSecretError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ChannelSecretError';
  }
}

/** Where channel credentials come from (the secrets service). Alerting may read `channels/*` and `webhooks/*`. */
export interface ChannelSecrets {
  read(path: string): Promise<string>;
  /** Drops a cached value (a SecretRotated event, or a peer refused the credential); no path drops all. */
  invalidate(path?: string): void;
}

export const ALLOWED_SECRET_PREFIXES = ['channels/', 'webhooks/'] as const;

export function isAllowedSecretPath(path: string): boolean {
  return (
    ALLOWED_SECRET_PREFIXES.some((p) => path.startsWith(p)) &&
    path.length <= 255 &&
    /^[a-z0-9][a-z0-9/_.-]*$/i.test(path) &&
    !path.includes('..') &&
    !path.endsWith('/')
  );
}

/**
 * The secrets service's internal API (GET /internal/v1/secrets?path=P) with this service's credential,
 * and a cache: a value is kept for `ttlMs`, and dropped when the secret rotates. Values are registered
 * with the log redactor and never appear in errors.
 */
export class HttpChannelSecrets implements ChannelSecrets {
  private readonly cache = new Map<string, { value: string; until: number }>();
  private readonly inflight = new Map<string, Promise<string>>();
  private generation = 0;

  constructor(
    private readonly client: InternalHttpClient,
    private readonly ttlMs: number,
  ) {}

  async read(path: string): Promise<string> {
    const hit = this.cache.get(path);
    if (hit && hit.until > Date.now()) return hit.value;
    const pending = this.inflight.get(path);
    if (pending) return pending;
    const generation = this.generation;
    const p = this.fetch(path)
      .then((value) => {
        // A rotation that arrived while reading makes this value stale: do not cache it.
        if (this.ttlMs > 0 && generation === this.generation)
          this.cache.set(path, { value, until: Date.now() + this.ttlMs });
        return value;
      })
      .finally(() => this.inflight.delete(path));
    this.inflight.set(path, p);
    return p;
  }

  invalidate(path?: string): void {
    this.generation++;
    if (path === undefined) this.cache.clear();
    else this.cache.delete(path);
  }

  private async fetch(path: string): Promise<string> {
    try {
      const res = await this.client.request<{ value?: unknown }>(
        'GET',
        `/internal/v1/secrets?path=${encodeURIComponent(path)}`,
      );
      if (typeof res?.value !== 'string') throw new ChannelSecretError(`secret ${path} has no string value`, false);
      registerSecretValue(res.value);
      return res.value;
    } catch (error) {
      if (error instanceof ChannelSecretError) throw error;
      if (error instanceof InternalHttpError) {
        if (error.status === 404) throw new ChannelSecretError(`secret ${path} does not exist`, false);
        if (error.status === 403)
          throw new ChannelSecretError(`the secrets service refused alerting access to ${path}`, false);
        throw new ChannelSecretError(
          `the secrets service answered ${error.status} for ${path}`,
          error.status >= 500 || error.status === 429,
        );
      }
      throw new ChannelSecretError(`the secrets service is unreachable: ${(error as Error).message}`, true);
    }
  }
}
