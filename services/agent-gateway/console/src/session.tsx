import { createContext, useContext } from 'react';
import type { MeView, Role } from './types';

export interface Session {
  me: MeView;
  signOut: () => void;
  refreshMe: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}

export function hasRole(me: MeView, ...roles: Role[]): boolean {
  return me.identity.roles.some((r) => roles.includes(r));
}

/** What each page needs (the APIs' own rules; the API still decides). */
export const PAGE_ROLES = {
  providers: ['admin'],
  users: ['admin'],
  tokens: ['admin', 'operator', 'member', 'viewer'],
  runs: ['admin', 'operator', 'member', 'viewer'],
  agents: ['admin', 'operator', 'member', 'viewer'],
  alerts: ['admin', 'operator', 'viewer'],
  notifications: ['admin', 'operator', 'member', 'viewer'],
} satisfies Record<string, Role[]>;

export type PageId = keyof typeof PAGE_ROLES;

export function mayOpen(me: MeView, page: PageId): boolean {
  return hasRole(me, ...PAGE_ROLES[page]);
}
