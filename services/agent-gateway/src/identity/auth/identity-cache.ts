import { Inject, Injectable } from '@nestjs/common';
import type { Role } from '@hishamos/platform';
import type { IdentitySettings } from '../../config/identity.settings';
import { ApiKeyRepository, type ApiKeySecretRow } from '../api-keys/api-key.repository';
import { IDENTITY_SETTINGS } from '../identity-settings.provider';
import type { AgentAccessDefault, UserStatus } from '../identity.types';
import { isUuid } from '../sql-values';
import { UserRepository } from '../users/user.repository';

/** What authentication and agent checks need of a user, cached. */
export interface CachedUser {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  teamId: string | null;
  status: UserStatus;
  defaultAgentAccess: AgentAccessDefault;
  agents: Map<string, boolean>;
}

interface Entry<T> {
  value: T;
  at: number;
}

const MAX_ENTRIES = 50_000;
/** Unknown prefixes are remembered briefly, so a flood of bad keys does not reach the database each time. */
const NEGATIVE_TTL_MS = 5_000;

/** A size-bounded map with per-entry age (oldest evicted first). */
class TtlMap<T> {
  private readonly map = new Map<string, Entry<T>>();
  private readonly inflight = new Map<string, Promise<T>>();
  private generation = 0;

  constructor(private readonly ttlMs: (value: T) => number) {}

  async get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.map.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs(hit.value)) return hit.value;
    let pending = this.inflight.get(key);
    if (!pending) {
      // The version seen at load start: an invalidation while loading must not be overwritten by stale data.
      const generation = this.generation;
      const loading: Promise<T> = load()
        .then((value) => {
          if (generation === this.generation) this.set(key, value);
          return value;
        })
        .finally(() => {
          if (this.inflight.get(key) === loading) this.inflight.delete(key);
        });
      pending = loading;
      this.inflight.set(key, pending);
    }
    return pending;
  }

  set(key: string, value: T): void {
    this.map.delete(key);
    this.map.set(key, { value, at: Date.now() });
    if (this.map.size > MAX_ENTRIES) this.map.delete(this.map.keys().next().value as string);
  }

  delete(key: string): void {
    this.map.delete(key);
    this.inflight.delete(key);
    this.generation++;
  }

  clear(): void {
    this.map.clear();
    this.inflight.clear();
    this.generation++;
  }
}

/**
 * In-memory views of API keys (by prefix) and users (roles, status, agent toggles) for the auth hot
 * path: a hit costs a map lookup. Changes made through this gateway invalidate at once; other
 * replicas see them within API_KEY_CACHE_TTL_SECONDS.
 */
@Injectable()
export class IdentityCache {
  private readonly keys: TtlMap<ApiKeySecretRow | null>;
  private readonly users: TtlMap<CachedUser | null>;
  private readonly external = new Map<string, string>();

  constructor(
    private readonly apiKeys: ApiKeyRepository,
    private readonly usersRepo: UserRepository,
    @Inject(IDENTITY_SETTINGS) settings: IdentitySettings,
  ) {
    const ttl = settings.API_KEY_CACHE_TTL_SECONDS * 1000;
    this.keys = new TtlMap((v) => (v === null ? Math.min(ttl, NEGATIVE_TTL_MS) : ttl));
    this.users = new TtlMap((v) => (v === null ? Math.min(ttl, NEGATIVE_TTL_MS) : ttl));
  }

  key(prefix: string): Promise<ApiKeySecretRow | null> {
    return this.keys.get(prefix, async () => (await this.apiKeys.findSecretByPrefix(prefix)) ?? null);
  }

  user(id: string): Promise<CachedUser | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.users.get(id, async () => {
      const row = await this.usersRepo.findById(id);
      if (!row) return null;
      return {
        id: row.id,
        email: row.email,
        name: row.name,
        roles: row.roles,
        teamId: row.teamId,
        status: row.status,
        defaultAgentAccess: row.defaultAgentAccess,
        agents: await this.usersRepo.agentOverrides(id),
      };
    });
  }

  externalUserId(issuer: string, subject: string): string | undefined {
    return this.external.get(`${issuer}\u0000${subject}`);
  }

  rememberExternal(issuer: string, subject: string, userId: string): void {
    if (this.external.size > MAX_ENTRIES) this.external.clear();
    this.external.set(`${issuer}\u0000${subject}`, userId);
  }

  invalidateKey(prefix: string): void {
    this.keys.delete(prefix);
  }

  invalidateUser(id: string): void {
    this.users.delete(id);
  }
}
