import type { Identity, Role } from '@hishamos/platform';

export type AgentAccessDefault = 'all' | 'none';
export type UserStatus = 'active' | 'disabled' | 'deleted';

/** A user as the API shows it (never the password hash). */
export interface UserView {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  teamId: string | null;
  status: UserStatus;
  defaultAgentAccess: AgentAccessDefault;
  hasPassword: boolean;
  externalIssuer: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';

/** An API key as the API shows it: its prefix, never the key or its hash. */
export interface ApiKeyView {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  /** What the key looks like, for recognising it: `hos_<prefix>_…`. */
  hint: string;
  scopes: string[];
  status: ApiKeyStatus;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  lastUsedAt: string | null;
  createdBy: string;
  createdAt: string;
}

/**
 * What an API key may do, on top of (never beyond) its user's roles:
 * `*` everything the user may do; `read` GET/HEAD requests; `execute` run agents and the
 * OpenAI-compatible endpoints (and read models and executions); `write` other changes (tasks,
 * workflows, feedback, alerts...); `keys` manage the user's own API keys; `admin` the admin APIs
 * (users, roles, agent toggles, providers, audit log).
 */
export const API_KEY_SCOPES = ['*', 'read', 'write', 'execute', 'keys', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Who makes a change and from where (for the audit log). */
export interface RequestActor {
  identity: Identity;
  ip?: string;
  userAgent?: string;
}

/** The audit log's actor string: a user id, or `service:<name>`. */
export function actorName(identity: Identity): string {
  return identity.kind === 'service' ? `service:${identity.subject}` : identity.subject;
}

export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}
