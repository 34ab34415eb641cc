import { Injectable } from '@nestjs/common';
import type { Identity } from '@hishamos/platform';
import type { AgentAccessPort } from '../../ports/gateway-ports';
import { IdentityCache, type CachedUser } from './identity-cache';

/** Roles that may run agents at all (viewers only read). */
const RUNNING_ROLES = new Set(['admin', 'operator', 'member']);

/** Whether a user may use an agent, given their current roles and toggles. */
export function userMayUseAgent(user: CachedUser, agentSlug: string): boolean {
  if (user.status !== 'active') return false;
  if (user.roles.includes('admin')) return true;
  if (!user.roles.some((r) => RUNNING_ROLES.has(r))) return false;
  const toggle = user.agents.get(agentSlug);
  return toggle ?? user.defaultAgentAccess === 'all';
}

/**
 * The AGENT_ACCESS port: admins may use every agent; operators and members the agents their toggles
 * allow (no toggle: the user's default, `all` or `none`); viewers none. The user is read from the
 * cache by id (roles as stored now, not as an event or token claimed them). The platform's services
 * acting for no person (kind `service`) may use every agent.
 */
@Injectable()
export class AgentAccessService implements AgentAccessPort {
  constructor(private readonly cache: IdentityCache) {}

  async canUseAgent(identity: Identity, agentSlug: string): Promise<boolean> {
    if (identity.kind === 'service') return true;
    const user = await this.cache.user(identity.subject);
    return user !== null && userMayUseAgent(user, agentSlug);
  }
}
