import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  ApiError,
  safeEqual,
  SERVICE_CONTEXT,
  type Authenticator,
  type AuthRequest,
  type Identity,
  type ServiceContext,
} from '@hishamos/platform';
import type { IdentitySettings } from '../../config/identity.settings';
import { ApiKeyRepository, type ApiKeySecretRow } from '../api-keys/api-key.repository';
import { isApiKeyShaped, parseApiKey } from '../crypto/api-key-codec';
import { IdentityKeyring } from '../crypto/identity-keyring';
import { JwksClient } from '../crypto/jwks-client';
import { checkClaims, decodeJwt, JwtError, verifyHs256, verifyRs256, type JwtClaims } from '../crypto/jwt';
import { IDENTITY_SETTINGS } from '../identity-settings.provider';
import { ExternalUserResolver } from './external-user.resolver';
import { IdentityCache, type CachedUser } from './identity-cache';
import { acceptedScopes, scopesAllow } from './scope-policy';

/** The issuer and audience of the tokens `POST /v1/auth/login` issues. */
export const LOGIN_TOKEN_ISSUER = 'hishamos';
export const LOGIN_TOKEN_AUDIENCE = 'hishamos-api';

const LAST_USED_FLUSH_MS = 15_000;

const unauthorized = (code: string, message: string) =>
  new ApiError(401, code, message, { field: 'authorization', reason: message });

function header(headers: AuthRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The AUTHENTICATOR: `Authorization: Bearer hos_<prefix>_<secret>` (API keys, looked up in memory
 * by prefix and checked with a keyed hash) or `Bearer <JWT>` (HS256 from JWT_SECRET_KEY, RS256 from
 * the identity provider's JWKS). Also accepts the key in `x-api-key`. API key scopes are enforced here
 * for every route (see scope-policy.ts).
 */
@Injectable()
export class GatewayAuthenticator implements Authenticator, OnModuleInit, OnModuleDestroy {
  private readonly jwks?: JwksClient;
  private readonly lastUsed = new Map<string, number>();
  /**
   * The key each cached row was last verified with. IdentityCache hands out the same row object until
   * it reloads or invalidates it (a revocation, a deletion, the TTL), so a repeat request with that key
   * costs a constant-time comparison instead of the keyed hash; a new row starts unverified.
   */
  private readonly verified = new WeakMap<ApiKeySecretRow, Buffer>();
  private flushTimer?: NodeJS.Timeout;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: Pick<ServiceContext, 'logger'>,
    @Inject(IDENTITY_SETTINGS) private readonly settings: IdentitySettings,
    private readonly keyring: IdentityKeyring,
    private readonly cache: IdentityCache,
    private readonly apiKeys: ApiKeyRepository,
    private readonly externalUsers: ExternalUserResolver,
  ) {
    if (settings.JWT_JWKS_URL) this.jwks = new JwksClient(settings.JWT_JWKS_URL, settings.JWT_JWKS_CACHE_SECONDS);
  }

  onModuleInit(): void {
    this.flushTimer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.flushTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushLastUsed();
  }

  async authenticate(request: AuthRequest): Promise<Identity | undefined> {
    const authorization = header(request.headers, 'authorization');
    let token: string | undefined;
    if (authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m)
        throw unauthorized(
          'invalid_authorization',
          'malformed Authorization header: expected "Bearer <API key or token>"',
        );
      token = m[1];
    } else {
      token = header(request.headers, 'x-api-key');
      if (token === undefined) return undefined;
    }
    if (isApiKeyShaped(token)) return this.apiKey(token, request);
    if (token.split('.').length === 3) return this.jwt(token);
    throw unauthorized('invalid_api_key', 'malformed API key: expected hos_<prefix>_<secret> (or a JWT)');
  }

  private async apiKey(token: string, request: AuthRequest): Promise<Identity> {
    const parsed = parseApiKey(token);
    if (!parsed)
      throw unauthorized(
        'invalid_api_key',
        'malformed API key: expected hos_<8 lowercase letters or digits>_<32-64 letters or digits>',
      );
    const row = await this.cache.key(parsed.prefix);
    if (!row || !this.keyMatches(parsed.key, row)) throw unauthorized('invalid_api_key', 'invalid API key');
    if (row.revoked) throw unauthorized('api_key_revoked', 'API key revoked');
    const now = Date.now();
    if (row.expiresAt !== null && row.expiresAt <= now) throw unauthorized('api_key_expired', 'API key expired');
    const user = await this.activeUser(row.userId);
    const accepted = acceptedScopes(request.method, request.url);
    if (!scopesAllow(row.scopes, accepted))
      throw new ApiError(
        403,
        'insufficient_scope',
        `this API key lacks the scope for this request: needs one of ${accepted.join(', ')} (has ${row.scopes.join(', ')})`,
        { field: 'authorization', reason: 'insufficient scope', details: { accepted, granted: row.scopes } },
      );
    this.lastUsed.set(row.id, now);
    return this.identity(user, 'api_key', { scopes: row.scopes, keyId: row.id });
  }

  private keyMatches(key: string, row: ApiKeySecretRow): boolean {
    const presented = Buffer.from(key);
    const known = this.verified.get(row);
    if (known !== undefined && safeEqual(known, presented)) return true;
    if (!this.keyring.apiKeyHasher.matches(key, row.keyHash)) return false;
    this.verified.set(row, presented);
    return true;
  }

  private async jwt(token: string): Promise<Identity> {
    try {
      const jwt = decodeJwt(token);
      if (jwt.header.alg === 'HS256') {
        if (!verifyHs256(jwt, this.keyring.jwtSecret)) throw new JwtError('bad signature');
        checkClaims(jwt.claims, {});
        return this.identity(await this.activeUser(String(jwt.claims.sub)), 'jwt');
      }
      if (jwt.header.alg === 'RS256') {
        if (!this.jwks) throw new JwtError('RS256 tokens are not accepted (no identity provider: JWT_JWKS_URL)');
        const key = await this.jwks.key(jwt.header.kid);
        if (!verifyRs256(jwt, key)) throw new JwtError('bad signature');
        checkClaims(jwt.claims, { issuer: this.settings.JWT_ISSUER, audience: this.settings.JWT_AUDIENCE });
        const userId = await this.externalUsers.resolve(jwt.claims as JwtClaims & { iss: string; sub: string });
        return this.identity(await this.activeUser(userId), 'jwt');
      }
      throw new JwtError(`unsupported algorithm ${JSON.stringify(jwt.header.alg ?? null)}`);
    } catch (error) {
      if (error instanceof JwtError) {
        const code = error.message === 'token expired' ? 'token_expired' : 'invalid_token';
        throw unauthorized(code, `invalid token: ${error.message}`);
      }
      throw error;
    }
  }

  private async activeUser(userId: string): Promise<CachedUser> {
    const user = await this.cache.user(userId);
    if (!user) throw unauthorized('unknown_user', 'the credentials belong to no user');
    if (user.status !== 'active') throw unauthorized('user_disabled', `user ${user.status}`);
    return user;
  }

  private identity(user: CachedUser, via: 'api_key' | 'jwt', key?: { scopes: string[]; keyId: string }): Identity {
    return {
      kind: 'user',
      subject: user.id,
      roles: user.roles,
      ...(user.teamId ? { teamId: user.teamId } : {}),
      name: user.name,
      ...(key ? { scopes: key.scopes, keyId: key.keyId } : {}),
      via,
    };
  }

  private async flushLastUsed(): Promise<void> {
    if (this.lastUsed.size === 0) return;
    const batch = new Map(this.lastUsed);
    this.lastUsed.clear();
    try {
      await this.apiKeys.touch(batch);
    } catch (error) {
      this.ctx.logger.warn({ err: (error as Error).message }, 'could not record API key last use');
    }
  }
}
