import { ApiError, type Identity } from '@hishamos/platform';

/** Admins, operators and the platform's services read everyone's usage; other people read their own. */
export function readsAll(identity: Identity): boolean {
  return identity.kind === 'service' || identity.roles.includes('admin') || identity.roles.includes('operator');
}

/** The user whose data a caller may read: anyone for staff, only themselves otherwise (403 for others). */
export function readableUser(identity: Identity, requested: string | undefined): string | undefined {
  if (readsAll(identity)) return requested;
  if (requested !== undefined && requested !== identity.subject)
    throw ApiError.forbidden('you can only read your own usage and budgets', 'forbidden_user');
  return identity.subject;
}

export function actor(identity: Identity): string {
  return `${identity.kind}:${identity.subject}`;
}
