import type { Caller } from './caller';
import { parseScopeList, PathScope } from './path-scope';

/** What a caller does to a path. */
export type SecretAction =
  'read' | 'write' | 'rotate' | 'delete' | 'undelete' | 'destroy' | 'versions' | 'list' | 'rekey' | 'expire';

/** Default per-caller scopes (contracts.md), replaced as a whole by SECRETS_SCOPES. */
export const DEFAULT_SCOPES: Record<string, string[]> = {
  'agent-gateway': ['ai/platforms/*', 'providers/*'],
  alerting: ['channels/*', 'webhooks/*'],
};

export interface AccessPolicyOptions {
  /** SECRETS_SCOPES (JSON) or undefined for the defaults. */
  scopesJson?: string;
  adminScopes: string;
  adminCanReadValues: boolean;
  adminServices: string;
}

export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * Which paths each caller may touch. Services: their configured scopes. People: only administrators
 * forwarded by the gateway, only within the admin scopes, and reading values back only when allowed.
 * Re-encryption of the store (rekey): administrators and the configured admin services.
 */
export class SecretAccessPolicy {
  private readonly scopes: Map<string, PathScope[]>;
  private readonly adminScopes: PathScope[];
  private readonly adminServices: Set<string>;

  constructor(private readonly options: AccessPolicyOptions) {
    this.scopes = SecretAccessPolicy.parseScopes(options.scopesJson);
    try {
      this.adminScopes = parseScopeList(options.adminScopes);
    } catch (e) {
      throw new Error(`SECRETS_ADMIN_SCOPES: ${(e as Error).message}`);
    }
    this.adminServices = new Set(
      options.adminServices
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }

  static parseScopes(json: string | undefined): Map<string, PathScope[]> {
    let raw: unknown = DEFAULT_SCOPES;
    if (json !== undefined) {
      try {
        raw = JSON.parse(json);
      } catch {
        throw new Error('SECRETS_SCOPES must be JSON: {"<service>": ["<path pattern>", ...]}');
      }
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new Error('SECRETS_SCOPES must be a JSON object: {"<service>": ["<path pattern>", ...]}');
    const out = new Map<string, PathScope[]>();
    for (const [service, patterns] of Object.entries(raw as Record<string, unknown>)) {
      if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string'))
        throw new Error(`SECRETS_SCOPES.${service} must be a list of path patterns`);
      try {
        out.set(
          service,
          patterns.map((p: string) => new PathScope(p)),
        );
      } catch (e) {
        throw new Error(`SECRETS_SCOPES.${service}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** The scopes a service has (for /health/ready and errors). */
  scopesOf(service: string): string[] {
    return (this.scopes.get(service) ?? []).map((s) => s.pattern);
  }

  /** May `caller` do `action` on `path`? For `list`, `path` is a folder (ending in `/`, or '' for the root). */
  decide(caller: Caller, action: SecretAction, path: string): AccessDecision {
    if (caller.kind === 'system') return { allowed: true };
    if (action === 'rekey') {
      if (caller.kind === 'service' && this.adminServices.has(caller.id)) return { allowed: true };
      if (this.isAdmin(caller)) return { allowed: true };
      return { allowed: false, reason: 'only administrators may re-encrypt the secret store' };
    }
    if (action === 'expire') return { allowed: false, reason: 'only the secrets service expires rotated versions' };
    const scopes =
      caller.kind === 'service' ? (this.scopes.get(caller.id) ?? []) : this.isAdmin(caller) ? this.adminScopes : [];
    if (caller.kind === 'user') {
      if (!this.isAdmin(caller))
        return { allowed: false, reason: 'only administrators (through the gateway) may manage secrets' };
      if (action === 'read' && !this.options.adminCanReadValues)
        return { allowed: false, reason: 'administrators may write and rotate secrets but not read their values' };
    }
    const inScope = action === 'list' ? scopes.some((s) => s.coversFolder(path)) : scopes.some((s) => s.matches(path));
    if (inScope) return { allowed: true };
    return { allowed: false, reason: `${path || '/'} is outside the caller's secret scopes` };
  }

  private isAdmin(caller: Caller): boolean {
    return caller.kind === 'user' && caller.forwarded && caller.roles.includes('admin');
  }
}
