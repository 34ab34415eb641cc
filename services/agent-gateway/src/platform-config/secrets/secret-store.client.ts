import { Inject, Injectable } from '@nestjs/common';
import {
  InternalHttpClient,
  InternalHttpError,
  registerSecretValue,
  SERVICE_CONTEXT,
  type ServiceContext,
} from '@hishamos/platform';
import type { IdentitySettings } from '../../config/identity.settings';
import { IDENTITY_SETTINGS } from '../../identity/identity-settings.provider';
import type { SecretStorePort } from '../../ports/gateway-ports';

interface CachedSecret {
  value: string;
  version: number;
  at: number;
}

/** A secrets-service failure (unreachable, out of scope, rejected); the message never holds a value. */
export class SecretStoreError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SecretStoreError';
  }
}

/**
 * The SECRET_STORE port: a client of the secrets service's internal API (service credential of the
 * gateway), with values cached in memory for SECRET_CACHE_TTL_SECONDS and dropped by `invalidate(path)`
 * (SecretRotated). A call that already read a key keeps it: invalidation only affects later reads, and
 * a read that was in flight when its path was invalidated is not cached.
 */
@Injectable()
export class SecretStoreClient implements SecretStorePort {
  private readonly client: InternalHttpClient;
  private readonly cache = new Map<string, CachedSecret>();
  private readonly inflight = new Map<string, Promise<CachedSecret | undefined>>();
  private readonly generations = new Map<string, number>();
  private readonly ttlMs: number;

  constructor(
    @Inject(SERVICE_CONTEXT) ctx: Pick<ServiceContext, 'urlOf' | 'config' | 'name'>,
    @Inject(IDENTITY_SETTINGS) settings: IdentitySettings,
  ) {
    this.ttlMs = settings.SECRET_CACHE_TTL_SECONDS * 1000;
    this.client = new InternalHttpClient({
      baseUrl: () => ctx.urlOf('secrets'),
      serviceToken: ctx.config.SERVICE_TOKEN ?? '',
      caller: ctx.name,
      timeoutMs: 5000,
    });
  }

  async get(path: string): Promise<string | undefined> {
    const hit = this.cache.get(path);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    let pending = this.inflight.get(path);
    if (!pending) {
      const generation = this.generations.get(path) ?? 0;
      const fetching: Promise<CachedSecret | undefined> = this.fetch(path)
        .then((secret) => {
          if (secret && (this.generations.get(path) ?? 0) === generation && this.ttlMs > 0)
            this.cache.set(path, secret);
          return secret;
        })
        .finally(() => {
          if (this.inflight.get(path) === fetching) this.inflight.delete(path);
        });
      pending = fetching;
      this.inflight.set(path, pending);
    }
    return (await pending)?.value;
  }

  async put(path: string, value: string, metadata?: Record<string, string>): Promise<{ version: number }> {
    registerSecretValue(value);
    const res = await this.call<{ version: number }>('PUT', '/internal/v1/secrets', { path, value, metadata }, path);
    this.remember(path, value, res.version);
    return { version: res.version };
  }

  /** A new version of an existing secret (publishes SecretRotated; the old one stays readable for a grace period). */
  async rotate(path: string, value: string): Promise<{ version: number }> {
    registerSecretValue(value);
    const res = await this.call<{ version: number }>('POST', '/internal/v1/secrets/rotate', { path, value }, path);
    this.remember(path, value, res.version);
    return { version: res.version };
  }

  /** Soft-deletes the latest version. */
  async delete(path: string): Promise<void> {
    this.invalidate(path);
    try {
      await this.call('DELETE', `/internal/v1/secrets?path=${encodeURIComponent(path)}`, undefined, path);
    } catch (error) {
      if (error instanceof SecretStoreError && error.status === 404) return;
      throw error;
    }
  }

  invalidate(path: string): void {
    this.cache.delete(path);
    this.inflight.delete(path);
    this.generations.set(path, (this.generations.get(path) ?? 0) + 1);
  }

  private remember(path: string, value: string, version: number): void {
    this.invalidate(path);
    if (this.ttlMs > 0) this.cache.set(path, { value, version, at: Date.now() });
  }

  private async fetch(path: string): Promise<CachedSecret | undefined> {
    try {
      const res = await this.call<{ value: string; version: number }>(
        'GET',
        `/internal/v1/secrets?path=${encodeURIComponent(path)}`,
        undefined,
        path,
      );
      registerSecretValue(res.value);
      return { value: res.value, version: res.version, at: Date.now() };
    } catch (error) {
      if (error instanceof SecretStoreError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async call<T>(method: string, url: string, body: unknown, path: string): Promise<T> {
    try {
      return await this.client.request<T>(method, url, body === undefined ? {} : { body });
    } catch (error) {
      if (error instanceof InternalHttpError) {
        const upstream = (error.body as { error?: { message?: string } } | undefined)?.error?.message;
        throw new SecretStoreError(
          `secrets service refused ${method} ${path}: HTTP ${error.status}${upstream ? ` (${upstream})` : ''}`,
          error.status,
        );
      }
      const reason = (error as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable';
      throw new SecretStoreError(`secrets service ${reason} (${method} ${path})`);
    }
  }
}
