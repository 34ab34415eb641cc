import nodeVault from 'node-vault';
import { registerSecretValue, type Logger } from '@hishamos/platform';

export type VaultAuth =
  { method: 'token'; token: string } | { method: 'approle'; roleId: string; secretId?: string; mount: string };

export interface VaultSessionOptions {
  url: string;
  auth: VaultAuth;
  namespace?: string;
  timeoutMs: number;
  logger?: Logger;
}

/** What Vault answered (node-vault's ApiResponseError) or why it could not (network). Never holds values. */
export class VaultCallError extends Error {
  constructor(
    /** The HTTP status Vault answered, undefined when it could not be reached. */
    readonly status: number | undefined,
    /** Vault's first error string ("permission denied", "check-and-set parameter did not match..."). */
    message: string,
    /** The response body (KV v2 answers a deleted version's read with 404 and its metadata). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = 'VaultCallError';
  }
}

/** Turns anything node-vault throws into a VaultCallError, dropping the request (it holds the token). */
export function vaultFailure(error: unknown): VaultCallError {
  if (error instanceof VaultCallError) return error;
  const e = error as {
    response?: { statusCode?: number; body?: { errors?: unknown[] } };
    code?: string;
  };
  if (e?.response?.statusCode !== undefined) {
    const errors = e.response.body?.errors;
    const first =
      Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : `status ${e.response.statusCode}`;
    return new VaultCallError(e.response.statusCode, first, e.response.body);
  }
  if (e?.code === 'ECONNABORTED' || e?.code === 'ETIMEDOUT') return new VaultCallError(undefined, 'timed out');
  if (typeof e?.code === 'string') return new VaultCallError(undefined, `unreachable (${e.code})`);
  return new VaultCallError(undefined, 'request failed');
}

interface TokenState {
  authenticated: boolean;
  ttlSeconds?: number;
  renewable?: boolean;
  lastLoginAt?: Date;
  lastRenewedAt?: Date;
  error?: string;
}

/**
 * A node-vault client logged in with a token or AppRole, renewing its token (renew-self at 80% of its
 * TTL) and logging in again with AppRole when renewal fails or the token expires.
 */
export class VaultSession {
  readonly client: nodeVault.client;
  readonly state: TokenState = { authenticated: false };
  private relogin?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  /** The TTL the token had when it was issued or checked. */
  private loginTtl = 0;
  private closed = false;

  constructor(private readonly options: VaultSessionOptions) {
    this.client = nodeVault({
      endpoint: options.url,
      apiVersion: 'v1',
      noCustomHTTPVerbs: true,
      // node-vault's debug output includes request bodies (secret values): never enabled.
      debug: () => undefined,
      requestOptions: { timeout: options.timeoutMs },
    });
    // node-vault falls back to VAULT_TOKEN / VAULT_PREFIX / VAULT_NAMESPACE from the environment: be explicit.
    const c = this.client as nodeVault.client & { pathPrefix: string; namespace?: string };
    c.token = '';
    c.pathPrefix = '';
    c.namespace = options.namespace;
    this.client.on('token:renewed', (result: { auth?: { lease_duration?: number; renewable?: boolean } }) => {
      this.state.lastRenewedAt = new Date();
      this.state.ttlSeconds = result.auth?.lease_duration;
      this.state.renewable = result.auth?.renewable;
      this.state.error = undefined;
      // A renewal capped well below the login TTL means the token nears its max TTL: log in again.
      const lease = result.auth?.lease_duration ?? 0;
      if (this.options.auth.method === 'approle' && this.loginTtl > 0 && lease < this.loginTtl / 2)
        void this.reauthenticate();
    });
    this.client.on('token:error:renew', (error: unknown) =>
      this.onTokenLost(`renewal failed: ${vaultFailure(error).message}`),
    );
    this.client.on('token:expired', () => this.onTokenLost('token is no longer renewable'));
  }

  get authMethod(): VaultAuth['method'] {
    return this.options.auth.method;
  }

  /** Logs in (AppRole) or checks the token (lookup-self), then schedules renewal. */
  async authenticate(): Promise<void> {
    const auth = this.options.auth;
    let ttl = 0;
    let renewable = false;
    if (auth.method === 'approle') {
      this.client.token = '';
      const args: Record<string, string> = { role_id: auth.roleId, mount_point: auth.mount };
      if (auth.secretId !== undefined) args.secret_id = auth.secretId;
      const res = (await this.client.approleLogin(args)) as {
        auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
      };
      const token = res.auth?.client_token;
      if (!token) throw new Error('AppRole login returned no token');
      registerSecretValue(token);
      this.client.token = token;
      ttl = res.auth?.lease_duration ?? 0;
      renewable = res.auth?.renewable ?? false;
    } else {
      this.client.token = auth.token;
      const res = (await this.client.tokenLookupSelf()) as { data?: { ttl?: number; renewable?: boolean } };
      ttl = res.data?.ttl ?? 0;
      renewable = res.data?.renewable ?? false;
    }
    this.loginTtl = ttl;
    Object.assign(this.state, {
      authenticated: true,
      ttlSeconds: ttl,
      renewable,
      lastLoginAt: new Date(),
      error: undefined,
    });
    this.client.stopTokenRenewal();
    if (renewable && ttl > 0 && !this.closed) await this.client.startTokenRenewal({ ttl });
  }

  /** Logs in again with AppRole (once at a time); a token-auth session cannot. */
  async reauthenticate(): Promise<boolean> {
    if (this.options.auth.method !== 'approle' || this.closed) return false;
    this.relogin ??= this.authenticate()
      .catch((e: unknown) => {
        this.state.authenticated = false;
        this.state.error = `AppRole login failed: ${vaultFailure(e).message}`;
        this.options.logger?.warn({ backend: 'vault', error: this.state.error }, 'vault re-authentication failed');
      })
      .finally(() => {
        this.relogin = undefined;
      });
    await this.relogin;
    return this.state.authenticated;
  }

  private onTokenLost(why: string): void {
    if (this.closed) return;
    this.options.logger?.warn({ backend: 'vault', auth: this.options.auth.method, why }, 'vault token lost');
    if (this.options.auth.method === 'approle') {
      void this.reauthenticate().then((ok) => {
        if (!ok) this.retryLater();
      });
    } else {
      this.state.authenticated = false;
      this.state.error = why;
    }
  }

  private retryLater(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      void this.reauthenticate().then((ok) => {
        if (!ok) this.retryLater();
      });
    }, 5000);
    this.retryTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.client.stopAllRenewals();
  }
}
