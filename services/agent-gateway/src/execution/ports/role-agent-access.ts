import type { Identity } from '@hishamos/platform';
import type { AgentAccessPort } from '../../ports/gateway-ports';
import { mayRunModels } from '../../usecases/caller';

/**
 * In-process AGENT_ACCESS, bound only when no module provides the real one (per-user agent toggles):
 * every agent for the roles that run models (admin, operator, member) and the platform's services.
 */
export class RoleAgentAccess implements AgentAccessPort {
  async canUseAgent(identity: Identity): Promise<boolean> {
    return mayRunModels(identity);
  }
}
