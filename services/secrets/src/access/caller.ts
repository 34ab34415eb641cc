import type { Identity, Role } from '@hishamos/platform';

/**
 * Who asks: a platform service (its service credential names it), a person forwarded by the gateway
 * (signed identity), or this service itself (the rotation sweeper, re-encryption at boot).
 */
export interface Caller {
  kind: 'service' | 'user' | 'system';
  /** The service name or the user id. */
  id: string;
  roles: readonly Role[];
  /** True when the person's identity was forwarded (signed) by the gateway. */
  forwarded: boolean;
}

export const SYSTEM_CALLER: Caller = { kind: 'system', id: 'secrets', roles: [], forwarded: false };

export function callerOf(identity: Identity): Caller {
  if (identity.kind === 'service') return { kind: 'service', id: identity.subject, roles: [], forwarded: false };
  return { kind: 'user', id: identity.subject, roles: identity.roles, forwarded: identity.via === 'forwarded' };
}

/** How a caller appears in audit records: `agent-gateway`, `user:<id>`, `system:secrets`. */
export function actorOf(caller: Caller): string {
  if (caller.kind === 'service') return caller.id;
  return `${caller.kind}:${caller.id}`;
}
