import type { Identity } from '@hishamos/platform';

/** Who a model call is for, and whose budget it spends. */
export interface Caller {
  identity: Identity;
  /** api_key, jwt, service, forwarded, or event (an ExecutionRequested). */
  via: string;
}

/** The metering user of a caller: a person's id, or `service:<name>` for a platform service acting alone. */
export function meteringUser(identity: Identity): string {
  return identity.kind === 'service' ? `service:${identity.subject}` : identity.subject;
}

const RUNNING_ROLES = new Set(['admin', 'operator', 'member']);

/** People with a role that runs models (viewers only read); the platform's services always may. */
export function mayRunModels(identity: Identity): boolean {
  return identity.kind === 'service' || identity.roles.some((r) => RUNNING_ROLES.has(r));
}
