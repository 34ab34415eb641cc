import { Injectable } from '@nestjs/common';
import { ApiError } from '@hishamos/platform';
import { userMayUseAgent } from '../../auth/agent-access.service';
import type { AgentAccessDefault } from '../../identity.types';
import { isUuid } from '../../sql-values';
import { UserRepository } from '../../users/user.repository';

export interface AgentAccessView {
  userId: string;
  defaultAgentAccess: AgentAccessDefault;
  /** Whether the user's roles decide for every agent (admin: all; viewer only: none). */
  decidedByRole: 'admin' | 'viewer' | null;
  agents: { slug: string; allowed: boolean; toggle: boolean | null }[];
}

/** The user-permissions grid row of one user: every agent of the roster with its toggle and the outcome. */
@Injectable()
export class GetAgentAccessUseCase {
  constructor(private readonly users: UserRepository) {}

  async execute(userId: string): Promise<AgentAccessView> {
    const user = isUuid(userId) ? await this.users.findById(userId) : undefined;
    if (!user || user.status === 'deleted') throw ApiError.notFound('user', userId);
    const toggles = await this.users.agentOverrides(userId);
    const slugs = [...new Set([...(await this.users.agentSlugs()), ...toggles.keys()])].sort();
    const cached = { ...user, status: 'active' as const, agents: toggles };
    return {
      userId,
      defaultAgentAccess: user.defaultAgentAccess,
      decidedByRole: user.roles.includes('admin') ? 'admin' : user.roles.every((r) => r === 'viewer') ? 'viewer' : null,
      agents: slugs.map((slug) => ({
        slug,
        allowed: userMayUseAgent(cached, slug),
        toggle: toggles.has(slug) ? toggles.get(slug)! : null,
      })),
    };
  }
}
